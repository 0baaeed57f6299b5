"""Host hardening: SSH host keys are pinned (never trust on first use), new data disks are encrypted.

cvm: pulumi-tls makes an ed25519 host key, cloud-init installs it at first boot
from the instance's user data, and the connection pins the public half read back
from the instance itself (so an instance created before pinning, whose user data
never changes, asks for ``server.hostKey`` instead of being trusted).  existing:
``server.hostKey`` is required.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml

from components.host import HOST_KEY_MARKER, host_key_user_data, pinned_host_key
from tests.harness import FAKE_PUBLIC_IP, LAB_HOST_KEY, TEST_SECRETS, is_secret, resolve, run_stack, stack_file_config
from tests.support.bundles import SECRET_SIG
from tests.two_runs import PRECIOUS, run_twice

INSTANCE = "tencentcloud:Instance/instance:Instance"
COMMAND = "command:remote:Command"
GENERATED = "ssh-ed25519 AAAAnexus-host-host-key"  # what the harness's pulumi-tls mock answers


def legacy_instance(type_, name, inputs):
    """The provider's Read of an instance created without user data: both fields empty."""
    return {"userData": "", "userDataRaw": ""} if type_ == INSTANCE else {}


@pytest.fixture(scope="module")
def dev():
    return run_stack("dev")


def host_of(run):
    return run.one("nexus-registry:host:NexusHost").resource


def test_cvm_host_key_is_generated_installed_by_user_data_and_pinned(dev):
    key = dev.named("nexus-host-host-key")
    assert key.inputs["algorithm"] == "ED25519"
    cvm = dev.one(INSTANCE)
    user_data = cvm.inputs["userDataRaw"]
    assert isinstance(user_data, dict) and user_data.get(SECRET_SIG), "user data carries a private key: secret"
    assert HOST_KEY_MARKER in user_data["value"] and GENERATED in user_data["value"]
    assert "userData" not in cvm.inputs  # one of the two conflicting fields
    # User data runs once: a later change must neither replace nor pretend to re-key the host.
    assert {"user_data", "user_data_raw", "image_id"} <= set(cvm.opts.ignore_changes)
    assert {"user_data", "user_data_raw"} <= set(cvm.opts.additional_secret_outputs)

    host = host_of(dev)
    assert resolve(host.connection.host_key) == GENERATED and not is_secret(host.connection.host_key)
    assert dev.outputs["sshKnownHosts"] == f"{FAKE_PUBLIC_IP} {GENERATED}"
    assert "sshKnownHosts" not in dev.secret_outputs
    for name, value in dev.outputs.items():
        # sshPrivateKey: the generated login key, a secret output for make ssh.
        assert "PRIVATE KEY" not in str(value) or name in dev.secret_outputs, name


def test_every_remote_step_pins_the_host_key(dev):
    commands = dev.of_type(COMMAND)
    assert commands
    for command in commands:
        connection = command.inputs["connection"]
        connection = connection.get("value", connection) if isinstance(connection, dict) else connection
        assert connection["hostKey"] == GENERATED, command.name


def test_an_instance_created_before_pinning_needs_the_key_from_the_operator():
    with pytest.raises(Exception, match=r"nexus-registry:server.hostKey: is required for this stack"):
        run_stack("dev", extra_outputs=legacy_instance)


def test_an_instance_created_before_pinning_uses_server_host_key():
    server = stack_file_config("dev")["nexus-registry:server"]
    run = run_stack("dev", {"server": {**server, "hostKey": LAB_HOST_KEY}}, extra_outputs=legacy_instance)
    assert resolve(host_of(run).connection.host_key) == LAB_HOST_KEY


def test_server_host_key_may_not_contradict_the_key_the_instance_was_made_with():
    with pytest.raises(ValueError, match="differs from the key this CVM was created with"):
        pinned_host_key(host_key_user_data("-----BEGIN X-----\nk\n-----END X-----\n", GENERATED), LAB_HOST_KEY)
    assert pinned_host_key(host_key_user_data("k", GENERATED), GENERATED) == GENERATED
    assert pinned_host_key("#!/bin/sh\necho unrelated user data\n", LAB_HOST_KEY) == LAB_HOST_KEY


