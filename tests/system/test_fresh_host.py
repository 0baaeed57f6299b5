"""The whole host pipeline on a fresh Debian 12 root, as ``pulumi up`` runs it, then the real docker client.

``fresh_host.FreshHost`` boots a new root (no Docker, no nginx) with sshd; each
step's stdin bundle (built by the functions the components use) goes to
``sudo -n bash -s`` over a real OpenSSH session as the non-root user
``deploy``, in ``pulumi up`` order: prepare (packages really installed, Docker
Engine really started), container (the stand-in Nexus image pulled through
the host's registry mirror, run by the real container script), bootstrap
(against the fake Nexus inside it), nginx deploy (nginx really installed by
the script), smoke check.  Then a second Docker Engine in the same namespace
plays the user's machine: ``docker login``, build, push, remove, pull and run
of ``team/app/api``, and a pull of ``busybox`` through the stack's
``dockerDaemonJson`` output as its ``registry-mirrors``.

The tests of the ``host`` fixture run in file order on one host, each one
starting from the state the previous one left (as successive ``pulumi up``
runs do).  ``bare_host`` is a second fresh root for nginx's first install:
the defect of the old ordering, and a failed installation.

Stand-ins (see fresh_host.py): systemd (``SYSTEMCTL`` override, starts
dockerd), the Nexus image, and ``--ulimit nofile`` (the sandbox's hard limit
is 20000).  The stand-in registries accept anonymous pushes, so ``docker
login`` here proves the TLS and routing path, not the password check (which
the fake Nexus REST API does for the bootstrap).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from components import client_setup, host_layout
from components.render import nexus as render_nexus
from components.render import nginx as render_nginx
from components.render.bundle import HostFile, bundle_script
from tests.support.registry_env import CertAuthority, deploy_bundle_with, make_ca
from tests.support.settings import ADMIN_PASSWORD
from tests.system.fresh_host import (
    MIRROR_PORT,
    PACKAGE_MANAGER_LOG,
    ULIMIT_LOG,
    USER,
    FreshHost,
    NexusImage,
    StepResult,
    busybox_tar,
    cached_image_rootfs,
    certificates_of,
    lab_settings,
    step_bundles,
)

CLIENT_SOCKET = "unix:///run/docker-client.sock"
CLIENT_BRIDGE = "nrclient0"
IMAGE = "team/app/api"


@dataclass
class Deployed:
    host: FreshHost
    settings: object
    ca: CertAuthority
    bundles: dict[str, str]
    before: dict[str, str]
    results: dict[str, StepResult]
    workdir: Path
    timings: dict[str, float] = field(default_factory=dict)

    def docker(self, *args: str, check: bool = True, **kwargs):
        """The host's own Docker Engine (the one the scripts use)."""
        return self.host.run(["/usr/bin/docker", *args], check=check, **kwargs)

    def client(self, *args: str, check: bool = True, input: str | None = None, timeout: float = 600):
        """The user's docker CLI, against the client Docker Engine."""
        return self.host.run(["env", "DOCKER_CONFIG=/root/.docker-client", "DOCKER_BUILDKIT=0", "/usr/bin/docker",
                              "-H", CLIENT_SOCKET, *args], check=check, input=input, timeout=timeout)

    def run_steps(self, bundles: dict[str, str], names: list[str] | None = None) -> dict[str, StepResult]:
        results = {}
        for name in names or list(bundles):
            results[name] = self.host.step(name, USER, bundles[name])
            if results[name].returncode != 0:
                break
        return results

    def snapshot(self) -> dict[str, object]:
        """Everything a no-op run must leave as it is."""
        return {
            "container": self.docker("inspect", "-f", "{{.Id}} {{.State.StartedAt}} {{.State.Status}}",
                                     "nexus").stdout,
            "nginx master": self.host.nginx_master_pid(),
            "packages": self.host.installed_packages(),
            "package manager calls": self.host.read(PACKAGE_MANAGER_LOG),
            "dpkg log": self.host.read("/var/log/dpkg.log"),
            "apt proxy requests": self.host.apt_proxy_log.read_text(),
            "dockerd": self.host.read("/var/run/docker.pid"),
            "live nginx files": {path: self.host.read(path) for path in render_nginx.managed_files(self.settings)},
        }


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fresh-host")
    settings = lab_settings()
    started = time.monotonic()
    fresh = FreshHost(workdir / "host", (settings.web_fqdn, settings.registry_fqdn))
    try:
        timings = {"boot": time.monotonic() - started}
        before = {
            "commands": fresh.sh("command -v dockerd nginx curl jq /usr/bin/docker || true").stdout,
            "packages": fresh.installed_packages(),
        }
        ca = make_ca(workdir / "pki", [settings.registry_fqdn, settings.web_fqdn])
        mark = time.monotonic()
        NexusImage(fresh, workdir / "image", render_nexus.image(settings)).publish()
        timings["stand-in image"] = time.monotonic() - mark
        bundles = step_bundles(settings, certificates_of(ca, settings))
        deployed = Deployed(fresh, settings, ca, bundles, before, {}, workdir, timings)
        deployed.results = deployed.run_steps(bundles)
        for name, result in deployed.results.items():
            timings[name] = result.seconds
        yield deployed
        print(f"\nfresh-host timings (s): {json.dumps({k: round(v, 1) for k, v in timings.items()})}",
              file=sys.stderr)
    finally:
        fresh.close()


