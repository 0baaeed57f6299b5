"""Faults on the Nexus container of one fresh host (issue 21, items 1, 5 and 6), run by fault name.

One ``FreshHost`` (real SSH, real dockerd, the stand-in Nexus, nginx) for the module, with a 1 GiB
loop-device ext4 data disk mounted at ``/srv/nexus`` before the steps run (the lab stack has no
``server.dataDevice``: the prepare step keeps what is mounted there).  An image is pushed through nginx
with skopeo first; every test injects one fault and then asserts that the registry serves the same
manifest digest (a full pull, every blob) through nginx.

- ``test_disconnected_*``: the SSH session of the container step is dropped in the middle of a replace;
- ``test_killed_*``: the container step is killed (its SSH session and its detached work) at each
  point of a replace; the watchdog, run as its timer would, brings Nexus back, and the next run finishes;
- ``test_watchdog_*``: ``docker kill``, a killed dockerd, maintenance held and released;
- ``test_full_disk_*``: the data disk at 100 %: status in bytes, the container step's warning, a push
  refused, and everything served again once space is freed.

The fresh host has no systemd, so the watchdog's service command is run directly over SSH (as the timer
runs it); that the timer is rendered and enabled: tests/unit/test_watchdog.py.

Two stand-ins of this module only, in ``/usr/local/bin/docker`` (in front of fresh_host's nofile one):
the stand-in Nexus ignores SIGTERM, so ``docker stop --time 120`` would wait the full 120 s: it becomes
3 s (logged; the order of the operations is under test, not Nexus's flush); and a pause point (the
test names a docker subcommand and its call count) where the step waits to be killed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from components import host_layout
from components.render import nexus as render_nexus
from components.render.bundle import bundle_script
from tests.support.registry_env import CertAuthority, make_ca
from tests.support.settings import ADMIN_PASSWORD
from tests.system.fresh_host import (
    APT_ARCHIVES,
    USER,
    FreshHost,
    Layer,
    NexusImage,
    busybox_tar,
    cached_image_rootfs,
    certificates_of,
    gzip_layer,
    lab_settings,
    step_bundles,
    write_oci,
)

IMAGE = "team/app/faults"
DISK_MIB = 1024
PAUSE_AT = "/run/nexus-test-pause-at"
PAUSED = "/run/nexus-test-paused"
STOP_LOG = "/var/log/nexus-test-docker-stop.log"
FAULT_DOCKER = r"""#!/bin/bash
# Fault tests only (test_host_faults_container.py): a shorter docker stop, and a pause point.
args=("$@")
if [[ ${args[0]-} == stop && ${args[1]-} == --time ]]; then
  echo "docker stop --time ${args[2]} ${args[3]-}: 3 s here (the stand-in ignores SIGTERM)" \
    >>/var/log/nexus-test-docker-stop.log
  args[2]=3
fi
if [[ -f /run/nexus-test-pause-at ]]; then
  read -r command count </run/nexus-test-pause-at
  if [[ ${args[0]-} == "$command" ]]; then
    seen=$(($(cat /run/nexus-test-pause-count 2>/dev/null || echo 0) + 1))
    echo "$seen" >/run/nexus-test-pause-count
    if ((seen == count)); then
      touch /run/nexus-test-paused
      sleep 600
      exit 1
    fi
  fi
