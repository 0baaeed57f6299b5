"""Chinese output: the stack check, make up's questions and the CLI install advice speak Chinese in a zh_CN locale.

The catalogue is locale/zh_CN/LC_MESSAGES/nexus-registry.po, extracted from the code with Babel (babel.cfg,
scripts/messages.sh) and compiled into the committed .mo that the standard library's gettext reads.  These
tests hold all three in step: every message the code marks is in the .po and translated (no fuzzy, no empty,
the same {fields}), the .po holds no message the code lost, and the .mo says what the .po says.
"""

from __future__ import annotations

import copy
import gettext
import os
import re
import subprocess
import sys

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from pydantic import BaseModel

from components import i18n
from components import settings as stack_settings
from components.settings import rules
from components.settings.server import SERVER_MODES
from tests.harness import LAB_HOST_KEY, ROOT, stack_config, stack_file_config, write_stack_file

PO = ROOT / "locale" / "zh_CN" / "LC_MESSAGES" / "nexus-registry.po"
MO = PO.with_suffix(".mo")
HAN = re.compile(r"[\u4e00-\u9fff]")


def catalogue():
    with PO.open("rb") as handle:
        return read_po(handle)


def code_msgids() -> set[str]:
    """What ``pybabel extract -F babel.cfg`` finds in the code now (scripts/messages.sh runs exactly that)."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    return {message for _file, _line, message, _comments, _context
            in extract_from_dir(str(ROOT), method_map, options_map)}


def environment(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    env.update(variables)
    return env


def run_module(module: str, *args: str, env: dict[str, str], cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60)


# --- the catalogue is complete and in step ---------------------------------------------------------


def test_every_message_the_code_marks_is_in_the_catalogue_and_the_catalogue_holds_no_other():
    in_code = code_msgids()
    in_po = {message.id for message in catalogue() if message.id}
    assert len(in_code) > 100  # the stack check, the settings, make up's lines
    assert not in_code - in_po, f"run scripts/messages.sh and translate: {sorted(in_code - in_po)}"
    assert not in_po - in_code, f"no longer in the code (run scripts/messages.sh): {sorted(in_po - in_code)}"


def test_every_message_is_translated_into_chinese_with_the_same_fields():
    for message in catalogue():
        if not message.id:
            continue
        assert message.string, f"untranslated: {message.id!r}"
        assert "fuzzy" not in message.flags, f"fuzzy (check the translation, then drop the flag): {message.id!r}"
        assert HAN.search(message.string), f"not Chinese: {message.string!r}"
        fields = sorted(re.findall(r"\{[^{}]*\}", message.id))
        assert sorted(re.findall(r"\{[^{}]*\}", message.string)) == fields, message.id
        for command in re.findall(r"`[^`]+`", message.id):
            assert command in message.string, f"{command} must stay as written: {message.string!r}"


def test_the_committed_mo_says_what_the_po_says():
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    expected = {message.id: message.string for message in catalogue() if message.id}
    for msgid, msgstr in expected.items():
        assert compiled.gettext(msgid) == msgstr, f"stale .mo (run scripts/messages.sh): {msgid!r}"
    assert len(compiled._catalog) - 1 == len(expected), "the .mo holds messages the .po lost (run scripts/messages.sh)"


# --- which language ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("variables", "chinese"), [
    ({"LANG": "zh_CN.UTF-8"}, True),
    ({"LANG": "zh_CN.GB18030"}, True),
    ({"LANG": "zh_CN"}, True),
    ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, True),
    ({"LC_ALL": "zh_CN.UTF-8", "LC_MESSAGES": "en_US.UTF-8", "LANG": "en_US.UTF-8"}, True),
    ({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, False),
    ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, False),
    ({"LC_MESSAGES": "C.UTF-8", "LANG": "zh_CN.UTF-8"}, False),
    ({"LANG": "en_US.UTF-8"}, False),
    ({}, False),
    ({"LANGUAGE": "zh_CN", "LANG": "en_US.UTF-8"}, True),  # GNU gettext reads LANGUAGE first...
    ({"LANGUAGE": "zh_CN", "LANG": "C"}, False),  # ...except in the C locale
])
def test_the_language_is_chosen_as_gettext_chooses_it(monkeypatch, variables, chinese):
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    said = i18n._("must be at least 12 characters")
    assert said == ("至少需要 12 个字符" if chinese else "must be at least 12 characters")


# --- what users see -------------------------------------------------------------------------------------


def test_the_stack_check_speaks_chinese_in_a_chinese_locale_and_english_otherwise(tmp_path):
    stack_file = write_stack_file("dev", tmp_path)
    stack_file.write_text(stack_file.read_text().replace("58.246.10.0/24", "58.246.10.7/24")
                          + "  nexus-registry:certifcate: acme\n")
    chinese = run_module("components.stack_check", str(stack_file), env=environment(LANG="zh_CN.UTF-8"))
    english = run_module("components.stack_check", str(stack_file), env=environment(LANG="en_US.UTF-8"))
    assert chinese.returncode == english.returncode == 2
    assert ("nexus-registry:server.sshAllowedCidrs[0]: '58.246.10.7/24' 不是 CIDR：主机位不为零；"
            "你是想写 58.246.10.0/24 吗？") in chinese.stderr
    assert "nexus-registry:certifcate: 不是已知的设置项（你是想写 `certificate` 吗？请检查拼写" in chinese.stderr
    assert "'58.246.10.7/24' is not a CIDR: host bits are set; did you mean 58.246.10.0/24?" in english.stderr
    assert not HAN.search(english.stderr)


def test_a_plaintext_secret_in_the_stack_file_is_refused_in_chinese(tmp_path):
    stack_file = write_stack_file("dev", tmp_path)
    stack_file.write_text(stack_file.read_text() + "  nexus-registry:adminPassword: CorrectHorse-Battery9\n")
    result = run_module("components.stack_check", str(stack_file), env=environment(LC_ALL="zh_CN.UTF-8"))
    assert ("nexus-registry:adminPassword: 是以明文写在 stacks/Pulumi.dev.yaml 中的密钥；请删除这一行，"
            "然后运行 `pulumi config set --secret adminPassword`") in result.stderr


def test_make_up_s_questions_and_answers_checks_speak_chinese(tmp_path):
    zh = environment(LANG="zh_CN.UTF-8")
    question = run_module("components.shell_messages", "ask-userPassword", "user=ci", env=zh)
    assert question.stdout == "Nexus 用户 ci 的密码尚未设置：请输入一个（至少 12 个字符，不能与管理员密码相同）\n"
    stack_file = write_stack_file("dev", tmp_path)
    check = subprocess.run([sys.executable, "-m", "components.stack_check", "--check-secret", "adminPassword",
                            str(stack_file)], cwd=ROOT, env=zh, input="short", capture_output=True, text=True)
    assert check.stderr == "nexus-registry:adminPassword: 至少需要 12 个字符\n"
    english = run_module("components.shell_messages", "ask-userPassword", "user=ci", env=environment())
    assert english.stdout.startswith("the password of the Nexus user ci is not set")


def test_the_cli_install_advice_speaks_chinese_with_its_commands_intact():
    fields = ["problem=downloading failed", "action=up", "stack=dev", "url=https://get.pulumi.com/x.tar.gz",
              "tarball=x.tar.gz", "expected=abc123"]
    advice = run_module("components.shell_messages", "cli-install-advice", *fields,
                        env=environment(LANG="zh_CN.UTF-8")).stdout
    assert advice.startswith("无法安装 Pulumi CLI：downloading failed\n请手动安装，然后重新运行 make up STACK=dev：\n")
    for line in ("  curl -fLO https://get.pulumi.com/x.tar.gz ", "  sha256sum x.tar.gz    # 结果必须等于 abc123",
                 "  mkdir -p ~/.pulumi/bin && tar -xzf x.tar.gz --strip-components=1 -C ~/.pulumi/bin",
                 "  PULUMI_CLI_TARBALL=/path/to/x.tar.gz make up STACK=dev"):
        assert line in advice


def test_make_up_s_messages_need_only_the_standard_library():
    """up.sh prints its first lines before .venv exists: the module runs under python3 -I -S (no site-packages)."""
    result = subprocess.run([sys.executable, "-S", "-m", "components.shell_messages", "no-passphrase"],
                            cwd=ROOT, env=environment(LANG="zh_CN.UTF-8"), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("没有输入口令")


# --- every settings message: the cross-checks, every field's own checks, pydantic's error types ----------

NS = "nexus-registry"
_CVM = {"mode": "cvm", "cpu": 2, "memoryGb": 8, "sshAllowedCidrs": ["58.246.10.0/24"]}
_EXISTING = {"mode": "existing", "address": "10.0.8.15", "hostKey": LAB_HOST_KEY}
_PG = {"engine": "postgresql"}
_MIGRATION = {"engine": "postgresql", "migrateFromH2": True}

# (rule of rules.CROSS_CHECKS, stack, overrides, secrets, config key of the line, English words of the rule)
# The rows of tests/unit/test_settings.py's BAD_CONFIGURATIONS where it has one, one row per rule at least.
CROSS_CHECK_FAILURES = [
    ("hostnames_differ", "dev", {"webHost": "registry", "registryHost": "registry"}, {}, "registryHost",
     "must differ from webHost"),
    ("existing_server_needs_ssh_key", "lab", {}, {f"{NS}:sshPrivateKey": None}, "sshPrivateKey",
     "required when server.mode is existing"),
    ("ssl_console_only_with_its_certificate", "dev", {"sslConsole": {"webCertificateId": "a1B2c3D4"}}, {},
     "sslConsole", "applies only with certificate: ssl-console"),
    ("acme_needs_email", "dev", {"certificate": "acme"}, {}, "acme.email", "required when certificate is acme"),
    ("docker_hub_credentials_together", "dev", {"nexus": {"dockerHubUsername": "robot"}}, {},
     "nexus.dockerHubUsername", "dockerHubToken"),
    ("dnspod_needs_an_ip_address", "lab", {"dns": "dnspod", "server": {**_EXISTING, "address": "nexus.widgets-inc.cn"}},
     {}, "server.address", "must be an IP address when dns is dnspod"),
    ("quota_below_data_disk", "dev", {"nexus": {"blobStoreQuotaGb": 60}}, {}, "nexus.blobStoreQuotaGb",
     "must be below server.dataDiskGb (50)"),
    ("snapshots_need_cvm", "lab", {"backup": {"retainDays": 7}}, {}, "backup.retainDays", "need server.mode cvm"),
    ("postgresql_needs_nexus_3_77", "dev", {"database": _PG, "nexus": {"version": "3.70.1"}}, {}, "database.engine",
     "3.77 or later in Community Edition (not 3.70.1)"),
    ("existing_postgresql_needs_host", "lab", {"database": _PG}, {}, "database.host",
     "required with database.engine postgresql on an existing server"),
    ("existing_postgresql_needs_password", "lab", {"database": {**_PG, "host": "10.0.8.20"}}, {}, "databasePassword",
     "pulumi config set --secret databasePassword"),
    ("cvm_database_has_no_host", "dev", {"database": {**_PG, "host": "10.0.8.20"}}, {}, "database.host",
     "only for existing servers"),
    ("tencentdb_stays_encrypted", "dev", {"database": {**_PG, "sslMode": "disable"}}, {}, "database.sslMode",
     "stay encrypted"),
    ("migration_names_its_migrator", "dev", {"database": _MIGRATION, "nexus": {"version": "3.93.2"}}, {},
     "database.migratorVersion", "nexus-db-migrator-3.93.2-<build>.jar, e.g. 3.93.2-01"),
    ("migration_names_its_migrator", "dev",
     {"database": {**_MIGRATION, "migratorVersion": "3.90.0-01"}, "nexus": {"version": "3.93.2"}}, {},
     "database.migratorVersion", "'3.90.0-01' is the migrator of Nexus 3.90.0, not of nexus.version 3.93.2"),
    ("migration_needs_migrator_checksum", "dev",
     {"database": {**_MIGRATION, "migratorVersion": "3.93.2-01"}, "nexus": {"version": "3.93.2"}}, {},
     "database.migratorSha256", "for nexus.version 3.93.2"),
    ("user_names_unique", "dev", {"users": [{"name": "ci", "role": "push"}, {"name": "ci", "role": "pull"}]}, {},
     "users[1].name", "'ci' is listed twice"),
    ("a_push_user_exists", "dev", {"users": [{"name": "reader", "role": "pull"}]},
     {f"{NS}:userPasswords": {"reader": "Reader-Password-1"}}, "users", "at least one user with role push"),
    ("passwords_belong_to_users", "dev", {},
     {f"{NS}:userPasswords": {"ci": "Ci-Push-Password-17", "gone": "Gone-Pw-123456"}}, "userPasswords.gone",
     "'gone' is not in users"),
    ("every_user_has_a_good_password", "dev",
     {"users": [{"name": "ci", "role": "push"}, {"name": "bob", "role": "pull"}]}, {}, "userPasswords.bob",
     "pulumi config set --secret --path 'userPasswords.bob'"),
    ("every_user_has_a_good_password", "dev", {}, {f"{NS}:userPasswords": {"ci": "short"}}, "userPasswords.ci",
     "at least 12 characters"),
    ("every_user_has_a_good_password", "dev", {}, {f"{NS}:userPasswords": {"ci": "Correct-Horse-Battery-9"}},
     "userPasswords.ci", "must differ from adminPassword"),
    ("allow_lists_exclude_nobody", "dev", {"registryAllowedCidrs": ["0.0.0.0/0"]}, {}, "registryAllowedCidrs[0]",
     "allows everyone"),
    ("mirror_allow_list_needs_the_mirror", "dev",
     {"nexus": {"anonymousPull": False}, "registryMirrorAllowedCidrs": ["10.0.0.0/8"]}, {},
     "registryMirrorAllowedCidrs", "the mirror exists only with nexus.anonymousPull: true"),
    ("private_dns_needs_cvm", "lab", {"privateDns": {"enabled": True}}, {}, "privateDns.enabled",
     "needs server.mode cvm"),
    ("private_zone_needs_the_private_path", "dev", {"privateDns": {"enabled": False, "zoneId": "zone-6xg5xgky"}}, {},
     "privateDns.zoneId", "applies only with the private path on"),
    ("host_meets_minimum_memory", "dev", {"server": {**_CVM, "memoryGb": 4}}, {}, "server.memoryGb",
     "4 GB is below Sonatype's minimum of 8 GB"),
    ("heap_fits_the_host", "dev", {"nexus": {"heapMb": 6144}}, {}, "nexus.heapMb",
     "exceeds two thirds of the server's 8 GB"),
]


def settings_problems(stack: str, overrides: dict, secrets: dict) -> list[str]:
    with pytest.raises(stack_settings.SettingsError) as caught:
        stack_settings.from_mapping(stack, stack_config(stack, overrides, secrets))
    return caught.value.problems


def in_language(monkeypatch, locale_name: str) -> None:
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", locale_name)


def test_the_cross_check_table_walks_every_rule():
    walked = {row[0] for row in CROSS_CHECK_FAILURES}
    assert walked == {rule.__name__ for rule in rules.CROSS_CHECKS}


@pytest.mark.parametrize(("rule", "stack", "overrides", "secrets", "key", "english"), CROSS_CHECK_FAILURES,
                         ids=[f"{i:02d}-{row[0]}" for i, row in enumerate(CROSS_CHECK_FAILURES)])
def test_every_cross_check_speaks_chinese_naming_its_key(monkeypatch, rule, stack, overrides, secrets, key, english):
    in_language(monkeypatch, "en_US.UTF-8")
    [english_line] = settings_problems(stack, overrides, secrets)
    assert english_line.startswith(f"{NS}:{key}: ") and english in english_line, english_line
    in_language(monkeypatch, "zh_CN.UTF-8")
    [chinese_line] = settings_problems(stack, overrides, secrets)
    assert chinese_line.startswith(f"{NS}:{key}: "), chinese_line
    assert HAN.search(chinese_line.split(": ", 1)[1]), chinese_line


def _setting_paths(model, prefix=()):
    for name, field in model.model_fields.items():
        if name == "stack":
            continue
        path = (*prefix, field.alias or name)
        yield path
        for candidate in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                yield from _setting_paths(candidate, path)


def _every_setting_path():
    """(stack, path) of every setting: the server's existing-mode settings on the lab stack, the rest on dev."""
    for path in _setting_paths(stack_settings.Settings):
        yield "dev", path
    for mode, model in SERVER_MODES.items():
        for path in _setting_paths(model, ("server",)):
            yield "lab" if mode == "existing" else "dev", path


