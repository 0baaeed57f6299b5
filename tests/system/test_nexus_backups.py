"""Consistent backups on the host, run for real: the database backup before an upgrade, and the
container step's refusal of a data directory that only Nexus before 3.71 (OrientDB) can read."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from components.render import nexus as render
from components.render import nexus_operator_tools
from tests.support.commands import ok
from tests.support.host_scripts import run, write_script
from tests.support.nexus_container import Container
from tests.support.nexus_host import BootstrapHost, systemd_standin
from tests.support.settings import ADMIN_PASSWORD, make_settings

# --- OrientDB data directories -----------------------------------------------------------------


def test_an_orientdb_data_directory_is_refused_before_anything_starts(tmp_path, nexus):
    container = Container(tmp_path, nexus)
    for name in ("component", "config", "security", "analytics"):
        (container.data / "db" / name).mkdir(parents=True)
    result = container.run()
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(f"nexus-container: ERROR: {container.data} holds an OrientDB database "
                              "(db/component, db/config, db/security, no db/nexus.mv.db)")
    assert "Nexus older than 3.71" in message and "3.70.x" in message and "migrator" in message
    assert container.calls("pull") == [] and container.calls("create") == []
    assert not (container.data / "etc" / "nexus.properties").exists(), "nothing may be written to it"


@pytest.mark.parametrize("layout", ["migrated to H2", "migrated to PostgreSQL", "PostgreSQL datastore", "fresh",
                                    "H2 only"])
def test_h2_postgresql_and_fresh_data_directories_start(tmp_path, nexus, layout):
    container = Container(tmp_path, nexus)
    db = container.data / "db"
    if layout != "fresh":
        db.mkdir()
    if layout.startswith("migrated"):
        (db / "component").mkdir()
        (db / "config").mkdir()
    if layout in ("migrated to H2", "H2 only"):
        (db / "nexus.mv.db").write_bytes(b"H2")
    if layout == "migrated to PostgreSQL":
        fabric = container.data / "etc" / "fabric"
        fabric.mkdir(parents=True)
        (fabric / "nexus-store.properties").write_text(
            "name=nexus\ntype=jdbc\njdbcUrl=jdbc\\:postgresql\\://db\\:5432/nexus\nusername=nexus\n")
    env = {}
    if layout == "PostgreSQL datastore":  # database.engine postgresql: the datastore comes from a secret file
        (db / "component").mkdir()
        env_file = tmp_path / "nexus-store.properties"
        env_file.write_text("name=nexus\ntype=jdbc\njdbcUrl=jdbc\\:postgresql\\://10.0.0.5\\:5432/nexus\n")
        env["DATASTORE_PROPERTIES"] = str(env_file)
    ok(container.run(**env))
    assert len(container.calls("create")) == 1


# --- the database backup before an upgrade --------------------------------------------------


class BackupHost:
    def __init__(self, tmp_path: Path, url: str, password: str = ADMIN_PASSWORD):
        self.tmp_path = tmp_path
        self.url = url
        self.data = tmp_path / "nexus-data"
        self.data.mkdir(exist_ok=True)
        self.secrets = tmp_path / "secrets"
        self.secrets.mkdir(exist_ok=True)
        (self.secrets / render.ADMIN_PASSWORD_NAME).write_text(password)
        self.script = write_script(tmp_path, nexus_operator_tools.database_backup_files(make_settings("prod"))[0])

    @property
    def backups(self) -> list[str]:
        folder = self.data / "db-backup"
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []

    def environment(self) -> dict[str, str]:
        return {"NEXUS_URL": self.url, "NEXUS_SECRETS_DIR": str(self.secrets),
                "NEXUS_BACKUP_DIR": str(self.data / "db-backup"), "NEXUS_BACKUP_INTERVAL": "0.1",
                "NEXUS_BACKUP_TIMEOUT": "5"}

    def run_args(self, *args: str):
        return subprocess.run(["bash", str(self.script), *args], env={**os.environ, **self.environment()},
                              capture_output=True, text=True, timeout=60)

    def run(self, **env: str):
        return run(self.script, {**self.environment(), **env})


@pytest.fixture
def configured(tmp_path, start_nexus):
    """A fake Nexus the bootstrap has configured (so its H2 backup task exists), writing into tmp/nexus-data."""
    fake = start_nexus(admin_password=ADMIN_PASSWORD, data_dir=tmp_path / "nexus-data")
    result = BootstrapHost(tmp_path / "bootstrap", make_settings("prod"), fake.url).run()
    assert result.returncode == 0, result.stderr
    return fake


def test_the_backup_runs_nexus_own_task_and_waits_for_the_file(tmp_path, configured):
    host = BackupHost(tmp_path, configured.url)
    out = ok(host.run())
    task = next(t for t in configured.tasks.values() if t["type"] == "h2.backup.task")
    assert task["runs"] == 1 and task["name"] == "nexus-registry: backup H2 database"
    assert host.backups == ["nexus-2026-11-29-10-00-01.zip"]
    assert f"database backup {host.data}/db-backup/nexus-2026-11-29-10-00-01.zip written" in out
    ok(host.run())  # before the next upgrade: another, newer file
    assert len(host.backups) == 2
    assert ADMIN_PASSWORD not in out


def test_a_failed_backup_fails_the_step_before_the_snapshot(tmp_path, configured):
    host = BackupHost(tmp_path, configured.url)
    folder = host.data / "db-backup"
    folder.mkdir()
    (folder / "nexus-2026-11-29-10-00-01.zip").write_text("from an earlier run")  # H2BackupTask refuses to overwrite
    result = host.run()
    assert result.returncode != 0
    assert "failed (FAILED)" in result.stderr


def test_a_fresh_host_without_nexus_has_nothing_to_back_up(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = ok(BackupHost(tmp_path, f"http://127.0.0.1:{port}").run())
    assert "nothing to back up yet" in out


def test_a_nexus_without_the_task_is_a_warning(tmp_path, nexus):
    host = BackupHost(tmp_path, nexus.url, password=nexus.admin_password)
    result = host.run()
    ok(result)
    assert "WARNING: this Nexus has no h2.backup.task task" in result.stderr
    assert host.backups == []


def test_a_wrong_admin_password_fails_clearly(tmp_path, configured):
    result = BackupHost(tmp_path, configured.url, password="not-the-password-1").run()
    assert result.returncode != 0
    assert "HTTP 401" in result.stderr and "adminPassword" in result.stderr


# --- pruning old database backups -------------------------------------------------------------


def test_pruning_deletes_old_backups_but_always_keeps_the_newest(tmp_path):
    host = BackupHost(tmp_path, "http://127.0.0.1:9")
    folder = host.data / "db-backup"
    folder.mkdir()
    now = time.time()
    for name, age_days in [("nexus-a.zip", 10), ("nexus-b.zip", 4), ("nexus-c.zip", 2), ("nexus-d.zip", 0.1),
                           ("notes.txt", 30)]:
        (folder / name).write_text(name)
        os.utime(folder / name, (now - age_days * 86400, now - age_days * 86400))
    out = ok(host.run_args("--prune", "3"))
    assert sorted(p.name for p in folder.iterdir()) == ["nexus-c.zip", "nexus-d.zip", "notes.txt"]
    assert "pruned" in out and "kept 2 database backup(s), newest nexus-d.zip" in out
    # A task that stopped working weeks ago: its last backup stays.
    for path in folder.glob("nexus-*.zip"):
        os.utime(path, (now - 40 * 86400, now - 40 * 86400))
    os.utime(folder / "nexus-c.zip", (now - 41 * 86400, now - 41 * 86400))
    ok(host.run_args("--prune", "3"))
    assert sorted(p.name for p in folder.glob("nexus-*.zip")) == ["nexus-d.zip"]
    assert host.run_args("--prune", "0").returncode != 0


def test_the_bootstrap_enables_the_pruning_timer_once_and_reloads_only_on_change(tmp_path, start_nexus):
    fake = start_nexus(admin_password=ADMIN_PASSWORD)
    host = BootstrapHost(tmp_path / "root", make_settings("prod"), fake.url)
    env, calls = systemd_standin(tmp_path)
    assert host.run(**env).returncode == 0
    unit = "nexus-registry-db-backup-prune"
    # (the retention timer follows: tests/system/test_nexus_retention.py)
    assert calls.read_text().splitlines()[:3] == ["daemon-reload", f"is-enabled --quiet {unit}.timer",
                                              f"enable --now {unit}.timer"]
    service = host.path(f"/etc/systemd/system/{unit}.service").read_text()
    assert f"ExecStart={nexus_operator_tools.DB_BACKUP_SCRIPT} --prune 3" in service
    before = calls.read_text()
    out = host.run(**env).stdout
    assert calls.read_text()[len(before):].split("\n")[:2] == [f"is-enabled --quiet {unit}.timer",
                                                               f"is-active --quiet {unit}.timer"]
    assert "done: 0 change(s)" in out
    host.apply(make_settings("prod", backup={"retainDays": 14, "databaseKeepDays": 7}))
    before = calls.read_text()
    assert host.run(**env).returncode == 0
    assert calls.read_text()[len(before):].startswith("daemon-reload\n")
    assert "--prune 7" in host.path(f"/etc/systemd/system/{unit}.service").read_text()
