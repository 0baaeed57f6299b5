"""``python -m components.stack_check``: what a newcomer's stack file gets told, one line per problem, with the fix."""

from __future__ import annotations

import pytest
import yaml

from components import stack_check
from tests.harness import LAB_HOST_KEY

NS = "nexus-registry"
SECURE = {"secure": "v1:c2VjcmV0IG5vdCByZWFkYWJsZSBoZXJl"}
# A lab stack that passes the check: every secret held encrypted.
GOOD = {
    f"{NS}:domain": "registry.internal",
    f"{NS}:dns": "none",
    f"{NS}:certificate": "self-signed",
    f"{NS}:server": {"mode": "existing", "address": "10.0.8.15", "hostKey": LAB_HOST_KEY},
    f"{NS}:adminPassword": SECURE,
    f"{NS}:sshPrivateKey": SECURE,
    f"{NS}:userPasswords": {"ci": SECURE},
}


def write_stack(tmp_path, config, name="dev"):
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


def test_the_good_stack_passes(tmp_path):
    assert stack_check.check(write_stack(tmp_path, GOOD)) == []


# (config changes, the key named, the exact command the line gives)
PLAINTEXT_SECRETS = [
    ({f"{NS}:adminPassword": "CorrectHorse-Battery9"}, f"{NS}:adminPassword",
     "`pulumi config set --secret adminPassword`"),
    ({f"{NS}:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbg==\n-----END OPENSSH PRIVATE KEY-----\n"},
     f"{NS}:sshPrivateKey", "`pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`"),
    ({f"{NS}:userPasswords": {"ci": "Ci-Pushes-Images-42"}}, f"{NS}:userPasswords.ci",
     "`pulumi config set --secret --path 'userPasswords.ci'`"),
    ({f"{NS}:databasePassword": "Db-Password-2026"}, f"{NS}:databasePassword",
     "`pulumi config set --secret databasePassword`"),
    ({f"{NS}:dockerHubToken": "dckr_pat_abcdef", f"{NS}:nexus": {"dockerHubUsername": "widgets"}},
     f"{NS}:dockerHubToken", "`pulumi config set --secret dockerHubToken`"),
    # a secret setting added later (alertWebhooks) or any token is covered by its name, not by a list
    ({f"{NS}:alertWebhooks": ["https://hooks.widgets-inc.cn/T0/abc"]}, f"{NS}:alertWebhooks[0]",
     "`pulumi config set --secret --path 'alertWebhooks[0]'`"),
    ({"tencentcloud:secretKey": "AKIDsecretvalue"}, "tencentcloud:secretKey",
     "`pulumi config set --secret tencentcloud:secretKey`"),
    ({"tencentcloud:securityToken": "token-value"}, "tencentcloud:securityToken",
     "`pulumi config set --secret tencentcloud:securityToken`"),
]


@pytest.mark.parametrize(("changes", "key", "command"), PLAINTEXT_SECRETS, ids=[case[1] for case in PLAINTEXT_SECRETS])
def test_a_plaintext_secret_is_refused_with_the_command_that_encrypts_it(tmp_path, changes, key, command):
    problems = stack_check.check(write_stack(tmp_path, {**GOOD, **changes}))
    lines = [line for line in problems if line.startswith(f"{key}: ")]
    assert len(lines) == 1, problems
    assert "plain text in stacks/Pulumi.dev.yaml" in lines[0]
    assert command in lines[0]
    secret = str(next(iter(changes.values())))
    assert all(secret not in line for line in problems), "a refusal must not echo the secret"


def test_a_refused_secret_is_reported_once_not_again_by_its_rules(tmp_path):
    # "short" breaks the password rule too; the user needs one line: move it out of the file.
    problems = stack_check.check(write_stack(tmp_path, {**GOOD, f"{NS}:adminPassword": "short"}))
    assert [line.split(":")[1] for line in problems] == ["adminPassword"], problems


def test_encrypted_secrets_and_non_secret_names_pass(tmp_path):
    config = {**GOOD, f"{NS}:nexus": {"dockerHubUsername": "widgets"}, f"{NS}:dockerHubToken": SECURE,
              f"{NS}:userPasswords": {"ci": SECURE}, "tencentcloud:secretId": "AKIDpublicid"}
    assert stack_check.check(write_stack(tmp_path, config)) == []


def test_the_cli_exits_2_and_prints_the_line(tmp_path, capsys):
    path = write_stack(tmp_path, {**GOOD, f"{NS}:adminPassword": "CorrectHorse-Battery9"})
    assert stack_check.main([str(path)]) == 2
    err = capsys.readouterr().err
    assert "pulumi config set --secret adminPassword" in err and "CorrectHorse" not in err
