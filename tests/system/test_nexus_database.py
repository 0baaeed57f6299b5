"""``database.engine: postgresql`` against a real PostgreSQL, and the data disk growing in place.

A real server (Debian's ``postgresql``), started by the test on 127.0.0.1 with TLS,
stands in for TencentDB; its ``nexus`` role has what TencentDB's root account has
(LOGIN, CREATEDB).  What the stack renders is used as it is:

- the ``-database`` host step's script, run with bash and the real ``psql``, creates
  the database, proves the connection is encrypted, and is idempotent;
- the datastore settings (``etc/fabric/nexus-store.properties``) are read back with
  ``java.util.Properties.load``, as Nexus reads its properties files, and handed to the
  same JDBC driver Nexus uses (pgjdbc, Debian ``libpostgresql-jdbc-java``): the URL,
  user, password, database and TLS mode connect; awkward values survive the escaping;
- the container step installs that file in the data directory as Nexus's uid (0600),
  never puts it in the container's environment, and follows no link planted there;
- the H2 guard and the migration run against stub ``docker``/``curl`` that record
  their arguments: the password never reaches a command line.

The filesystem growth runs on a real loop device.  This sandbox refuses the online
resize ioctl ("Permission denied to resize filesystem", measured), so ``RESIZE2FS``
points at a wrapper that unmounts, runs the real ``resize2fs`` and remounts: the
script's device lookup, size check and call are real, the online part is not.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from components import host_layout
from components.render import nexus as render_nexus
from components.render import nexus_database as render_database
from tests.support.nexus_container import Container
from tests.support.postgres import MIGRATOR, MIGRATOR_JAR, install, migration_host, run_database_step, tool
from tests.support.settings import DATABASE_PASSWORD as PASSWORD
from tests.support.settings import database_settings

PGJDBC = "/usr/share/java/postgresql.jar"

JDBC_PROBE = """
import java.sql.*;
import java.util.Properties;