def test_every_step_succeeds_on_a_fresh_host_with_docker_and_nginx_installed_by_the_scripts(host):
    assert host.before["commands"] == "", "the fresh root must have neither Docker nor nginx (nor curl, jq)"
    assert " docker.io " not in host.before["packages"] and "\nnginx " not in host.before["packages"]
    for result in host.results.values():  # first: a failed step's own output says why the run stopped
        result.ok()
    assert list(host.results) == ["prepare", "prepare-disk", "container", "bootstrap", "nginx-deploy", "nginx-smoke"]
    prepare, deploy = host.results["prepare"], host.results["nginx-deploy"]
    assert "installing docker.io from the distribution" in prepare.stdout + prepare.stderr
    assert "deploy-nginx: installing nginx" in deploy.stderr
    assert "configuration applied (h2-listen); nginx reloaded" in deploy.stderr
    assert "smoke-check: ok" in host.results["nginx-smoke"].stdout
    packages = host.host.installed_packages()
    for package in ("docker.io", "nginx", "curl", "jq"):
        assert f"\n{package} " in f"\n{packages}" and "install ok installed" in \
            next(line for line in packages.splitlines() if line.startswith(f"{package} "))
    assert all(line.endswith("install ok installed") for line in packages.splitlines()
               if line.split()[0] in ("nginx", "nginx-common", "docker.io")), packages
    assert host.host.sh("nginx -t 2>&1").stdout.count("successful") == 1


def test_docker_engine_was_started_through_the_systemd_stand_in_with_the_mirror(host):
    calls = host.host.read("/var/log/nexus-test-systemctl.log").splitlines()
    assert calls[0] == "enable --now docker" and "restart docker" in calls
    daemon = json.loads(host.host.read("/etc/docker/daemon.json"))
    assert daemon == {"registry-mirrors": [f"http://127.0.0.1:{MIRROR_PORT}"]}
    info = json.loads(host.docker("info", "--format", "{{json .}}").stdout)
    assert info["Driver"] == "vfs" and f"http://127.0.0.1:{MIRROR_PORT}/" in info["RegistryConfig"]["Mirrors"]


