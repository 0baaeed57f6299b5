"""NexusServer under Pulumi mocks: four ordered steps, each re-run only by what it owns, secrets kept secret.

A step re-runs when its stdin (its bundle) changes, so comparing the stdin of two
runs with different settings is comparing whether ``pulumi up`` would touch it.
"""

from __future__ import annotations

from typing import Any

import pytest

from components import settings as stack_settings
from components.host import NexusHost, NexusHostArgs
from components.nexus_server import NexusServer, NexusServerArgs
from components.render import nexus as render
from components.render.templating import JQ_LIBRARY
from tests.harness import LAB_HOST_KEY, TEST_SECRETS, run_program, stack_config
from tests.support.bundles import bundle_files, stdin

COMMAND = "command:remote:Command"
STEPS = ("nexus-prepare", "nexus-prepare-disk", "nexus-container", "nexus-bootstrap")
ADMIN_PASSWORD = TEST_SECRETS["nexus-registry:adminPassword"]
TOKEN = "dckr_pat_Mock-Token-55"


def program():
    settings = stack_settings.from_pulumi()
    host = NexusHost("nexus-host", NexusHostArgs.from_settings(settings))
    NexusServer("nexus", NexusServerArgs(settings=settings, connection=host.connection, ssh_user=host.ssh_user,
                                         data_disk_id=host.data_disk_id))


def run(stack: str, overrides: dict[str, Any] | None = None, secrets: dict[str, str | None] | None = None):
    return run_program(stack, stack_config(stack, overrides, secrets), program=program)


@pytest.fixture(scope="module")
def dev():
    return run("dev")


@pytest.fixture(scope="module")
def dev_stdins(dev):
    return {step: stdin(dev, step) for step in STEPS}


def test_four_ordered_steps_under_the_component(dev):
    component = dev.one("nexus-registry:nexus:NexusServer")
    assert component.name == "nexus"
    commands = {r.name: r for r in dev.of_type(COMMAND)}
    assert set(STEPS) <= set(commands)
    for step in STEPS:
        assert commands[step].opts.parent is component.resource
    assert commands["nexus-prepare"].opts.depends_on in (None, [])
    assert commands["nexus-prepare-disk"].opts.depends_on == [commands["nexus-prepare"].resource]
    assert commands["nexus-container"].opts.depends_on == [commands["nexus-prepare"].resource,
                                                           commands["nexus-prepare-disk"].resource]
    assert commands["nexus-bootstrap"].opts.depends_on == [commands["nexus-container"].resource]
    assert component.resource.ready is commands["nexus-bootstrap"].resource


def test_each_step_carries_only_its_own_files(dev_stdins):
    prepare = bundle_files(dev_stdins["nexus-prepare"][1])
    prepare_disk = bundle_files(dev_stdins["nexus-prepare-disk"][1])
    container = bundle_files(dev_stdins["nexus-container"][1])
    bootstrap = bundle_files(dev_stdins["nexus-bootstrap"][1])
    assert set(prepare) == {render.PREPARE_SCRIPT, JQ_LIBRARY}
    assert set(prepare_disk) == {render.PREPARE_DISK_SCRIPT}
    assert set(container) == {render.CONTAINER_SCRIPT}
    assert render.BOOTSTRAP_SCRIPT in bootstrap and render.ADMIN_PASSWORD_PATH in bootstrap
    assert {f"{render.REPOSITORY_DIR}/{name}.json" for name in
            ("docker-proxy", "docker-hosted", "docker-group", "pypi-proxy", "yum-proxy")} <= set(bootstrap)
    assert dev_stdins["nexus-prepare"][1].rstrip().endswith(f"exec {render.PREPARE_SCRIPT}")
    assert dev_stdins["nexus-prepare-disk"][1].rstrip().endswith(f"exec {render.PREPARE_DISK_SCRIPT}")
    assert dev_stdins["nexus-container"][1].rstrip().endswith(f"exec {render.CONTAINER_SCRIPT}")
    assert dev_stdins["nexus-bootstrap"][1].rstrip().endswith(f"exec {render.BOOTSTRAP_SCRIPT}")


def test_the_cvm_data_disk_is_found_by_its_cbs_id(dev_stdins):
    script = bundle_files(dev_stdins["nexus-prepare-disk"][1])[render.PREPARE_DISK_SCRIPT]
    # The mock's id for the CBS disk resource; on Tencent this is disk-xxxxxxxx.
    assert "NEXUS_DATA_DISK=${NEXUS_DATA_DISK-nexus-host-data-disk-id}" in script
    assert "NEXUS_DATA_DISK_KIND=${NEXUS_DATA_DISK_KIND-cbs}" in script
    prepare = bundle_files(dev_stdins["nexus-prepare"][1])[render.PREPARE_SCRIPT]
    assert "DOCKER_MIRROR=${DOCKER_MIRROR-https://mirror.ccs.tencentyun.com}" in prepare