public class Probe {
    public static void main(String[] args) throws Exception {
        // nexus-store.properties as Nexus loads a properties file (java.util.Properties.load).
        Properties store = new Properties();
        try (java.io.InputStream in = new java.io.FileInputStream(args[0])) {
            store.load(in);
        }
        if (args.length > 1) {  // print every value, as UTF-16 code units in hex
            for (String key : new java.util.TreeSet<>(store.stringPropertyNames())) {
                StringBuilder hex = new StringBuilder();
                for (char c : store.getProperty(key).toCharArray()) hex.append(String.format("%04x", (int) c));
                System.out.println(key + "=" + hex);
            }
            return;
        }
        String url = store.getProperty("jdbcUrl");
        Properties props = new Properties();
        props.setProperty("user", store.getProperty("username"));
        props.setProperty("password", store.getProperty("password"));
        try (Connection c = DriverManager.getConnection(url, props);
             ResultSet r = c.createStatement().executeQuery(
                 "SELECT current_user, current_database(), ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
            r.next();
            System.out.println(r.getString(1) + " " + r.getString(2) + " ssl=" + r.getBoolean(3));
        }
    }
}
"""


def jdbc_probe(tmp_path: Path, properties_text: str, *extra: str) -> subprocess.CompletedProcess:
    source = tmp_path / "Probe.java"
    source.write_text(JDBC_PROBE)
    store = tmp_path / "nexus-store.properties"
    store.write_text(properties_text, encoding="latin-1")  # what the host step writes is ASCII
    return subprocess.run([tool("java"), "-cp", tool(PGJDBC), str(source), str(store), *extra],
                          env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, timeout=120)


def test_the_database_step_creates_the_database_over_tls_and_is_idempotent(postgres, tmp_path):
    settings = database_settings()
    first = run_database_step(tmp_path, settings, postgres["port"], create=True)
    assert first.returncode == 0, first.stderr
    assert "creating database nexus" in first.stdout
    assert "nexus@127.0.0.1" in first.stdout and "(ssl: t)" in first.stdout
    second = run_database_step(tmp_path, settings, postgres["port"], create=True)
    assert second.returncode == 0, second.stderr
    assert "database nexus exists" in second.stdout and "creating" not in second.stdout
    owner = postgres["as_postgres"](
        tool("psql"), "-h", str(postgres["sockets"]), "-p", str(postgres["port"]), "-tAc",
        "SELECT pg_get_userbyid(datdba) || ' ' || pg_encoding_to_char(encoding) FROM pg_database "
        "WHERE datname = 'nexus'",
    ).stdout.strip()
    assert owner == "nexus UTF8"


def test_the_rendered_datastore_settings_connect_as_nexus_reads_them(postgres, tmp_path):
    settings = database_settings()
    assert run_database_step(tmp_path, settings, postgres["port"], create=True).returncode == 0
    store = render_database.datastore_properties("127.0.0.1", postgres["port"], settings.database.name,
                                                 settings.database.user, PASSWORD, settings.database.ssl_mode)
    probe = jdbc_probe(tmp_path, store)
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert probe.stdout.strip() == "nexus nexus ssl=true"
    # The same settings with a wrong password are refused by the server: the probe is not a no-op.
    wrong = render_database.datastore_properties("127.0.0.1", postgres["port"], settings.database.name,
                                                 settings.database.user, PASSWORD + "x", settings.database.ssl_mode)
    refused = jdbc_probe(tmp_path, wrong)
    assert refused.returncode != 0 and "password authentication failed" in refused.stderr


@pytest.mark.parametrize("value", [
    "Nx_pass-(word)+42^", "a=b:c#d!e", "\\back\\slash\\", " leading space", "trailing space ", "tab\there",
    "#comment-looking", "!bang", "caf\u00e9 \u5bc6\u7801 \U0001f511", "=:", "x\\",
])
def test_every_value_reads_back_as_it_was_written(tmp_path, value):
    text = render_database.datastore_properties("db.internal", 5432, "nexus", "nexus", value, "require")
    assert text.isascii() and len(text.splitlines()) == 6
    loaded = jdbc_probe(tmp_path, text, "--dump")
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    values = dict(line.split("=", 1) for line in loaded.stdout.split())
    decoded = {key: bytes.fromhex(units).decode("utf-16-be") for key, units in values.items()}
    assert decoded == {"name": "nexus", "type": "jdbc", "jdbcUrl": "jdbc:postgresql://db.internal:5432/nexus?sslmode=require",
                       "username": "nexus", "password": value}


def test_an_existing_servers_database_is_checked_not_created_and_its_tls_state_reported(postgres, tmp_path):
    # The "plain" role may connect without TLS; sslmode=disable shows the check reads pg_stat_ssl.
    settings = database_settings(host="127.0.0.1", port=postgres["port"], name="plaindb", user="plain",
                                 sslMode="disable")
    result = run_database_step(tmp_path, settings, postgres["port"], create=False)
    assert result.returncode == 0, result.stderr
    assert "(ssl: f)" in result.stdout and "creating" not in result.stdout
    # An existing server's database must exist: the step never creates one there.
    missing = database_settings(host="127.0.0.1", port=postgres["port"], name="nosuchdb", user="plain",
                                sslMode="disable")
    failed = run_database_step(tmp_path, missing, postgres["port"], create=False,
                               extra_env={"DB_READY_TIMEOUT": "2"})
    assert failed.returncode != 0 and 'database "nosuchdb" does not exist' in failed.stderr


def test_a_wrong_password_fails_the_step_with_the_servers_message(postgres, tmp_path):
    settings = database_settings()
    files = render_database.database_files(settings, "127.0.0.1", postgres["port"], create_database=True)
    placed = install(tmp_path, files)
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(render_database.pgpass("127.0.0.1", postgres["port"], "nexus", "Wrong-password-1"))
    pgpass.chmod(0o600)
    result = subprocess.run(
        ["bash", str(placed[render_database.DATABASE_SCRIPT])],
        env={**os.environ, "PGPASS_FILE": str(pgpass), "NEXUS_DATA_DIR": str(tmp_path), "DB_READY_TIMEOUT": "2",
             "DB_READY_INTERVAL": "1"},
        capture_output=True, text=True,
    )
    assert result.returncode != 0
    assert "password authentication failed" in result.stderr
    assert "Wrong-password-1" not in result.stdout + result.stderr


def test_an_h2_data_directory_is_refused_without_the_migration_setting(postgres, tmp_path):
    settings = database_settings()
    (tmp_path / "nexus-data" / "db").mkdir(parents=True)
    (tmp_path / "nexus-data" / "db" / "nexus.mv.db").write_text("h2")
    result = run_database_step(tmp_path, settings, postgres["port"], create=True)
    assert result.returncode != 0
    assert "holds this Nexus's data in H2" in result.stderr and "database.migrateFromH2" in result.stderr
    assert (tmp_path / "nexus-data" / "db" / "nexus.mv.db").exists()


def test_a_migrator_other_than_the_one_the_stack_names_is_never_run_and_nexus_keeps_running(postgres, tmp_path):
    settings = database_settings(**MIGRATOR, migratorSha256=hashlib.sha256(b"another jar").hexdigest())
    host = migration_host(tmp_path, postgres["port"])
    result = run_database_step(tmp_path, settings, postgres["port"], create=True, extra_env=host.env)
    assert result.returncode != 0
    assert f"has SHA-256 {hashlib.sha256(MIGRATOR_JAR).hexdigest()}" in result.stderr
    assert "database.migratorSha256 says" in result.stderr and "not run" in result.stderr
    recorded = host.calls.read_text()
    assert "stop " not in recorded and "run " not in recorded  # Nexus untouched, the jar never ran
    assert (host.db_dir / "nexus.mv.db").read_text() == "h2 data"
    assert not (host.db_dir / "migrated-to-postgresql").exists()
    assert not list((tmp_path / "nexus-data").glob("db-h2-before-postgresql-*"))


def test_the_migration_stops_nexus_keeps_a_copy_and_never_puts_the_password_on_a_command_line(postgres, tmp_path):
    settings = database_settings(**MIGRATOR, migratorSha256=hashlib.sha256(MIGRATOR_JAR).hexdigest())
    host = migration_host(tmp_path, postgres["port"])
    db_dir = host.db_dir
    result = run_database_step(tmp_path, settings, postgres["port"], create=True, extra_env=host.env)
    assert result.returncode == 0, result.stderr
    recorded = host.calls.read_text()
    assert ("https://download.sonatype.com/nexus/nxrm3-migrator/nexus-db-migrator-"
            f"{MIGRATOR['migratorVersion']}.jar") in recorded
    assert "stop --time 120 nexus" in recorded
    assert "@/migrator/args" in recorded and "--entrypoint java" in recorded
    assert PASSWORD not in recorded and "password" not in recorded
    assert (tmp_path / "seen-args").read_text() == host.args_file.read_text()
    assert not (db_dir / "nexus.mv.db").exists() and (db_dir / "nexus.mv.db.migrated").read_text() == "h2 data"
    assert (db_dir / "migrated-to-postgresql").exists()
    # Nexus stays stopped for the container step, which starts it on PostgreSQL: the flag is pinned for it,
    # so no watchdog starts the H2 Nexus on a data directory whose H2 file is renamed.
    assert (tmp_path / "state" / "maintenance").read_text() == f"0 {host_layout.MIGRATION_PIN}\n"
    copies = list((tmp_path / "nexus-data").glob("db-h2-before-postgresql-*"))
    assert len(copies) == 1 and (copies[0] / "nexus.mv.db").read_text() == "h2 data"
    # Once migrated, later runs leave it alone.
    again = run_database_step(tmp_path, settings, postgres["port"], create=True, extra_env=host.env)
    assert again.returncode == 0 and "migrating" not in again.stdout


@pytest.fixture
def loop_disk(tmp_path):
    image = tmp_path / "disk.img"
    subprocess.run(["truncate", "-s", "64M", str(image)], check=True)
    device = subprocess.run([tool("losetup"), "-f", "--show", str(image)], check=True, capture_output=True,
                            text=True).stdout.strip()
    mount_point = tmp_path / "mnt"
    mount_point.mkdir()
    try:
        subprocess.run(["mkfs.ext4", "-q", device], check=True)
        subprocess.run(["mount", device, str(mount_point)], check=True)
        (mount_point / "blob").write_text("kept")
        yield image, device, mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], capture_output=True)
        subprocess.run(["losetup", "-d", device], capture_output=True)


def filesystem_mib(mount_point: Path) -> int:
    stats = os.statvfs(mount_point)
    return stats.f_blocks * stats.f_frsize // (1024 * 1024)


def test_a_grown_disk_gets_a_grown_filesystem_and_keeps_its_data(loop_disk, tmp_path):
    image, device, mount_point = loop_disk
    settings = database_settings()
    script = install(tmp_path, render_nexus.prepare_disk_files(settings, "disk-12345678"))[
        render_nexus.PREPARE_DISK_SCRIPT]
    # The sandbox refuses the online-resize ioctl: unmount, resize for real, remount (see module docstring).
    wrapper = tmp_path / "resize2fs-offline"
    wrapper.write_text(f"#!/usr/bin/env bash\nset -e\numount {mount_point}\ne2fsck -fp \"$1\" >/dev/null || true\n"
                       f"out=$(resize2fs \"$1\" 2>&1)\nmount \"$1\" {mount_point}\necho \"$out\"\n")
    wrapper.chmod(0o755)
    env = {**os.environ, "NEXUS_PREPARE_STEPS": "grow", "NEXUS_DATA_DISK_KIND": "device",
           "NEXUS_DATA_DISK": device, "NEXUS_MOUNT_POINT": str(mount_point), "NEXUS_DATA_DISK_GB": "",
           "RESIZE2FS": str(wrapper), "DISK_WAIT_SECONDS": "0"}
    before = filesystem_mib(mount_point)
    unchanged = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert unchanged.returncode == 0, unchanged.stderr
    assert "grew" not in unchanged.stdout and filesystem_mib(mount_point) == before
    subprocess.run(["truncate", "-s", "128M", str(image)], check=True)
    subprocess.run(["losetup", "-c", device], check=True)
    grown = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert grown.returncode == 0, grown.stderr
    assert "grew the ext4 filesystem" in grown.stdout
    assert filesystem_mib(mount_point) > before * 1.8
    assert (mount_point / "blob").read_text() == "kept"


def test_a_disk_smaller_than_the_setting_is_reported(loop_disk, tmp_path):
    _, device, mount_point = loop_disk
    script = install(tmp_path, render_nexus.prepare_disk_files(database_settings(), "disk-1"))[
        render_nexus.PREPARE_DISK_SCRIPT]
    env = {**os.environ, "NEXUS_PREPARE_STEPS": "grow", "NEXUS_DATA_DISK_KIND": "device", "NEXUS_DATA_DISK": device,
           "NEXUS_MOUNT_POINT": str(mount_point), "NEXUS_DATA_DISK_GB": "1", "RESIZE2FS": "true"}
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "less than server.dataDiskGb=1" in result.stderr


# --- the container step: the datastore file in the data directory, nothing in the environment -----


def test_the_container_gets_its_datastore_from_a_file_nexus_owns_and_never_from_its_environment(start_nexus):
    settings = database_settings()
    nexus_uid = render_nexus.NEXUS_UID
    # Not under pytest's root-only directories: the file is written as Nexus's uid, which must get there.
    base = Path(tempfile.mkdtemp(prefix="nexus-registry-datastore-"))
    os.chmod(base, 0o755)
    nexus = start_nexus()
    try:
        container = Container(base, nexus)
        os.chown(container.data, nexus_uid, nexus_uid)  # as the prepare-disk step leaves it
        secrets = base / "secrets"
        secrets.mkdir(mode=0o700)
        source = secrets / "nexus-store.properties"
        source.write_text(render_database.datastore_properties("10.0.0.5", 5432, "nexus", "nexus", PASSWORD, "require"))
        source.chmod(0o600)
        legacy = secrets / "nexus-datastore.env"
        legacy.write_text(f"NEXUS_DATASTORE_NEXUS_PASSWORD={PASSWORD}\n")
        env = {"DATASTORE_PROPERTIES": str(source), "LEGACY_DATASTORE_ENV": str(legacy), "NEXUS_UID": str(nexus_uid)}

        first = container.run(settings, **env)
        assert first.returncode == 0, first.stderr
        store = container.data / "etc" / "fabric" / "nexus-store.properties"
        info = store.stat()
        assert store.read_text() == source.read_text()
        assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (nexus_uid, nexus_uid, 0o600)
        assert "datastore settings written" in first.stdout and not legacy.exists()
        # docker sees no datastore setting at all: no env file, no variable, no password anywhere.
        calls = container.log.read_text()
        assert PASSWORD not in calls and "--env-file" not in calls and "NEXUS_DATASTORE" not in calls
        (create_call,) = container.calls("create")
        variables = [create_call[i + 1] for i, arg in enumerate(create_call) if arg == "--env"]
        assert len(variables) == 1 and variables[0].startswith("INSTALL4J_ADD_VM_PARAMS=")

        again = container.run(settings, **env)
        assert again.returncode == 0 and "written" not in again.stdout and "up to date" in again.stdout

        # The data directory is the container's: a link planted in place of the file is replaced,
        # never followed by root, and a new password restarts Nexus on the new file.
        victim = base / "victim"
        victim.write_text("root's own file\n")
        store.unlink()
        store.symlink_to(victim)
        source.write_text(
            render_database.datastore_properties("10.0.0.5", 5432, "nexus", "nexus", "New_pass-1", "require"))
        changed = container.run(settings, **env)
        assert changed.returncode == 0, changed.stderr
        assert victim.read_text() == "root's own file\n" and victim.stat().st_uid == 0
        assert not store.is_symlink() and "password=New_pass-1\n" in store.read_text()
        assert len(container.calls("create")) == 2
    finally:
        shutil.rmtree(base, ignore_errors=True)