def test_the_nexus_container_runs_as_rendered_from_the_image_pulled_through_the_mirror(host):
    inspected = json.loads(host.docker("inspect", "nexus").stdout)[0]
    assert inspected["Config"]["Image"] == "sonatype/nexus3:3.98.0" and inspected["State"]["Running"]
    bindings = inspected["HostConfig"]["PortBindings"]
    assert {port: [b["HostIp"] for b in binding] for port, binding in bindings.items()} == {
        "8081/tcp": ["127.0.0.1"], "8001/tcp": ["127.0.0.1"], "8002/tcp": ["127.0.0.1"], "8003/tcp": ["127.0.0.1"]}
    assert inspected["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert inspected["Config"]["StopTimeout"] == 120
    assert [m["Source"] for m in inspected["Mounts"]] == [render_nexus.DATA_DIR]
    # The one stand-in on the container: nofile 65536 cannot be granted in this sandbox (hard limit 20000).
    assert inspected["HostConfig"]["Ulimits"] == [{"Name": "nofile", "Hard": 20000, "Soft": 20000}]
    assert "rewrote --ulimit nofile=65536:65536" in host.host.read(ULIMIT_LOG)
    env = dict(item.split("=", 1) for item in inspected["Config"]["Env"])
    assert env["INSTALL4J_ADD_VM_PARAMS"].startswith("-Xms")
    mirror_log = (host.workdir / "image" / "mirror.log").read_text()
    assert "/v2/sonatype/nexus3/manifests/3.98.0" in mirror_log  # pulled by the container script
    assert host.host.path(f"{render_nexus.DATA_DIR}").stat().st_uid == render_nexus.NEXUS_UID


def test_the_bootstrap_configured_the_nexus_api_and_nginx_serves_it(host):
    assert "nexus-bootstrap: done" in host.results["bootstrap"].stdout
    assert not host.host.path(f"{render_nexus.DATA_DIR}/admin.password").exists()  # used, then removed
    listed = host.host.run(["curl", "-sS", "--cacert", "/dev/stdin", "-u", f"admin:{ADMIN_PASSWORD}",
                            f"https://{host.settings.web_fqdn}/service/rest/v1/repositories"],
                           input=host.ca.ca_crt.read_text())
    names = {repository["name"] for repository in json.loads(listed.stdout)}
    assert {"docker-proxy", "docker-hosted", "docker-group"} <= names


def test_the_docker_client_logs_in_pushes_pulls_and_runs_through_nginx_and_pulls_docker_hub_names_via_the_mirror(
        host):
    settings = host.settings
    registry = settings.registry_fqdn
    # The user's side, as README says: trust the CA, the daemon.json output as the client Engine's config.
    ca_path = client_setup.docker_ca_path(settings)
    host.host.path(ca_path).parent.mkdir(parents=True, exist_ok=True)
    host.host.path(ca_path).write_text(host.ca.ca_crt.read_text())
    config = host.host.path("/etc/nexus-test-client/daemon.json")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(client_setup.daemon_json(settings))
    # Its own bridge: "--bridge=none" would make it delete docker0, the host Engine's (and Nexus's) network.
    for command in (["ip", "link", "add", CLIENT_BRIDGE, "type", "bridge"],
                    ["ip", "addr", "add", "172.31.0.1/24", "dev", CLIENT_BRIDGE],
                    ["ip", "link", "set", CLIENT_BRIDGE, "up"]):
        host.host.run(command, net_only=True)
    host.host.popen(["/usr/sbin/dockerd", "--iptables=false", "--ip6tables=false", "--storage-driver=vfs",
                     f"--bridge={CLIENT_BRIDGE}", "--data-root=/var/lib/docker-client",
                     "--exec-root=/run/docker-client", "-H", CLIENT_SOCKET, "--pidfile=/run/docker-client.pid",
                     "--config-file=/etc/nexus-test-client/daemon.json"], host.workdir / "client-dockerd.log")
    deadline = time.monotonic() + 60
    while host.client("version", check=False).returncode != 0:
        assert time.monotonic() < deadline, (host.workdir / "client-dockerd.log").read_text()
        time.sleep(0.5)

    login = host.client("login", "--username", "admin", "--password-stdin", registry, input=ADMIN_PASSWORD)
    assert "Login Succeeded" in login.stdout

    build = host.host.path("/root/build")
    build.mkdir()
    busybox_tar(cached_image_rootfs(), build / "rootfs.tar")
    (build / "hello.txt").write_text("hello from team/app/api\n")
    (build / "payload.bin").write_bytes(os.urandom(3 << 20))
    (build / "Dockerfile").write_text(
        "FROM scratch\nADD rootfs.tar /\nCOPY hello.txt /etc/hello.txt\nCOPY payload.bin /opt/payload.bin\n"
        'CMD ["/bin/sh", "-c", "cat /etc/hello.txt"]\n')
    reference = f"{registry}/{IMAGE}:1"
    host.client("build", "--quiet", "--tag", reference, "/root/build")
    layers = json.loads(host.client("inspect", reference).stdout)[0]["RootFS"]["Layers"]
    assert len(layers) == 3

    pushed = host.client("push", reference)
    assert "digest: sha256:" in pushed.stdout
    access = host.host.read(f"/var/log/nginx/{registry}.access.log")
    assert f"POST /v2/{IMAGE}/blobs/uploads/" in access

    host.client("rmi", reference)
    assert host.client("image", "inspect", reference, check=False).returncode != 0
    pulled = host.client("pull", reference)
    assert "Downloaded newer image" in pulled.stdout
    ran = host.client("run", "--rm", "--network", "none", reference)
    assert ran.stdout == "hello from team/app/api\n"

    # A Docker Hub name through the stack's mirror: nginx -> docker-group -> the Docker Hub stand-in.
    hub = host.client("pull", "busybox")
    assert "Downloaded newer image for busybox:latest" in hub.stdout
    # Served by the stack's mirror endpoint (its own nginx server and log), from docker-proxy.
    mirror = json.loads(client_setup.daemon_json(settings))["registry-mirrors"][0]
    assert mirror.startswith(f"https://{registry}")
    mirrored = host.host.read(f"/var/log/nginx/{registry}-mirror.access.log")
    assert re.search(r'"(HEAD|GET) /v2/library/busybox/manifests/latest HTTP/1.1" 200 .* upstream=127.0.0.1:8001 ',
                     mirrored), mirrored
    assert host.client("run", "--rm", "--network", "none", "busybox", "echo", "mirrored").stdout == "mirrored\n"


def test_a_second_run_with_the_same_bundles_changes_nothing(host):
    before = host.snapshot()
    results = host.run_steps(host.bundles)
    for result in results.values():
        result.ok()
    assert host.snapshot() == before  # container, nginx master, packages, no package manager call, files
    assert "already installed" in results["prepare"].stdout and "installing" not in results["prepare"].stdout
    assert "container nexus is up to date" in results["container"].stdout
    assert "nexus-bootstrap: done: 0 change(s)" in results["bootstrap"].stdout
    assert "configuration unchanged (h2-listen); nginx not reloaded" in results["nginx-deploy"].stderr


def test_an_nginx_setting_alone_reruns_only_the_nginx_steps_and_leaves_nexus_running(host):
    changed = lab_settings(webMaxUploadSize="2g")
    bundles = step_bundles(changed, certificates_of(host.ca, changed))
    rerun = [name for name in bundles if bundles[name] != host.bundles[name]]
    assert rerun == ["nginx-deploy", "nginx-smoke"]  # what pulumi re-runs: the steps whose stdin changed
    before = host.snapshot()
    results = host.run_steps(bundles, rerun)
    for result in results.values():
        result.ok()
    after = host.snapshot()
    assert after["container"] == before["container"]  # same container, never restarted
    assert after["nginx master"] == before["nginx master"]  # a reload, not a restart
    assert after["packages"] == before["packages"] and after["package manager calls"] == before[
        "package manager calls"]
    assert "client_max_body_size 2g;" in host.host.read(host_layout.NGINX_SITE_CONF)
    assert "nginx reloaded" in results["nginx-deploy"].stderr
    host.bundles = bundles
    host.settings = changed


def test_a_configuration_nginx_rejects_leaves_the_previous_one_live_and_serving(host):
    settings = host.settings
    registry, web = settings.registry_fqdn, settings.web_fqdn
    # The registry certificate with the web name's key: nginx -t refuses it.
    swapped = {registry: (host.ca.leaves[registry][0], host.ca.leaves[web][1]), web: host.ca.leaves[web]}
    before = host.snapshot()
    result = host.host.step("nginx-deploy", USER, deploy_bundle_with(settings, swapped))
    assert result.returncode != 0
    assert "nginx -t rejected the new configuration" in result.stderr
    assert "key values mismatch" in result.stderr and "test failed" in result.stderr  # nginx's own words
    assert host.snapshot()["live nginx files"] == before["live nginx files"]
    assert host.host.nginx_master_pid() == before["nginx master"]
    assert not host.host.path(host_layout.NGINX_STAGE_DIR).exists()  # no staged key left behind
    served = host.host.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", "/dev/stdin",
                            f"https://{registry}/v2/"], input=host.ca.ca_crt.read_text())
    assert served.stdout == "200"