fi
exec /usr/local/lib/nexus-test/docker-nofile "${args[@]}"
"""


@dataclass
class Faults:
    host: FreshHost
    settings: object
    ca: CertAuthority
    bundles: dict[str, str]
    workdir: Path
    digest: str = ""
    heap: int = 4096

    # -- the registry as a client sees it --------------------------------------------------

    def skopeo(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """skopeo of this machine on the host's network, the stack's names resolving to it."""
        script = f"mount --bind {self.workdir / 'hosts'} /etc/hosts && exec skopeo --insecure-policy \"$@\""
        return self.host.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "skopeo",
                              *args], net_only=True, check=check, timeout=300)

    def reference(self, tag: str) -> str:
        return f"docker://{self.settings.registry_fqdn}/{IMAGE}:{tag}"

    def push(self, tag: str, check: bool = True) -> subprocess.CompletedProcess:
        layout = self.workdir / f"oci-{tag}"
        payload = self.workdir / f"payload-{tag}.tar"
        data = self.workdir / f"payload-{tag}.bin"
        data.write_bytes(os.urandom(3 << 20))
        with tarfile.open(payload, "w") as archive:
            archive.add(data, arcname="opt/payload.bin")
        layers: list[Layer] = [gzip_layer(self.workdir / "busybox.tar", self.workdir / "blobs"),
                               gzip_layer(payload, self.workdir / "blobs")]
        write_oci(layout, layers, {"Cmd": ["/bin/sh"]}, tag)
        return self.skopeo("copy", "--quiet", f"--dest-cert-dir={self.workdir / 'certs'}",
                           f"--dest-creds=admin:{ADMIN_PASSWORD}", f"oci:{layout}:{tag}", self.reference(tag),
                           check=check)

    def served_digest(self, tag: str = "1") -> str:
        """The manifest digest served for TAG, after pulling every blob of it through nginx."""
        target = self.workdir / "pulled"
        shutil.rmtree(target, ignore_errors=True)
        self.skopeo("copy", "--quiet", f"--src-cert-dir={self.workdir / 'certs'}", self.reference(tag),
                    f"dir:{target}")
        return self.skopeo("inspect", f"--cert-dir={self.workdir / 'certs'}", "--format", "{{.Digest}}",
                           self.reference(tag)).stdout.strip()

    def assert_serves_the_same_digest(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                assert self.served_digest() == self.digest
                return
            except AssertionError as error:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the registry does not serve {IMAGE}:1 as pushed:\n{error}\n"
                                         f"{self.containers()}") from None
                time.sleep(1)

    # -- the host ----------------------------------------------------------------------------

    def docker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.host.run(["/usr/bin/docker", *args], check=check)

    def containers(self) -> dict[str, str]:
        """name -> state of every container on the host's Engine."""
        listed = self.docker("ps", "-a", "--format", "{{.Names}} {{.State}}").stdout.split("\n")
        return dict(line.split(" ", 1) for line in listed if line)

    def spec(self, name: str = "nexus") -> str:
        return self.docker("inspect", "-f", '{{ index .Config.Labels "nexus-registry.spec" }}', name).stdout.strip()

    def watchdog(self) -> subprocess.CompletedProcess:
        """The watchdog's service command, as its timer runs it (root, the host's environment)."""
        return self.host.ssh("root", host_layout.WATCHDOG_SCRIPT, check=False, timeout=300)

    def container_bundle(self, heap: int) -> str:
        settings = lab_settings(nexus={"heapMb": heap})
        return bundle_script(render_nexus.container_files(settings), render_nexus.CONTAINER_SCRIPT)

    def next_container_bundle(self) -> str:
        """A container step whose spec differs from the running one (another heap): a replace."""
        self.heap = 4160 if self.heap == 4096 else 4096
        return self.container_bundle(self.heap)

    def start_step(self, stdin: str) -> subprocess.Popen:
        """The container step as pulumi runs it, in the background: its SSH client can be killed."""
        known_hosts = self.host.workdir / "known_hosts"
        args = ["ssh", "-i", str(self.host.key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", f"UserKnownHostsFile={known_hosts}", "-o", "LogLevel=ERROR", f"{USER}@127.0.0.1",
                "sudo -n bash -s"]
        process = subprocess.Popen(self.host.command(args, net_only=True), stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        process.stdin.write(stdin)
        process.stdin.close()
        return process


def _wait(condition, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("faults-container")
    settings = lab_settings()
    image = workdir / "data-disk.img"
    subprocess.run(["truncate", "-s", f"{DISK_MIB}M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    device = subprocess.run(["losetup", "--find", "--show", str(image)], check=True, capture_output=True,
                            text=True).stdout.strip()
    fresh = None
    try:
        # Its own package cache, seeded with links to the shared one's packages: apt's lock on a shared
        # cache would make this host wait for (or fail beside) another fresh host running at the same time.
        archives = workdir / "apt-archives"
        archives.mkdir()
        for package in APT_ARCHIVES.glob("*.deb"):
            os.link(package, archives / package.name)
        fresh = FreshHost(workdir / "host", (settings.web_fqdn, settings.registry_fqdn), apt_archives=archives)
        fresh.sh(f"mkdir -p {host_layout.MOUNT_POINT} && mount {device} {host_layout.MOUNT_POINT}")
        nofile = fresh.path("/usr/local/lib/nexus-test/docker-nofile")
        shutil.copy(fresh.path("/usr/local/bin/docker"), nofile)
        fresh.path("/usr/local/bin/docker").write_text(FAULT_DOCKER)
        ca = make_ca(workdir / "pki", [settings.registry_fqdn, settings.web_fqdn])
        (workdir / "certs").mkdir()
        shutil.copy(ca.ca_crt, workdir / "certs" / "ca.crt")
        (workdir / "hosts").write_text(f"127.0.0.1 localhost {settings.web_fqdn} {settings.registry_fqdn}\n")
        busybox_tar(cached_image_rootfs(), workdir / "busybox.tar")
        NexusImage(fresh, workdir / "image", render_nexus.image(settings)).publish()
        bundles = step_bundles(settings, certificates_of(ca, settings))
        for name, stdin in bundles.items():
            fresh.step(name, USER, stdin).ok()
        state = Faults(fresh, settings, ca, bundles, workdir)
        state.push("1")
        state.digest = state.served_digest()
        assert state.digest.startswith("sha256:")
        yield state
    finally:
        if fresh is not None:
            fresh.close()
        subprocess.run(["losetup", "--detach", device], check=False)


# --- item 1: the container step survives a lost session and a kill ---------------------------------


def test_disconnected_container_replace_finishes_on_the_host(faults):
    before = faults.docker("inspect", "-f", "{{.Id}}", "nexus").stdout.strip()
    step = faults.start_step(faults.next_container_bundle())
    seen = []
    for line in step.stdout:  # until the old container is being stopped, then the session is dropped
        seen.append(line)
        if "stopping the previous nexus" in line or "replacing container nexus" in line:
            break
    time.sleep(1)
    step.kill()
    step.wait()
    _wait(lambda: faults.containers() == {"nexus": "running"}
          and faults.docker("inspect", "-f", "{{.Id}}", "nexus").stdout.strip() != before
          and not faults.host.path(host_layout.MAINTENANCE_FLAG).exists(),
          f"the replace to finish without its session (step said: {''.join(seen)})")
    faults.assert_serves_the_same_digest()
    # The work's own output stayed on the host.
    logs = sorted(faults.host.path(f"{host_layout.STATE_DIR}/container").glob("*.out"))
    assert "Nexus is ready" in logs[-1].read_text()
    assert (logs[-1].with_suffix(".rc")).read_text() == "0\n"


@pytest.mark.parametrize("command, count, left", [
    ("rename", 1, "the old container stopped"),
    ("rename", 2, "the old container renamed: none named nexus"),
    ("start", 1, "the new container in place, not started"),
])
def test_killed_container_replace_is_healed_by_the_watchdog_and_finished_by_the_next_run(
        faults, command, count, left):
    bundle = faults.next_container_bundle()
    faults.host.path("/run/nexus-test-pause-count").unlink(missing_ok=True)
    faults.host.path(PAUSE_AT).write_text(f"{command} {count}\n")
    step = faults.start_step(bundle)
    try:
        _wait(lambda: faults.host.path(PAUSED).exists(), f"the step to reach docker {command} #{count}", 90)
        # Kill everything of the step: its SSH side and its detached work (its own process group).
        owner = faults.host.read(host_layout.MAINTENANCE_FLAG).split()[0]
        faults.host.sh(f"kill -KILL -- -{owner}")
        step.kill()
        step.wait()
    finally:
        faults.host.path(PAUSE_AT).unlink(missing_ok=True)
        faults.host.path(PAUSED).unlink(missing_ok=True)
    left_behind = faults.containers()
    healed = faults.watchdog()
    assert healed.returncode == 0, f"{left} ({left_behind}):\n{healed.stdout}{healed.stderr}"
    assert "took back a stale maintenance flag" in healed.stdout
    faults.assert_serves_the_same_digest()
    finished = faults.host.step("container", USER, bundle).ok()
    assert "Nexus is ready" in finished.stdout
    assert faults.containers() == {"nexus": "running"}
    faults.assert_serves_the_same_digest()


# --- item 5: the watchdog ------------------------------------------------------------------------------


def test_watchdog_leaves_a_killed_nexus_alone_in_maintenance_then_starts_it(faults):
    # A live process of the host holds the flag, as the restore command does while it works.
    pid = faults.host.sh("setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!").stdout.strip()
    try:
        faults.host.path(host_layout.MAINTENANCE_FLAG).write_text(f"{pid} nexus-restore.sh (test)\n")
        faults.docker("kill", "nexus")
        time.sleep(3)
        assert faults.containers()["nexus"] == "exited"  # --restart unless-stopped does not bring it back
        held = faults.watchdog()
        assert held.returncode == 0 and f"maintenance: {pid} nexus-restore.sh (test) holds" in held.stdout
        assert faults.containers()["nexus"] == "exited"
    finally:
        faults.host.sh(f"kill {pid}", check=False)
    _wait(lambda: faults.host.sh(f"test -d /proc/{pid}", check=False).returncode != 0, "the holder to end")
    healed = faults.watchdog()
    assert healed.returncode == 0, healed.stderr
    assert "took back a stale maintenance flag" in healed.stdout
    assert "started container nexus (it was exited)" in healed.stdout
    faults.assert_serves_the_same_digest()
    status = faults.host.ssh("root", host_layout.STATUS_SCRIPT, check=False)
    assert "started container nexus (it was exited)" in status.stdout, status.stdout + status.stderr


def test_watchdog_starts_dockerd_and_nexus_after_dockerd_is_killed(faults):
    pid = faults.host.read("/run/docker.pid").strip()  # /var/run links to /run, outside the host's root
    assert pid
    faults.host.sh(f"kill -KILL {pid}")
    _wait(lambda: faults.host.sh(f"test -d /proc/{pid}", check=False).returncode != 0, "dockerd to die")
    healed = faults.watchdog()
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert "started dockerd (it did not answer)" in healed.stdout
    if faults.containers().get("nexus") != "running":  # the next minute's run
        assert faults.watchdog().returncode == 0
    faults.assert_serves_the_same_digest()


# --- item 6: a full data disk ----------------------------------------------------------------------------


def test_full_disk_is_reported_in_bytes_warned_by_the_step_and_served_again_once_freed(faults):
    filler = f"{host_layout.MOUNT_POINT}/filler"
    available = int(faults.host.sh(f"df -P -B1 {host_layout.MOUNT_POINT} | awk 'NR == 2 {{ print $4 }}'").stdout)
    faults.host.sh(f"fallocate -l {available} {filler}")
    try:
        status = faults.host.ssh("root", host_layout.STATUS_SCRIPT, check=False)
        disk = next((line for line in status.stdout.splitlines() if line.strip().startswith("disk ")), "")
        assert status.returncode == 3 and "(100 %), 0B free" in disk and disk.endswith("WARNING"), \
            status.stdout + status.stderr
        step = faults.host.step("container", USER, faults.container_bundle(faults.heap)).ok()
        assert f"WARNING: the data disk holding {host_layout.DATA_DIR} is 100 % full" in step.stderr, step.stderr
        refused = faults.push("full", check=False)
        assert refused.returncode != 0
        print(f"a push to a full disk: {refused.stderr.strip()[-400:]}")
        faults.assert_serves_the_same_digest()  # reads still work
    finally:
        faults.host.sh(f"rm -f {filler}")
    faults.push("2")
    faults.assert_serves_the_same_digest()
    assert json.loads(faults.skopeo("inspect", f"--cert-dir={faults.workdir / 'certs'}",
                                    faults.reference("2")).stdout)["Digest"].startswith("sha256:")
