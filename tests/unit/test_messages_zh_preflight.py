"""The preflight and ``make init`` speak Chinese in a zh_CN locale, as the stack check does (issue 25).

The scenarios are the English tests' own (tests/unit/test_preflight_cloud.py, test_preflight_cli.py,
test_preflight_server.py, test_preflight_backend.py, tests/system/test_up_script.py's make init): the same fake
Tencent Cloud, registry, ssh and bucket, run with ``LANG=zh_CN.UTF-8``.  Each line must keep the setting,
variable or CAM action it names and say the rest in Chinese.  A source scan holds every future message to the
same rule: no English text reaches a finding or a settings error without ``_()``.
"""

from __future__ import annotations

import ast
import io
import os
import re
import shutil
import subprocess

import pytest

from components.preflight import backend, server
from components.preflight.cli import run
from tests import harness
from tests.registry_stub import RegistryStub
from tests.support.preflight import BUCKET, ENV, NEXUS, closed_port, facts, lab, stack_file, url
from tests.tencent_api_fake import FakeAccount, FakeTencentCloud

HAN = re.compile(r"[\u4e00-\u9fff]")
WARNING = "警告："


@pytest.fixture(autouse=True)
def chinese(monkeypatch):
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")


def said_in_chinese(line: str) -> bool:
    """``preflight: [警告：]<subject>: <message>``, or a summary line: the words after the subject are Chinese."""
    rest = line.removeprefix("preflight: ").removeprefix(WARNING)
    return bool(HAN.search(rest.split(": ", 1)[-1]))


def _root_key(account: FakeAccount) -> None:
    account.identity = {"Arn": "qcs::cam::uin/100000000001:uin/100000000001", "AccountId": "100000000001",
                        "UserId": "100000000001", "PrincipalId": "100000000001", "Type": "RootAccount"}


def _sold_out(account: FakeAccount) -> None:
    for row in account.type_rows:
        if row["InstanceType"] == "S5.LARGE16" and row["Zone"] == "ap-guangzhou-6":
            row["Status"] = "SOLD_OUT"


def _deployed(account: FakeAccount) -> None:
    account.instance_quota_left = 0
    account.instances = [{"InstanceId": "ins-7pq3x2ab", "InstanceName": harness.stack_settings("prod").resource_label,
                          "InstanceType": "S5.LARGE16", "Placement": {"Zone": "ap-guangzhou-6"},
                          "InstanceState": "RUNNING"}]


_FREE_CERTIFICATES = [{"CertificateId": f"cert{n:04d}", "Domain": f"site{n}.widgets-inc.cn", "PackageType": "83",
                       "Status": 1, "CertificateType": "SVR"} for n in range(49)]

# (id, change to the fake account, stack, stack file changes, environment, subjects of the lines, exit status)
CLOUD_SCENARIOS = [
    ("no-credentials", None, "dev", {}, {}, ["TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"], 2),
    ("wrong-secret-key", None, "dev", {}, {**ENV, "TENCENTCLOUD_SECRET_KEY": "not-the-secret"},
     ["TENCENTCLOUD_SECRET_KEY"], 2),
    ("unknown-key", None, "dev", {}, {**ENV, "TENCENTCLOUD_SECRET_ID": "AKIDsomebodyElse"}, ["TENCENTCLOUD_SECRET_ID"],
     2),
    ("root-key", _root_key, "dev", {}, ENV, [f"{WARNING}TENCENTCLOUD_SECRET_ID"], 0),
    ("denied", lambda a: a.denied.update({"cvm:RunInstances": "UnauthorizedOperation"}), "dev", {}, ENV,
     ["cam:cvm:RunInstances"], 2),
    ("denied-preflight-only", lambda a: a.denied.update({"finance:DescribeAccountBalance": "UnauthorizedOperation"}),
     "dev", {}, ENV, [f"{WARNING}cam:finance:DescribeAccountBalance"], 0),
    ("sold-out", _sold_out, "prod", {}, ENV, ["nexus-registry:server.instanceType"], 2),
    ("quota", lambda a: setattr(a, "instance_quota_left", 0), "dev", {}, ENV, ["quota"], 2),
    ("no-dnspod-zone", lambda a: setattr(a, "domains", {}), "dev", {}, ENV, ["nexus-registry:domain"], 2),
    ("balance", lambda a: setattr(a, "balance_fen", 12.0), "dev", {}, ENV, ["balance"], 2),
    ("free-certificates", lambda a: setattr(a, "certificates", list(_FREE_CERTIFICATES)), "dev", {}, ENV,
     ["nexus-registry:certificate"], 2),
    ("postgresql-size", None, "dev", {"database": {"engine": "postgresql", "version": "16", "memoryGb": 16}}, ENV,
     ["nexus-registry:database.memoryGb"], 2),
    ("image-tag", None, "dev", {"nexus": {"version": "3.93.9"}}, ENV, ["nexus-registry:nexus.version"], 2),
    ("deployed", _deployed, "prod", {}, ENV, [f"{WARNING}quota"], 0),
]