def test_existing_servers_use_the_configured_device_or_the_root_disk():
    lab_run = run("lab")
    lab = bundle_files(stdin(lab_run, "nexus-prepare-disk")[1])[render.PREPARE_DISK_SCRIPT]
    assert "NEXUS_DATA_DISK_KIND=${NEXUS_DATA_DISK_KIND-none}" in lab
    prepare = bundle_files(stdin(lab_run, "nexus-prepare")[1])[render.PREPARE_SCRIPT]
    assert "DOCKER_MIRROR=${DOCKER_MIRROR-''}" in prepare
    device = "/dev/disk/by-id/virtio-data01"
    server = {"mode": "existing", "address": "10.0.8.15", "user": "root", "dataDevice": device,
              "hostKey": LAB_HOST_KEY}
    with_disk = bundle_files(stdin(run("lab", {"server": server}), "nexus-prepare-disk")[1])[
        render.PREPARE_DISK_SCRIPT]
    assert "NEXUS_DATA_DISK_KIND=${NEXUS_DATA_DISK_KIND-device}" in with_disk
    assert f"NEXUS_DATA_DISK=${{NEXUS_DATA_DISK-{device}}}" in with_disk


def test_a_new_nexus_version_changes_the_container_step_only(dev_stdins):
    upgraded = run("dev", {"nexus": {"version": "3.87.0"}})
    assert stdin(upgraded, "nexus-container") != dev_stdins["nexus-container"]
    script = bundle_files(stdin(upgraded, "nexus-container")[1])[render.CONTAINER_SCRIPT]
    assert "NEXUS_IMAGE=${NEXUS_IMAGE-sonatype/nexus3:3.87.0}" in script
    assert stdin(upgraded, "nexus-prepare") == dev_stdins["nexus-prepare"]
    assert stdin(upgraded, "nexus-prepare-disk") == dev_stdins["nexus-prepare-disk"]
    assert stdin(upgraded, "nexus-bootstrap") == dev_stdins["nexus-bootstrap"]


@pytest.mark.parametrize("overrides", [
    {"webMaxUploadSize": "5g"},
    {"certificate": "self-signed"},
    {"certificate": "acme", "acme": {"email": "ops@widgets-inc.cn"}},
    {"renewBeforeDays": 20},
    {"dns": "none"},
], ids=lambda o: ",".join(o))
def test_nginx_certificate_and_dns_settings_touch_no_nexus_step(dev_stdins, overrides):
    other = run("dev", overrides)
    for step in STEPS:
        assert stdin(other, step) == dev_stdins[step], step


@pytest.mark.parametrize("overrides, changed", [
    ({"nexus": {"heapMb": 3072}}, {"nexus-container"}),
    # Anonymous pull also decides whether firewalld opens the mirror's port (host preparation).
    ({"nexus": {"anonymousPull": False}}, {"nexus-bootstrap", "nexus-prepare"}),
    ({"registryMirrorPort": 9443}, {"nexus-prepare"}),
    ({"nexus": {"yumProxy": False}}, {"nexus-bootstrap"}),
    ({"server": {"mode": "cvm", "cpu": 4, "memoryGb": 16, "sshAllowedCidrs": ["58.246.10.0/24"],
                 "dataDiskGb": 50, "dockerMirror": ""}}, {"nexus-prepare"}),
    # The data disk's size re-runs its own step (never Docker's, never the container's), and the
    # bootstrap, whose blob store soft quota follows the disk.
    ({"server": {"mode": "cvm", "cpu": 4, "memoryGb": 16, "sshAllowedCidrs": ["58.246.10.0/24"],
                 "dataDiskGb": 80}}, {"nexus-prepare-disk", "nexus-bootstrap"}),
], ids=["heap", "anonymous", "mirror-port", "yum", "mirror", "data-disk"])
def test_each_setting_re_runs_only_the_step_that_owns_it(dev_stdins, overrides, changed):
    other = run("dev", overrides)
    assert {step for step in STEPS if stdin(other, step) != dev_stdins[step]} == changed