def test_a_bundle_missing_a_file_changes_nothing_live(host):
    settings = host.settings
    bundle = deploy_bundle_with(settings, certificates_of(host.ca, settings))
    staged_site = render_nginx.staged_path(host_layout.NGINX_SITE_CONF)
    files = [f for f in render_nginx.deploy_files(settings) if f.path != staged_site]
    for fqdn, (crt, key) in render_nginx.staged_cert_files(settings).items():
        files += [HostFile(crt, host.ca.leaves[fqdn][0], "0600"), HostFile(key, host.ca.leaves[fqdn][1], "0600")]
    incomplete = bundle_script(files, host_layout.NGINX_DEPLOY_SCRIPT)
    assert incomplete != bundle
    before = host.snapshot()
    result = host.host.step("nginx-deploy", USER, incomplete)
    assert result.returncode != 0
    assert f"did not deliver {staged_site}; nothing was changed" in result.stderr
    assert host.snapshot() == before
    assert not host.host.path(host_layout.NGINX_STAGE_DIR).exists()


# --- nginx's first installation on a second fresh root -----------------------------------------


@pytest.fixture(scope="module")
def bare_host(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("bare-host")
    settings = lab_settings()
    # Its own (empty) package cache: with the mirror unreachable, nginx cannot come from the shared one.
    fresh = FreshHost(workdir / "host", (settings.web_fqdn, settings.registry_fqdn),
                      apt_archives=workdir / "apt-archives")
    try:
        yield BareHost(fresh, settings, make_ca(workdir / "pki", [settings.registry_fqdn, settings.web_fqdn]))
    finally:
        fresh.close()


@dataclass
class BareHost:
    """A fresh root where only the nginx step runs."""

    host: FreshHost
    settings: object
    ca: CertAuthority

    def deploy_bundle(self) -> str:
        return deploy_bundle_with(self.settings, certificates_of(self.ca, self.settings))


def nginx_status(host: FreshHost) -> str:
    return host.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "nginx"], check=False).stdout