@pytest.mark.parametrize(("change", "stack", "changes", "env", "subjects", "status"),
                         [row[1:] for row in CLOUD_SCENARIOS], ids=[row[0] for row in CLOUD_SCENARIOS])
def test_the_preflight_speaks_chinese_naming_each_setting(tmp_path, change, stack, changes, env, subjects, status):
    account = FakeAccount()
    if change is not None:
        change(account)
    out, err = io.StringIO(), io.StringIO()
    with RegistryStub(NEXUS) as registry, FakeTencentCloud(account) as cloud:
        code = run(stack_file(tmp_path, stack, **changes), env, api_endpoint=cloud.endpoint, api_scheme="http",
                   registry=registry.url, backend_url="", out=out, err=err)
    assert code == status, err.getvalue()
    lines = err.getvalue().splitlines()
    for subject in subjects:
        assert [line for line in lines if line.startswith(f"preflight: {subject}: ")], (subject, lines)
    for line in lines:
        assert line.startswith("preflight: ") and said_in_chinese(line), line
    for line in out.getvalue().splitlines():
        assert line.startswith("==> 预检：") and HAN.search(line), line
    if status == 2:
        assert lines[-1].startswith("preflight: 上面共有") and "PREFLIGHT=0 make up" in lines[-1]
    else:
        assert "==> 预检：通过（1 个警告）" in out.getvalue()


def test_an_unexpected_api_error_and_an_unreachable_api_in_chinese(tmp_path):
    with RegistryStub(NEXUS) as registry, FakeTencentCloud() as cloud:
        def busy(params):
            from tests.tencent_api_fake import ApiFailure
            raise ApiFailure("RequestLimitExceeded", "Your current request times equals to `20` in a second.")
        cloud._api_DescribeZones = busy
        err = io.StringIO()
        run(stack_file(tmp_path), ENV, api_endpoint=cloud.endpoint, api_scheme="http", registry=registry.url,
            backend_url="", out=io.StringIO(), err=err)
    assert "preflight: tencentcloud: API 返回了 RequestLimitExceeded：" in err.getvalue()
    err = io.StringIO()
    code = run(harness.write_stack_file("dev", tmp_path), ENV, api_endpoint=f"127.0.0.1:{closed_port()}",
               api_scheme="http", registry=f"http://127.0.0.1:{closed_port()}", backend_url="", out=io.StringIO(),
               err=err)
    [line] = err.getvalue().splitlines()
    assert code == 2 and line.startswith("preflight: 无法访问腾讯云 API（http://127.0.0.1:")
    assert "连接被拒绝" in line and "用 PREFLIGHT=0 make up 跳过预检" in line


@pytest.mark.parametrize(("values", "subject"), [
    ({"os_id": "centos", "version": "8"}, "nexus-registry:server.address"),
    ({"os_id": "centos", "version": "7"}, "nexus-registry:server.address"),
    ({"mem_kib": 4 * 1024 * 1024}, "nexus-registry:server.address"),
    ({"avail_kib": 3 * 1024 * 1024}, "nexus-registry:server.address"),
])
def test_an_existing_server_s_findings_in_chinese(values, subject):
    [finding] = server.judge(lab(), server.parse_facts(facts(**values)))
    assert finding.subject == subject and HAN.search(finding.message), finding.message