# Values of every YAML type, and text that no setting's own format accepts.
WRONG_VALUES = ({"x": 1}, [1, {"a": 1}], "not a value!", 3.5, -1, 100000000, True, [], "")


def _config_with(stack: str, path: tuple[str, ...], value) -> dict[str, str]:
    if len(path) == 1:
        return stack_config(stack, {path[0]: value})
    section = copy.deepcopy(stack_file_config(stack).get(f"{NS}:{path[0]}") or {})
    target = section[0] if isinstance(section, list) else section  # users: the first user
    for part in path[1:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value
    return stack_config(stack, {path[0]: section})


def test_every_setting_given_a_wrong_value_answers_in_chinese(monkeypatch):
    """Each setting, given values of every YAML type: each line is Chinese (pydantic's own types are mapped)."""
    in_language(monkeypatch, "zh_CN.UTF-8")
    checked = set()
    for stack, path in sorted(set(_every_setting_path())):
        for value in WRONG_VALUES:
            try:
                stack_settings.from_mapping(stack, _config_with(stack, path, value))
            except stack_settings.SettingsError as error:
                for line in error.problems:
                    checked.add(line)
                    assert HAN.search(line.split(": ", 1)[1]), f"English in a Chinese locale: {line}"
    assert len(checked) > 300

