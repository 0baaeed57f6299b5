"""Faults of the data directory on one fresh host: backup, destroy, restore (issue 21, items 3 and 4).

One fresh Debian root (``fresh_host.FreshHost``, module fixture) runs the Nexus
steps as ``pulumi up`` runs them (prepare, data directory, container, bootstrap;
nginx is not needed here), with the stand-in Nexus, whose settings live in
``/nexus-data/db/nexus.mv.db`` and whose H2 backup task zips that file, as
Nexus does.  Images are pushed with skopeo straight to the stand-in's
docker-hosted port.  Every restore runs as ``make restore`` runs it: the
non-root SSH user, ``sudo -n nexus-restore.sh FROM``.  The tests run in file
order on one host, each starting from what the previous one left.  Named by the
fault they inject (``-k restore``).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from components import host_layout
from components.render import nexus as render_nexus
from tests.support.registry_env import make_ca
from tests.support.settings import ADMIN_PASSWORD
from tests.system.fresh_host import (
    USER,
    FreshHost,
    NexusImage,
    certificates_of,
    gzip_layer,
    lab_settings,
    step_bundles,
    write_oci,
)

DATA = host_layout.DATA_DIR
BACKUP_COPY = "/root/nexus-backup"  # README: an existing server's copy of db-backup/ and blobs/
REFERENCE = "127.0.0.1:8002/team/app/api:1"
STEPS = ["prepare", "prepare-disk", "container", "bootstrap"]


@dataclass
class Host:
    host: FreshHost
    bundles: dict[str, str]
    workdir: Path
    pushed: str = ""  # the manifest digest of REFERENCE
    settings_before: dict | None = None

    def docker(self, *args: str, check: bool = True):
        return self.host.run(["/usr/bin/docker", *args], check=check)

    def state(self) -> str:
        return self.docker("inspect", "-f", "{{.State.Status}} {{.State.StartedAt}}", "nexus").stdout.strip()

    def step(self, name: str):
        return self.host.step(name, USER, self.bundles[name])

    def restore(self, source: str):
        """What `make restore STACK=lab FROM=<source>` runs on the host."""
        return self.host.ssh(USER, f"sudo -n {host_layout.RESTORE_SCRIPT} {shlex.quote(source)}", check=False)

    def rest(self, path: str, password: str = ADMIN_PASSWORD) -> object:
        result = self.host.run(["curl", "-sS", "-f", "-u", f"admin:{password}",
                                f"{host_layout.NEXUS_URL}/service/rest{path}"])
        return json.loads(result.stdout)

    def nexus_settings(self) -> dict:
        """What the bootstrap configured, as Nexus reports it: repositories, users, realms, anonymous, tasks."""
        return {
            "repositories": sorted(r["name"] for r in self.rest("/v1/repositories")),
            "users": sorted((u["userId"], tuple(u["roles"])) for u in self.rest("/v1/security/users")),
            "realms": self.rest("/v1/security/realms/active"),
            "anonymous": self.rest("/v1/security/anonymous"),
            "tasks": sorted(t["name"] for t in self.rest("/v1/tasks")["items"]),
        }

    def digest(self) -> str:
        """Pull REFERENCE (manifest and every blob) and return its manifest digest."""
        target = self.workdir / f"pulled-{time.monotonic_ns()}"
        self.host.run(["skopeo", "--insecure-policy", "copy", "--quiet", "--src-tls-verify=false",
                       f"docker://{REFERENCE}", f"dir:{target}"], net_only=True, timeout=120)
        inspected = self.host.run(["skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}",
                                   f"docker://{REFERENCE}"], net_only=True)
        return inspected.stdout.strip()

    def flag(self) -> str:
        return self.host.read(host_layout.MAINTENANCE_FLAG)


def wait_for_nexus(host: Host, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while host.host.run(["curl", "-sf", "-o", "/dev/null", f"{host_layout.NEXUS_URL}/service/rest/v1/status"],
                        check=False).returncode != 0:
        assert time.monotonic() < deadline, "Nexus did not answer after its start"
        time.sleep(0.2)


def push_image(host: Host) -> str:
    build = host.workdir / "image-to-push"
    build.mkdir()
    payload = build / "payload.bin"
    payload.write_bytes(bytes(range(256)) * 4096)
    with tarfile.open(build / "layer.tar", "w") as archive:
        archive.add(payload, arcname="opt/payload.bin")
    layer = gzip_layer(build / "layer.tar", build / "blobs")
    layout = write_oci(build / "oci", [layer], {"Cmd": ["/bin/true"]}, "1")
    host.host.run(["skopeo", "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false", f"oci:{layout}:1",
                   f"docker://{REFERENCE}"], net_only=True, timeout=120)
    return host.digest()


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("faults-restore")
    settings = lab_settings()
    fresh = FreshHost(workdir / "host", (settings.web_fqdn, settings.registry_fqdn))
    try:
        ca = make_ca(workdir / "pki", [settings.registry_fqdn, settings.web_fqdn])
        NexusImage(fresh, workdir / "image", render_nexus.image(settings)).publish()
        bundles = step_bundles(settings, certificates_of(ca, settings))
        deployed = Host(fresh, bundles, workdir)
        for name in STEPS:
            deployed.step(name).ok()
        yield deployed
    finally:
        fresh.close()


def test_restore_standin_keeps_its_settings_across_a_restart_and_stops_on_sigterm_at_once(host):
    host.settings_before = host.nexus_settings()
    assert {"docker-hosted", "docker-group", "docker-proxy"} <= set(host.settings_before["repositories"])
    assert host.host.path(f"{DATA}/db/nexus.mv.db").stat().st_size > 0
    started = time.monotonic()
    host.docker("stop", "--time", "120", "nexus")  # the container's own stop timeout
    assert time.monotonic() - started < 15, "SIGTERM must stop the stand-in like Nexus, not wait out the timeout"
    host.docker("start", "nexus")
    wait_for_nexus(host)
    assert host.nexus_settings() == host.settings_before  # with the password the bootstrap set, stored
    assert not host.host.path(f"{DATA}/admin.password").exists()  # an existing database: no generated password
    again = host.step("bootstrap").ok()
    assert "done: 0 change(s)" in again.stdout, again.stdout


def test_restore_from_a_backup_copy_after_the_data_directory_is_destroyed(host):
    host.pushed = push_image(host)
    backup = host.host.ssh(USER, f"sudo -n {host_layout.DB_BACKUP_SCRIPT}")
    assert "database backup" in backup.stdout
    host.host.sh(f"mkdir -p {BACKUP_COPY} && cp -a {DATA}/db-backup {DATA}/blobs {BACKUP_COPY}/")
    # The disk is lost: Nexus stops, its data directory is gone.
    host.docker("stop", "nexus")
    host.host.sh(f"rm -rf {DATA}")

    restored = host.restore(BACKUP_COPY)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    out = restored.stdout + restored.stderr
    assert "installing unzip" in out  # not on a fresh Debian root
    for line in ("maintenance: taken", "restoring the blob stores", "database restored from nexus-",
                 "Nexus is up on the restored database", "maintenance: released",
                 "now make converge STACK=lab re-applies the stack's settings"):
        assert line in out, out
    assert host.flag() == ""
    assert host.state().startswith("running")
    assert host.host.path(DATA).stat().st_uid == host_layout.NEXUS_UID
    assert host.digest() == host.pushed
    assert host.nexus_settings() == host.settings_before
    # make converge's bootstrap on the restored database: logs in with the password in effect, changes nothing.
    converge = host.step("bootstrap").ok()
    assert "done: 0 change(s)" in converge.stdout, converge.stdout


@pytest.mark.parametrize("fault", ["truncated", "no-database", "empty-database", "missing"])
def test_restore_refuses_a_damaged_backup_before_stopping_nexus(host, fault):
    good = sorted(host.host.path(f"{BACKUP_COPY}/db-backup").glob("nexus-*.zip"))[-1]
    bad = host.host.path(f"/root/bad-{fault}.zip")
    if fault == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif fault == "no-database":
        with zipfile.ZipFile(bad, "w") as archive:
            archive.writestr("nexus.trace.db", "trace")
    elif fault == "empty-database":
        with zipfile.ZipFile(bad, "w") as archive:
            archive.writestr("nexus.mv.db", "")
    database = host.host.path(f"{DATA}/db/nexus.mv.db").read_bytes()
    before = host.state()

    refused = host.restore(f"/root/bad-{fault}.zip")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    expected = {"truncated": "is damaged or not a zip archive", "no-database": "holds no nexus.mv.db",
                "empty-database": "nexus.mv.db in /root/bad-empty-database.zip is empty",
                "missing": "/root/bad-missing.zip does not exist on this host"}[fault]
    assert expected in refused.stdout  # the restore's own log, followed (see the next test)
    assert host.state() == before  # never stopped
    assert host.host.path(f"{DATA}/db/nexus.mv.db").read_bytes() == database
    assert host.flag() == ""


def test_interrupted_restore_disconnected_ssh_session_still_finishes(host):
    # The operator's connection drops while `make restore` runs: the restore must not die half-way (its
    # next log line would go to a closed channel) and leave Nexus stopped, and what it printed after the
    # drop must be on the host.  (Here OpenSSH's sshd, and Debian's sudo with use_pty, keep draining a
    # session whose client is gone, so this harness does not kill an undetached script; what fails
    # without the detaching is the host-side log.)
    before = host.state()
    args = ["ssh", "-i", str(host.host.key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={host.host.workdir / 'known_hosts'}", "-o", "LogLevel=ERROR",
            f"{USER}@127.0.0.1", f"sudo -n {host_layout.RESTORE_SCRIPT} {BACKUP_COPY}"]
    session = subprocess.Popen(host.host.command(args, net_only=True), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in session.stdout:
        seen.append(line)
        if ": intact," in line:
            break
    session.kill()  # before Nexus is stopped: everything after runs without anyone listening
    session.wait(timeout=10)
    assert any(": intact," in line for line in seen), "".join(seen)
    deadline = time.monotonic() + 90
    while not ("nexus-restore: done" in host.host.read("/var/log/nexus-registry-restore.log")
               and host.flag() == "" and host.state().startswith("running")):
        assert time.monotonic() < deadline, (host.host.read("/var/log/nexus-registry-restore.log"), host.flag(),
                                             host.state())
        time.sleep(0.5)
    assert host.state() != before  # restarted on the restored database
    assert host.nexus_settings() == host.settings_before
    assert host.digest() == host.pushed


def test_restore_keeps_nexus_stopped_when_the_database_cannot_be_written_whole(host):
    # The disk fills while the database is written: a 4 KiB filesystem where db/ is.
    good = sorted(host.host.path(f"{BACKUP_COPY}/db-backup").glob("nexus-*.zip"))[-1]
    big = host.host.path("/root/big.zip")
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("nexus.mv.db", source.read("nexus.mv.db") + b" " * (256 << 10))
    host.docker("stop", "nexus")
    host.host.sh(f"rm -rf {DATA}/db && install -d -o 200 -g 200 {DATA}/db"
                 f" && mount -t tmpfs -o size=4k,uid=200,gid=200 tmpfs {DATA}/db")
    try:
        failed = host.restore("/root/big.zip")
        assert failed.returncode != 0, failed.stdout + failed.stderr
        assert "Nexus stays stopped and the host in maintenance" in failed.stdout
        assert host.state().startswith("exited")
        assert host.flag().startswith("0 nexus-restore.sh /root/big.zip: Nexus stays stopped until a restore succeeds")
        assert not host.host.path(f"{DATA}/db/nexus.mv.db").exists()
    finally:
        host.host.sh(f"umount {DATA}/db")
    # Run again with a good backup: it takes the maintenance over, restores, starts, releases.
    again = host.restore(BACKUP_COPY)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "took over a pinned maintenance flag (0 nexus-restore.sh" in again.stdout
    assert host.flag() == "" and host.state().startswith("running")
    assert host.nexus_settings() == host.settings_before


def test_restore_bootstrap_refuses_a_new_database_over_the_blobs_then_restore_snapshot_repairs_it(host):
    # The database is lost but the blobs are not (a deleted db/, a restore that never ran): Nexus starts
    # on a new, empty database and writes a generated admin password.
    host.host.ssh(USER, f"sudo -n {host_layout.DB_BACKUP_SCRIPT}")  # the nightly backup, on the disk
    host.docker("stop", "nexus")
    host.host.sh(f"rm -rf {DATA}/db")
    host.docker("start", "nexus")
    deadline = time.monotonic() + 30
    while not host.host.path(f"{DATA}/admin.password").exists():
        assert time.monotonic() < deadline
        time.sleep(0.2)
    generated = host.host.read(f"{DATA}/admin.password")

    refused = host.step("bootstrap")
    assert refused.returncode == 1
    assert "Nexus started on a new, empty database" in refused.stderr
    assert "make restore STACK=lab FROM=snapshot" in refused.stderr
    assert host.rest("/v1/repositories", generated) == []  # nothing was created over the blobs

    restored = host.restore("snapshot")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert not host.host.path(f"{DATA}/admin.password").exists()
    assert host.host.path(f"{DATA}/db/nexus.mv.db.before-restore").exists()
    assert host.nexus_settings() == host.settings_before
    assert host.digest() == host.pushed
    host.step("bootstrap").ok()