def live_files_of_ours(host: FreshHost, settings) -> list[str]:
    paths = [*render_nginx.managed_files(settings), f"{host_layout.NGINX_SNIPPET_DIR}/active"]
    return [path for path in paths if os.path.lexists(host.path(path))]


def test_a_failed_nginx_installation_leaves_no_file_of_ours_live(bare_host):
    settings = bare_host.settings
    bare_host.host.mirror_reachable(False)
    try:
        failed = bare_host.host.step("nginx-deploy", USER, bare_host.deploy_bundle())
    finally:
        bare_host.host.mirror_reachable(True)
    assert failed.returncode != 0
    assert "deploy-nginx: installing nginx" in failed.stderr
    assert "503" in failed.stdout + failed.stderr  # apt's own report of the unreachable mirror
    assert nginx_status(bare_host.host) == ""  # not installed
    assert live_files_of_ours(bare_host.host, settings) == []  # the old bundle wrote them live before installing
    assert not bare_host.host.path(host_layout.NGINX_STAGE_DIR).exists()


def test_the_old_ordering_fails_nginx_s_first_installation_in_this_root(bare_host):
    """The defect this root reproduces (before the fix): our site config live before nginx is installed.

    The old bundle wrote ``host_files`` (site config included) to their live
    paths, then the deploy script installed nginx; Debian's postinst starts
    nginx (policy-rc.d allows it, as a real host does), nginx refuses the
    include of a snippet that is not linked yet, and dpkg fails.
    """
    settings = bare_host.settings
    live = list(render_nginx.host_files(settings))
    for fqdn, paths in render_nginx.default_cert_paths(settings).items():
        live += [HostFile(paths.crt, bare_host.ca.leaves[fqdn][0], "0600"),
                 HostFile(paths.key, bare_host.ca.leaves[fqdn][1], "0600")]
    install = HostFile("/opt/nexus-registry/bin/old-ordering-install.sh",
                       "#!/usr/bin/env bash\nset -euo pipefail\n"
                       "DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq update\n"
                       "DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -qq install nginx\n",
                       "0755")
    result = bare_host.host.step("old-ordering", USER, bundle_script([*live, install], install.path))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert 'invoke-rc.d: initscript nginx, action "start" failed.' in output
    assert "nginx package post-installation script subprocess returned error exit status 1" in output
    assert nginx_status(bare_host.host) != "ii "  # left half-configured
    why = bare_host.host.run(["nginx", "-t"], check=False)
    assert 'open() "/etc/nginx/nexus-registry/active/https-default.conf" failed' in why.stderr


def test_the_next_run_takes_the_untested_files_out_and_completes_the_installation(bare_host):
    settings = bare_host.settings
    assert live_files_of_ours(bare_host.host, settings)  # what the old ordering left
    done = bare_host.host.step("nginx-deploy", USER, bare_host.deploy_bundle())
    assert done.returncode == 0, done.stderr
    assert "took our untested files out of /etc before installing it" in done.stderr
    assert "deploy-nginx: installing nginx" in done.stderr  # a half-configured package is not "installed"
    assert nginx_status(bare_host.host) == "ii "
    assert bare_host.host.nginx_master_pid()
    assert bare_host.host.run(["nginx", "-t"]).returncode == 0
    assert bare_host.host.read(host_layout.NGINX_SITE_CONF) == render_nginx.render_site_config(settings)
    assert bare_host.host.read(f"/etc/pki/nginx/{settings.registry_fqdn}.key") == \
        bare_host.ca.leaves[settings.registry_fqdn][1]
