"""A bare ``pulumi up`` refuses a secret given in plain text too, not only ``make up``'s stack check.

The engine hands the program its config decrypted and names the keys that were encrypted in
``PULUMI_CONFIG_SECRET_KEYS`` (the Python language host's environment); a secret setting outside that list
was written in plain text.  These runs give the program exactly that environment (``PULUMI_CONFIG`` and
``PULUMI_CONFIG_SECRET_KEYS``, nothing handed to the SDK directly) and check the refusal names every such
key with the exact ``pulumi config set --secret`` command, before any resource is registered.
"""

from __future__ import annotations

import json

import pytest

from components import settings as stack_settings
from tests.harness import TEST_SECRETS, run_program, stack_config

NS = "nexus-registry"


def run_as_engine(monkeypatch, stack: str, overrides: dict | None = None, encrypted: set[str] | None = None):
    """``__main__.py`` under mocks with the config and its secret keys only in the engine's environment."""
    config = stack_config(stack, overrides)
    if encrypted is None:
        encrypted = {key for key in config if key in TEST_SECRETS or stack_settings.is_secret_setting(key)}
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(sorted(encrypted)))
    return run_program(stack, {}, secret_keys=[])


def refused(monkeypatch, stack: str, overrides: dict | None = None, plaintext: set[str] = frozenset()):
    config = stack_config(stack, overrides)
    encrypted = {key for key in config if key in TEST_SECRETS or stack_settings.is_secret_setting(key)} - plaintext
    with pytest.raises(stack_settings.SettingsError) as caught:
        run = run_as_engine(monkeypatch, stack, overrides, encrypted)
        pytest.fail(f"accepted; registered {[r.name for r in run.resources]}")
    assert caught.value.program_run.resources == []  # before any resource
    return caught.value.problems


def test_every_secret_set_with_secret_deploys(monkeypatch):
    run = run_as_engine(monkeypatch, "dev")
    assert run.named("nexus-server-bootstrap")


def test_a_plaintext_admin_password_is_refused_with_the_command_that_encrypts_it(monkeypatch):
    problems = refused(monkeypatch, "dev", {"adminPassword": "CorrectHorse-Battery9"}, {f"{NS}:adminPassword"})
    assert problems == [
        f"{NS}:adminPassword: is a secret given in plain text (in stacks/Pulumi.dev.yaml, by `pulumi config set` "
        "without --secret, or by --config); store it encrypted with `pulumi config set --secret adminPassword` "
        "(it asks for the value), then run pulumi up again"
    ]
    assert "CorrectHorse-Battery9" not in "\n".join(problems)  # the secret itself is never printed


@pytest.mark.parametrize(("stack", "overrides", "plaintext", "key", "command"), [
    ("dev", {}, f"{NS}:userPasswords", "userPasswords.ci", "pulumi config set --secret --path 'userPasswords.ci'"),
    ("lab", {}, f"{NS}:sshPrivateKey", "sshPrivateKey", "pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519"),
    ("dev", {"alertWebhooks": ["https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"]}, f"{NS}:alertWebhooks",
     "alertWebhooks[0]", "pulumi config set --secret --path 'alertWebhooks[0]'"),
    ("dev", {"tencentcloud:secretKey": "an-api-secret-key"}, "tencentcloud:secretKey", None,
     "pulumi config set --secret tencentcloud:secretKey"),
])
def test_each_secret_setting_in_plain_text_is_refused(monkeypatch, stack, overrides, plaintext, key, command):
    problems = refused(monkeypatch, stack, overrides, {plaintext})
    full_key = f"{NS}:{key}" if key else plaintext
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{full_key}: is a secret given in plain text"), problems
    assert f"`{command}`" in problems[0], problems


def test_the_refusal_speaks_chinese_in_a_chinese_locale(monkeypatch):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    problems = refused(monkeypatch, "dev", {}, {f"{NS}:adminPassword"})
    assert problems[0].startswith(f"{NS}:adminPassword: 是以明文提供的密钥"), problems
    assert "`pulumi config set --secret adminPassword`" in problems[0]