def test_secrets_ride_only_in_the_secret_bootstrap_stdin():
    result = run("dev", {"nexus": {"version": "3.93.2", "dockerHubUsername": "team-bot"}},
                 secrets={"nexus-registry:dockerHubToken": TOKEN})
    secret, text = stdin(result, "nexus-bootstrap")
    assert secret, "the bootstrap stdin carries secret files and must be secret in state"
    files = bundle_files(text)
    assert files[render.ADMIN_PASSWORD_PATH] == ADMIN_PASSWORD
    assert files[render.DOCKER_HUB_TOKEN_PATH] == TOKEN
    user_password = TEST_SECRETS["nexus-registry:userPasswords"]["ci"]
    assert files["/etc/nexus-registry/secrets/users/ci"] == user_password
    assert "_nr_put '/etc/nexus-registry/secrets/users/ci' 0600" in text
    assert sum(content.count(user_password) for content in files.values()) == 1
    assert "_nr_put '/etc/nexus-registry/secrets/nexus-admin-password' 0600" in text
    for step in ("nexus-prepare", "nexus-prepare-disk", "nexus-container"):
        is_secret, plain = stdin(result, step)
        assert not is_secret, f"{step} has no secret and should stay reviewable"
        decoded = "".join(bundle_files(plain).values())
        assert ADMIN_PASSWORD not in plain + decoded and TOKEN not in plain + decoded
    for path, content in files.items():
        if path not in (render.ADMIN_PASSWORD_PATH, render.DOCKER_HUB_TOKEN_PATH):
            assert ADMIN_PASSWORD not in content and TOKEN not in content, path
    for command in result.of_type(COMMAND):
        create = command.inputs["create"]
        assert create in ("bash -s", "sudo -n bash -s")  # nothing else, let alone a secret, on the command line
        assert ADMIN_PASSWORD not in str(command.inputs.get("environment", ""))


def test_steps_run_as_root_through_sudo_for_the_ubuntu_user(dev):
    for step in STEPS:
        assert dev.named(step).inputs["create"] == "sudo -n bash -s"  # dev's Ubuntu image logs in as ubuntu


def guarded_program():
    from components.upgrade import guarded_version

    settings = stack_settings.from_pulumi()
    host = NexusHost("nexus-host", NexusHostArgs.from_settings(settings))
    NexusServer("nexus", NexusServerArgs(
        settings=settings, connection=host.connection, ssh_user=host.ssh_user, data_disk_id=host.data_disk_id,
        nexus_version=guarded_version(settings.nexus.version, settings.nexus.allow_downgrade,
                                      accept_community_caps=settings.nexus.accept_community_caps)))


def deployed(version: str, registered: list[str]):
    """Mock the stack's last update having exported ``nexusVersion``; note every resource the engine sees."""
    def outputs(type_, name, _inputs):
        registered.append(name)
        if type_ == "pulumi:pulumi:StackReference":
            return {"outputs": {"nexusVersion": version}}
        return {}
    return outputs


def test_the_container_step_waits_for_the_checked_version(dev_stdins):
    upgraded = run_program("dev", stack_config("dev", {"nexus": {"version": "3.95.2"}}), program=guarded_program,
                           extra_outputs=deployed("3.93.2", []))
    script = bundle_files(stdin(upgraded, "nexus-container")[1])[render.CONTAINER_SCRIPT]
    assert "NEXUS_IMAGE=${NEXUS_IMAGE-sonatype/nexus3:3.95.2}" in script
    same = run_program("dev", stack_config("dev"), program=guarded_program, extra_outputs=deployed("3.93.2", []))
    for step in STEPS:
        assert stdin(same, step) == dev_stdins[step], "gating on the checked version changes no bundle"


def test_a_refused_downgrade_never_reaches_the_container_step():
    registered: list[str] = []
    with pytest.raises(Exception, match="older than the deployed"):
        run_program("dev", stack_config("dev"), program=guarded_program, extra_outputs=deployed("3.99.1", registered))
    assert "nexus-prepare" in registered
    assert "nexus-container" not in registered and "nexus-bootstrap" not in registered


def test_crossing_3_87_reaches_the_host_only_when_acknowledged():
    registered: list[str] = []
    with pytest.raises(Exception, match="nexus.acceptCommunityCaps"):
        run_program("dev", stack_config("dev"), program=guarded_program, extra_outputs=deployed("3.86.2", registered))
    assert "nexus-container" not in registered
    accepted = run_program("dev", stack_config("dev", {"nexus": {"acceptCommunityCaps": True}}),
                           program=guarded_program, extra_outputs=deployed("3.86.2", []))
    script = bundle_files(stdin(accepted, "nexus-container")[1])[render.CONTAINER_SCRIPT]
    assert "sonatype/nexus3:3.98.0" in script


def test_every_run_warns_about_the_advisories_of_the_pinned_release(monkeypatch):
    import components.upgrade as upgrade

    warned: list[str] = []
    monkeypatch.setattr(upgrade.pulumi.log, "warn", lambda message, *args, **kwargs: warned.append(message))
    run_program("dev", stack_config("dev", {"nexus": {"version": "3.90.2"}}), program=guarded_program)
    assert any("CVE-2026-3199" in line and "fixed in 3.91.0" in line for line in warned), warned
    assert any("no SSRF protection API" in line for line in warned), warned
    warned.clear()
    logged: list[str] = []
    monkeypatch.setattr(upgrade.pulumi.log, "info", lambda message, *args, **kwargs: logged.append(message))
    run_program("dev", stack_config("dev"), program=guarded_program)
    assert not any("CVE-" in line or "SSRF" in line for line in warned), warned
    # The shipped release's one open advisory needs a HuggingFace proxy: noted in the log, not warned about.
    assert [line for line in logged if "CVE-2026-136957" in line and "never creates" in line], logged
