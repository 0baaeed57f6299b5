"""Messages that say the fix: one table row per problem a newcomer meets, and examples the check itself accepts."""

from __future__ import annotations

import ast
import re

import pytest
import yaml
from pydantic import TypeAdapter

from components import settings as stack_settings
from components import stack_check
from components.settings import fields
from tests.harness import LAB_HOST_KEY, ROOT, TEST_SECRETS

NS = "nexus-registry"
SECURE = {"secure": "v1:c2VjcmV0IG5vdCByZWFkYWJsZSBoZXJl"}
LAB = {
    f"{NS}:domain": "registry.internal",
    f"{NS}:dns": "none",
    f"{NS}:certificate": "self-signed",
    f"{NS}:server": {"mode": "existing", "address": "10.0.8.15", "hostKey": LAB_HOST_KEY},
    f"{NS}:adminPassword": SECURE,
    f"{NS}:sshPrivateKey": SECURE,
    f"{NS}:userPasswords": {"ci": SECURE},
}
SERVER = f"""  {NS}:server:
    mode: existing
    hostKey: {LAB_HOST_KEY}
"""

# (keys dropped from LAB, YAML lines appended under config: as the user wrote them, the key of the line,
#  words it must hold, words no line may hold)
PROBLEMS = [
    ((), f"  {NS}:nexus:\n    version: 3.70\n", "nexus.version",
     '3.70 is read by YAML as the number 3.7, not text; quote it: version: "3.70"', "3.7 is not"),
    ((), f"  {NS}:webAllowedCidrs:\n    - 58.246.10.7/24\n", "webAllowedCidrs[0]",
     "host bits are set; did you mean 58.246.10.0/24?", "e.g."),
    ((f"{NS}:dns",), "  nexus-regsitry:dns: none\n", None, "did you mean nexus-registry?", "tencentcloud:region"),
    ((), SERVER + "    adress: 10.0.8.15\n", "server.adress", "did you mean `address`?", None),
    ((), f"  {NS}:nexus:\n    anonymousPul: false\n", "nexus.anonymousPul", "did you mean `anonymousPull`?", None),
    ((), f"  {NS}:dns: dnspod\n  tencentcloud:region: ap-guangzou\n", None,
     "tencentcloud:region: 'ap-guangzou' is not a Tencent Cloud region (did you mean ap-guangzhou?)", None),
]


def stack_file(tmp_path, dropped, appended):
    config = {key: value for key, value in LAB.items() if key not in dropped}
    path = tmp_path / "Pulumi.lab.yaml"
    path.write_text(yaml.safe_dump({"config": config}) + appended)
    return path


@pytest.mark.parametrize(("dropped", "appended", "key", "wanted", "unwanted"), PROBLEMS,
                         ids=[row[3][:40] for row in PROBLEMS])
def test_each_problem_gets_one_line_that_says_the_fix(tmp_path, dropped, appended, key, wanted, unwanted):
    problems = stack_check.check(stack_file(tmp_path, dropped, appended))
    lines = [line for line in problems if wanted in line]
    assert len(lines) == 1, problems
    if key is not None:
        assert lines[0].startswith(f"{NS}:{key}: "), lines[0]
    if unwanted is not None:
        assert not [line for line in problems if unwanted in line], problems


def test_the_float_keeps_what_was_written_not_what_python_prints(tmp_path):
    problems = stack_check.check(stack_file(tmp_path, (), f"  {NS}:nexus:\n    version: 3.100\n"))
    assert any('quote it: version: "3.100"' in line for line in problems), problems


def test_a_known_region_passes_and_a_missing_one_is_still_required(tmp_path):
    good = stack_file(tmp_path, (), f"  {NS}:dns: dnspod\n  tencentcloud:region: ap-shanghai-fsi\n")
    assert stack_check.check(good) == []
    missing = stack_file(tmp_path, (), f"  {NS}:dns: dnspod\n")
    assert [line.split(":")[0:2] for line in stack_check.check(missing)] == [["tencentcloud", "region"]]


def test_the_region_list_is_the_providers():
    regions = stack_settings.TENCENTCLOUD_REGIONS
    assert {"ap-guangzhou", "ap-shanghai", "ap-beijing", "ap-hongkong", "eu-frankfurt", "na-siliconvalley"} <= regions
    assert stack_settings.OVERSEAS_AP_REGIONS <= regions
    assert all(fields.REGION.fullmatch(region) for region in regions)


# sshPrivateKey is always encrypted in the stack file, so what `pulumi up` reads is checked here.
KEY_VALUES = [
    ("~/.ssh/id_ed25519", "holds a file path, not the key: pass the file's content with "
                          "`pulumi config set --secret sshPrivateKey < path`"),
    ("/home/ops/.ssh/id_rsa", "`pulumi config set --secret sshPrivateKey < path`"),
    ("id_ed25519", "holds a file path"),
    ("not a key at all", "is not a PEM or OpenSSH private key"),
]


@pytest.mark.parametrize(("value", "wanted"), KEY_VALUES)
def test_a_key_path_given_as_the_key_says_to_pass_the_file(value, wanted):
    config = {**LAB, **TEST_SECRETS, f"{NS}:sshPrivateKey": value}  # what `pulumi up` decrypts
    with pytest.raises(stack_settings.SettingsError) as error:
        stack_settings.from_mapping("lab", config)
    lines = [line for line in error.value.problems if line.startswith(f"{NS}:sshPrivateKey: ")]
    assert len(lines) == 1 and wanted in lines[0], error.value.problems


# --- every example a message gives passes the check it illustrates -----------------------------------

def _message_strings():
    """The string literals of the settings, the stack check and the preflight, docstrings and comments left out."""
    files = [*sorted((ROOT / "components" / "settings").glob("*.py")), ROOT / "components" / "stack_check.py",
             *sorted((ROOT / "components" / "preflight").glob("*.py"))]
    for path in files:
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
                      and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                yield path.name, node.value


def _examples():
    for name, text in _message_strings():
        for listed in re.findall(r"e\.g\. ((?:[\w./:~-]+)(?:, [\w./:~-]+)*)", text):
            for example in listed.split(", "):
                yield name, example.rstrip(".:;")


def _check_example(example: str) -> str | None:
    """Run an example through the check of its kind; None when it is not an address, network, URL or region."""
    if "://" in example:
        fields.url(example)
    elif re.fullmatch(r"[0-9a-f.:]+/\d+", example):
        TypeAdapter(fields.NetworkCidr).validate_python(example)
    elif fields.is_ip(example):
        fields.not_documentation_value(fields.host_address(example), "an address")
    elif fields.ZONE.fullmatch(example):
        assert example.rsplit("-", 1)[0] in stack_settings.TENCENTCLOUD_REGIONS, example
    elif fields.REGION.fullmatch(example):
        assert example in stack_settings.TENCENTCLOUD_REGIONS, example
    elif re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", example) and not example[0].isdigit():
        TypeAdapter(fields.ZoneName).validate_python(example)
    else:
        return None
    return example


def test_every_example_in_a_message_is_accepted_by_the_check():
    checked = [(name, _check_example(example)) for name, example in _examples()]
    checked = [row for row in checked if row[1]]
    # the kinds the messages illustrate today are all reached, so a broken extraction cannot pass quietly
    assert {"10.8.0.0/16", "widgets-inc.cn", "https://registry-1.docker.io", "ap-guangzhou", "ap-guangzhou-3"} <= {
        example for _, example in checked}, checked