def test_a_cos_state_bucket_s_findings_in_chinese(cos, monkeypatch):
    problems = backend.check({}, f"s3://{BUCKET}?endpoint={BUCKET}.{cos.domain}&s3ForcePathStyle=true")
    assert [p.subject for p in problems] == ["PULUMI_BACKEND_URL"] * 3
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDsomebodyElse")
    problems += backend.check(dict(backend.COS_SETTINGS), url(cos))
    problems += backend.check({}, url(cos))
    assert [p.subject for p in problems][3:] == ["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"]
    for problem in problems:
        assert HAN.search(problem.message), problem.message


# --- make init ---------------------------------------------------------------------------------------------


def test_make_init_speaks_chinese(tmp_path):
    """scripts/init-stack.sh's own lines, and the stack check's, in a copy of the repository."""
    repo = tmp_path / "repo"
    for name in ("scripts", "components", "stacks", "locale"):
        shutil.copytree(harness.ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("requirements.lock", "requirements.txt"):
        shutil.copy(harness.ROOT / name, repo / name)
    (repo / ".venv").symlink_to(harness.ROOT / ".venv")
    env = {**{k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")},
           "LANG": "zh_CN.UTF-8"}

    def init(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "scripts/init-stack.sh", *args], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=120)

    usage = init()
    assert usage.returncode == 2 and usage.stderr == "用法：make init STACK=<new stack> [FROM=<dev|prod|lab|...>]\n"
    created = init("staging", "dev")
    assert created.returncode == 0, created.stderr
    assert "已根据 stacks/Pulumi.dev.yaml 创建 stacks/Pulumi.staging.yaml" in created.stdout
    assert ("==> 请在 stacks/Pulumi.staging.yaml 中修改上面各行指出的内容，然后运行：make up STACK=staging"
            in created.stdout)
    assert "nexus-registry:domain: 'example.com' 是占位值" in created.stderr
    again = init("staging", "dev")
    assert again.returncode == 2
    assert again.stderr == "make init: stacks/Pulumi.staging.yaml 已经存在；请编辑它，或者换一个名字\n"
    ready = harness.write_stack_file("dev", tmp_path)
    (repo / "stacks" / "Pulumi.ready-template.yaml").write_text(ready.read_text())
    done = init("qa", "ready-template")
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("==> stacks/Pulumi.qa.yaml 已就绪：make up STACK=qa\n")
    assert not [line for line in (created.stdout + done.stdout).splitlines() if not HAN.search(line)]


# --- the source: no English text reaches a user without _() -------------------------------------------------

# Calls whose text a user reads: a preflight finding, a settings error.
USER_FACING = {"error", "warning", "Finding", "denied_finding", "Unreachable", "KeyedError", "ValueError",
               "PlaceholderValue"}
SCANNED = sorted([*harness.ROOT.glob("components/preflight/*.py"), *harness.ROOT.glob("components/settings/*.py")])


def _untranslated(path, root=harness.ROOT) -> list[str]:
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if not (is_text and re.search(r"[a-z] [a-z]", node.value)):
            continue
        calls = []
        parent = node
        while parent in parents:
            parent = parents[parent]
            if isinstance(parent, ast.Call):
                calls.append(parent.func.id if isinstance(parent.func, ast.Name) else getattr(parent.func, "attr", ""))
        translated = "_" in calls or "N_" in calls
        if not translated and USER_FACING & set(calls) and calls[:1] != ["join"]:
            found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
    return found


def test_no_english_reaches_a_finding_or_a_settings_error_without_translation():
    found = [line for path in SCANNED for line in _untranslated(path)]
    # A programming error (a request parameter this code misspelt), never a user's problem.
    found = [line for line in found if "has no parameter" not in line]
    assert not found, "mark with _(...).format(...), then run make messages and translate:\n" + "\n".join(found)


def test_the_scan_sees_a_message_left_english(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('def f(key, x):\n    return [error(key, f"{x} is not on sale here")]\n'
                      'def g(key, x):\n    return [error(key, _("{x} is not on sale here").format(x=x))]\n')
    assert _untranslated(sample, tmp_path) == ["sample.py:2: ' is not on sale here'"]