def test_existing_server_pins_the_configured_key():
    run = run_stack("lab")
    assert resolve(host_of(run).connection.host_key) == LAB_HOST_KEY
    assert run.outputs["sshKnownHosts"] == f"10.0.8.15 {LAB_HOST_KEY}"
    with pytest.raises(Exception, match=r"nexus-registry:server.hostKey: is required"):
        run_stack("lab", {"server": {"mode": "existing", "address": "10.0.8.15"}})
    assert TEST_SECRETS  # the secrets the runs used


def test_user_data_is_cloud_config_that_installs_a_key_sshd_can_read(tmp_path):
    # A real key pair (ssh-keygen), through the user data, back out: the private half still yields the public one.
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(tmp_path / "k")], check=True)
    private, public = (tmp_path / "k").read_text(), (tmp_path / "k.pub").read_text().strip()
    text = host_key_user_data(private, public)
    assert text.startswith("#cloud-config\n")
    document = yaml.safe_load(text)
    assert document["ssh_genkeytypes"] == [] and document["ssh_deletekeys"] is True
    assert document["ssh_keys"]["ed25519_public"] == public
    installed = tmp_path / "ssh_host_ed25519_key"
    installed.write_text(document["ssh_keys"]["ed25519_private"])
    installed.chmod(0o600)
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(installed)], capture_output=True, text=True, check=True)
    assert derived.stdout.split()[:2] == public.split()[:2]
    assert pinned_host_key(text, None) == " ".join(public.split()[:2])


def test_new_data_disks_are_encrypted_and_old_ones_are_never_replaced_for_it(dev):
    disk = dev.named("nexus-host-data-disk")
    assert disk.inputs["encrypt"] is True
    # encrypt is ForceNew in the provider: a stack whose disk predates this keeps encrypt=false in state.
    assert "encrypt" in disk.opts.ignore_changes


def _made_before_this_change(cloud, first):
    """Rewrite the first run's state as an older version of the program left it: no user data, no encryption."""
    for key, (resource_id, outputs) in list(first.states.items()):
        if key[0] == INSTANCE:
            first.states[key] = (resource_id, {**outputs, "userData": "", "userDataRaw": ""})
        if key[0] == "tencentcloud:Cbs/storage:Storage":
            first.states[key] = (resource_id, {**outputs, "encrypt": False})


def test_a_stack_made_before_pinning_stops_and_asks_for_the_host_key():
    with pytest.raises(Exception, match=r"nexus-registry:server.hostKey: is required for this stack"):
        run_twice("dev", between=_made_before_this_change)


def test_a_stack_made_before_pinning_keeps_its_host_and_disk_and_pins_the_operators_key():
    server = stack_file_config("dev")["nexus-registry:server"]
    runs = run_twice("dev", between=_made_before_this_change,
                     second_overrides={"server": {**server, "hostKey": LAB_HOST_KEY}})
    assert not {t for t, _ in runs.replaced()} & PRECIOUS, runs.replaced()
    # Neither the user data (it would never run again) nor the disk's encryption flag (ForceNew) is touched.
    changed = {(step.type, step.key) for step in runs.steps}
    assert (INSTANCE, "userDataRaw") not in changed and ("tencentcloud:Cbs/storage:Storage", "encrypt") not in changed
    assert runs.second.states[(INSTANCE, "nexus-host-cvm")][1]["userDataRaw"] == ""
    assert resolve(host_of(runs.second).connection.host_key) == LAB_HOST_KEY
    assert runs.second.outputs["sshKnownHosts"].endswith(LAB_HOST_KEY)


def test_a_new_stack_updated_again_keeps_its_generated_key():
    runs = run_twice("dev")
    assert not runs.replaced() & {(INSTANCE, "nexus-host-cvm")}
    assert resolve(host_of(runs.second).connection.host_key) == GENERATED
