"""The whole program under mocks: every stack wires every component; secrets never leak; steps stay separate."""

from __future__ import annotations

import json

import pytest
from pulumi.runtime import rpc

from tests.harness import TEST_SECRETS, run_stack

COMMAND = "command:remote:Command"
NEXUS_STEPS = ("nexus-server-prepare", "nexus-server-prepare-disk", "nexus-server-container", "nexus-server-bootstrap")
NGINX_STEPS = ("nexus-nginx-deploy", "nexus-nginx-smoke")
BACKUP_STEPS = ("nexus-backups-pre-upgrade-db",)
ADMIN_PASSWORD = TEST_SECRETS["nexus-registry:adminPassword"]


def plain(value):
    """A mock input with Pulumi's secret wrapper removed (secretness is checked separately)."""
    if isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
        return value["value"]
    return value


def is_secret_input(value) -> bool:
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def plain_text(value) -> str:
    """Everything in an input that is not wrapped as a secret, as text."""
    if is_secret_input(value):
        return ""
    if isinstance(value, dict):
        return " ".join(plain_text(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(plain_text(v) for v in value)
    return str(value)


@pytest.fixture(scope="module", params=["dev", "prod", "lab"])
def any_stack(request):
    return request.param, run_stack(request.param)


def test_every_stack_deploys_nexus_then_nginx_over_ssh(any_stack):
    _stack, run = any_stack
    steps = {r.name: r for r in run.of_type(COMMAND)}
    assert set(steps) == set(NEXUS_STEPS + NGINX_STEPS + BACKUP_STEPS)
    for step in steps.values():
        assert step.inputs["create"] in ("bash -s", "sudo -n bash -s")  # nothing else on the command line
        assert plain(step.inputs["stdin"]).startswith("#!/usr/bin/env bash\nset -euo pipefail\n")
    # nginx waits for a configured Nexus: its smoke check needs Nexus answering.
    deploy_opts = run.named("nexus-nginx-deploy").opts
    assert run.named("nexus-server-bootstrap").resource in deploy_opts.depends_on


def test_no_secret_appears_outside_a_secret_input_or_output(any_stack):
    stack, run = any_stack
    secrets = [ADMIN_PASSWORD, "PRIVATE KEY-----\n"]
    for registered in run.resources:
        text = plain_text(registered.inputs)
        for secret in secrets:
            assert secret not in text, (registered.name, secret)
    # The one secret output: the SSH key a cvm stack generated, for `make ssh` (encrypted in state,
    # shown only by `pulumi stack output --show-secrets`).
    expected_secret = {"sshPrivateKey"} if stack != "lab" else set()
    assert run.secret_outputs == expected_secret, f"{stack}: only the generated SSH key may be a secret output"
    outputs_text = json.dumps({k: v for k, v in run.outputs.items() if k not in expected_secret})
    for secret in secrets:
        assert secret not in outputs_text


def test_a_cvm_stack_exports_the_key_it_generated_as_a_secret_for_make_ssh():
    run = run_stack("dev")
    key = run.named("nexus-host-ssh-key")
    assert run.outputs["sshPrivateKey"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert key.name in run.outputs["sshPrivateKey"]  # the mock's key for exactly that resource
    assert "sshPrivateKey" in run.secret_outputs
    assert "sshPrivateKey" not in run_stack("lab").outputs  # your own key: never exported


def test_secrets_reach_the_host_only_through_secret_stdin(any_stack):
    _stack, run = any_stack
    bootstrap = run.named("nexus-server-bootstrap").inputs
    assert is_secret_input(bootstrap["stdin"])
    assert ADMIN_PASSWORD not in bootstrap["create"]
    deploy = run.named("nexus-nginx-deploy").inputs
    assert is_secret_input(deploy["stdin"])
    # The keys travel base64-encoded inside that secret bundle, never anywhere else.
    assert "/etc/pki/nginx/" in plain(deploy["stdin"]) and ".key' 0600" in plain(deploy["stdin"])


def step_inputs(run, names):
    return {name: json.dumps(run.named(name).inputs, sort_keys=True, default=str) for name in names}


def test_changing_the_nexus_version_touches_no_nginx_or_dns_step():
    before = run_stack("dev")
    after = run_stack("dev", {"nexus": {"version": "3.87.0", "anonymousPull": True}})
    assert step_inputs(before, NGINX_STEPS) == step_inputs(after, NGINX_STEPS)
    records = [r.name for r in before.of_type("tencentcloud:Dnspod/record:Record")]
    assert records and step_inputs(before, records) == step_inputs(after, records)
    changed = {n for n in NEXUS_STEPS if step_inputs(before, [n]) != step_inputs(after, [n])}
    assert "nexus-server-container" in changed and "nexus-server-prepare" not in changed


def test_changing_an_nginx_setting_touches_no_nexus_step():
    before = run_stack("dev")
    after = run_stack("dev", {"webMaxUploadSize": "4g"})
    assert step_inputs(before, NEXUS_STEPS) == step_inputs(after, NEXUS_STEPS)
    assert step_inputs(before, ["nexus-nginx-deploy"]) != step_inputs(after, ["nexus-nginx-deploy"])


def test_every_component_follows_the_naming_contract(any_stack):
    _stack, run = any_stack
    components = {r.name: r.type for r in run.resources if r.type.startswith("nexus-registry:")}
    assert all(t.count(":") == 2 for t in components.values()), components
    for registered in run.resources:
        if registered.type.startswith(("nexus-registry:", "pulumi:")) or registered.opts is None:
            continue
        parent = registered.opts.parent
        if parent is not None:
            assert registered.name.startswith(parent._name + "-"), (registered.name, parent._name)
