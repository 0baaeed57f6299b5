"""What a host script reads from a place the Nexus container (uid 200) may write is hostile input.

DESIGN.md pitfall 18, issue 20 item 3.  The whole Nexus data directory belongs to
the container, ``admin.password`` included, and the scripts run as root:

- the bootstrap's last resort is the generated ``admin.password``.  Before the fix
  its extra lines became curl options (``url = ...`` plus ``output = ...`` wrote a
  body Nexus chose to a path it chose; ``upload-file = ...`` sent a host file to
  Nexus).  Here every hostile form of it, against a server that records every
  request: nothing but the login checks reaches the server, no file is written,
  nothing of the host leaves it, and the run stops naming the file and the reason;
- the container step edits ``etc/nexus.properties`` in the data directory: a link
  placed there must not make root chown, write or disclose anything of the host;
- the database-backup pruning lists the container's ``db-backup`` directory: a file
  name with a newline must not make root delete a file elsewhere;
- the H2-to-PostgreSQL migration renames and writes in ``db/``: links left there must
  not make root write or move a file elsewhere;
- the status report reads the container's request log: a FIFO there must not hang it.

Every test here failed on the scripts before the fix (checked by reverting it once).
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from components.render import nexus as render
from components.render import nexus_operator_tools
from tests.fakes.nexus import FakeNexus
from tests.support.host_scripts import run, write_script
from tests.support.nexus_container import Container
from tests.support.nexus_host import BootstrapHost
from tests.support.postgres import MIGRATOR_JAR, migration_host, run_database_step
from tests.support.settings import ADMIN_PASSWORD, database_settings, make_settings

GENERATED = "6c1b1a8e-2b1f-4f0c-9d0e-3f6a1c2b7d11"  # what Nexus itself writes: a UUID
SECRET = "host-only-secret-7f3a"  # stands for a root-only host file (a key, a database password)
LOGIN_CHECKS = {("GET", "/service/rest/v1/status/writable"), ("GET", "/service/rest/v1/security/users?userId=admin")}


def root_only() -> None:
    if os.geteuid() != 0:
        pytest.fail("files owned by another uid need root (CI runs as root); this test never skips")


@pytest.fixture
def recorded(start_nexus):
    """A fake Nexus whose admin password nobody configured, recording every request that reaches it."""
    fake = start_nexus(admin_password=GENERATED)
    seen: list[tuple[str, str, dict[str, str], bytes]] = []
    handle = fake.handle

    def record(method, path, headers, body):
        seen.append((method, path, dict(headers), body))
        return handle(method, path, headers, body)

    fake.handle = record
    fake.seen = seen
    return fake


def hostile_passwords(url: str, tmp_path: Path) -> dict[str, str | bytes]:
    secret = tmp_path / "host-secret.key"
    return {
        # Issue 20's reproduction: a second URL and where to write its answer.
        "url and output lines": f"x\nurl = {url}/payload\noutput = {tmp_path}/pwned\n#",
        # A host file sent to Nexus.
        "upload-file line": f"x\nupload-file = {secret}\nurl = {url}/upload\n",
        # A quote closes the value curl's config reads; the rest of the line would be parsed.
        "quote and option": f'x" --output {tmp_path}/pwned "\nurl = {url}/payload',
        "1 MB": "A" * (1 << 20),
        "control characters": "pass\x1b[2Jword\r",
        "a NUL byte": b"pass\x00word\nurl = " + url.encode() + b"/payload\n",
        "a tab": "pass\tword",
        "empty": "",
    }


@pytest.mark.parametrize("case", ["url and output lines", "upload-file line", "quote and option", "1 MB",
                                  "control characters", "a NUL byte", "a tab", "empty"])
def test_a_hostile_admin_password_file_never_becomes_a_curl_option(tmp_path, recorded, case):
    (tmp_path / "host-secret.key").write_text(SECRET + "\n")
    host = BootstrapHost(tmp_path / "root", make_settings(), recorded.url)
    value = hostile_passwords(recorded.url, tmp_path)[case]
    if isinstance(value, bytes):
        host.generated_password_file.write_bytes(value)
    else:
        host.generated_password_file.write_text(value)
    result = host.run()
    assert result.returncode != 0, result.stdout
    # Only the configured password was tried; the hostile file was refused before curl saw it.
    assert {(method, path) for method, path, _, _ in recorded.seen} <= LOGIN_CHECKS, recorded.seen
    assert not (tmp_path / "pwned").exists()
    assert recorded.writes == [] and recorded.bodies == []
    for _, _, headers, _ in recorded.seen:
        sent = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        assert SECRET not in base64.b64decode(sent.removeprefix("Basic ") or "").decode(errors="replace")
    error = result.stderr
    assert str(host.generated_password_file) in error
    assert "rejected the configured adminPassword" in error  # the run ends with the clear message it always had
    if case != "empty":
        assert "refusing" in error and any(why in error for why in (
            "more than one line", "longer than", "control character", "NUL byte")), error


def test_a_link_in_place_of_admin_password_is_not_followed(tmp_path, recorded):
    # A one-line root-only file of the host (here: a key) behind a link the container made.
    secret = tmp_path / "host-secret.key"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    host = BootstrapHost(tmp_path / "root", make_settings(), recorded.url)
    host.generated_password_file.symlink_to(secret)
    result = host.run()
    assert result.returncode != 0
    assert "not a regular file" in result.stderr and str(host.generated_password_file) in result.stderr
    for _, _, headers, _ in recorded.seen:
        sent = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        assert SECRET not in base64.b64decode(sent.removeprefix("Basic ")).decode(errors="replace")
    assert secret.read_text() == SECRET + "\n"


def test_a_plain_generated_password_still_works_and_is_removed(tmp_path, recorded):
    host = BootstrapHost(tmp_path / "root", make_settings(), recorded.url)
    host.generated_password_file.write_text(GENERATED + "\n")
    result = host.run()
    assert result.returncode == 0, result.stderr
    assert recorded.admin_password == ADMIN_PASSWORD
    assert not host.generated_password_file.exists()


# --- the container step's nexus.properties -------------------------------------------------------

NEXUS_UID = 4242  # the container's uid in these tests; the scripts run as root


def container_with_data_owned_by_the_container(tmp_path: Path, nexus: FakeNexus) -> Container:
    root_only()
    container = Container(tmp_path, nexus)
    os.chown(container.data, NEXUS_UID, NEXUS_UID)
    return container


def test_a_link_in_place_of_the_etc_directory_makes_root_chown_or_write_nothing(tmp_path, nexus):
    container = container_with_data_owned_by_the_container(tmp_path, nexus)
    victim = tmp_path / "victim"  # stands for /etc or /root/.ssh
    victim.mkdir(mode=0o755)
    (victim / "keep").write_text("root's\n")
    (container.data / "etc").symlink_to(victim)
    result = container.run(NEXUS_CONTAINER_ONLY="spec", NEXUS_UID=str(NEXUS_UID))
    assert result.returncode != 0
    assert "symbolic link" in result.stderr
    assert victim.stat().st_uid == 0 and stat.S_IMODE(victim.stat().st_mode) == 0o755
    assert sorted(p.name for p in victim.iterdir()) == ["keep"]


def test_a_link_in_place_of_nexus_properties_discloses_nothing(tmp_path, nexus):
    container = container_with_data_owned_by_the_container(tmp_path, nexus)
    secret = tmp_path / "shadow"
    secret.write_text(f"root:{SECRET}:19000::::::\n")
    secret.chmod(0o600)
    etc = container.data / "etc"
    etc.mkdir()
    os.chown(etc, NEXUS_UID, NEXUS_UID)
    (etc / "nexus.properties").symlink_to(secret)
    container.run(NEXUS_CONTAINER_ONLY="spec", NEXUS_UID=str(NEXUS_UID))
    properties = etc / "nexus.properties"
    if properties.exists() and not properties.is_symlink():
        assert SECRET not in properties.read_text()
        assert properties.stat().st_uid == NEXUS_UID
    assert secret.read_text() == f"root:{SECRET}:19000::::::\n" and secret.stat().st_uid == 0
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_the_properties_edit_still_works_on_the_containers_own_files(tmp_path, nexus):
    container = container_with_data_owned_by_the_container(tmp_path, nexus)
    etc = container.data / "etc"
    etc.mkdir()
    os.chown(etc, NEXUS_UID, NEXUS_UID)
    (etc / "nexus.properties").write_text("application-port=8081\nnexus.onboarding.enabled=true\n")
    os.chown(etc / "nexus.properties", NEXUS_UID, NEXUS_UID)
    result = container.run(NEXUS_CONTAINER_ONLY="spec", NEXUS_UID=str(NEXUS_UID))
    assert result.returncode == 0, result.stderr
    properties = etc / "nexus.properties"
    assert properties.read_text() == "application-port=8081\nnexus.onboarding.enabled=false\n"
    assert properties.stat().st_uid == NEXUS_UID and stat.S_IMODE(properties.stat().st_mode) == 0o644


# --- the database backups' pruning ---------------------------------------------------------------


def test_a_backup_name_with_newlines_deletes_nothing_outside_the_backup_directory(tmp_path):
    folder = tmp_path / "nexus-data" / "db-backup"
    folder.mkdir(parents=True)
    cwd = tmp_path / "cwd"  # the timer's service runs in /: a name like this would reach /vmlinuz
    cwd.mkdir()
    (cwd / "victim").write_text("a file of the host\n")
    now = time.time()
    for name, age_days in [("nexus-a\nvictim\nb.zip", 10), ("nexus-old.zip", 10), ("nexus-new.zip", 0.1)]:
        (folder / name).write_text("backup")
        os.utime(folder / name, (now - age_days * 86400, now - age_days * 86400))
    script = write_script(tmp_path, nexus_operator_tools.database_backup_files(make_settings("prod"))[0])
    result = subprocess.run(["bash", str(script), "--prune", "3"], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, "NEXUS_BACKUP_DIR": str(folder)}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (cwd / "victim").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["nexus-a\nvictim\nb.zip", "nexus-new.zip"]
    assert "newest nexus-new.zip" in result.stdout


# --- the H2-to-PostgreSQL migration ----------------------------------------------------------------


def test_links_left_in_the_h2_directory_make_the_migration_write_nothing_elsewhere(postgres, tmp_path):
    settings = database_settings(migrateFromH2=True, migratorVersion="3.86.2-01",
                                 migratorSha256=hashlib.sha256(MIGRATOR_JAR).hexdigest())
    host = migration_host(tmp_path, postgres["port"])
    outside = tmp_path / "outside"  # stands for /etc/cron.d
    outside.mkdir()
    (host.db_dir / "migrated-to-postgresql").symlink_to(outside / "nexus-registry-job")  # dangling: "not migrated"
    (host.db_dir / "nexus.mv.db.migrated").symlink_to(outside)
    result = run_database_step(tmp_path, settings, postgres["port"], create=True, extra_env=host.env)
    assert result.returncode == 0, result.stderr
    assert list(outside.iterdir()) == []
    assert (host.db_dir / "nexus.mv.db.migrated").read_text() == "h2 data"
    assert not (host.db_dir / "nexus.mv.db.migrated").is_symlink()
    marker = host.db_dir / "migrated-to-postgresql"
    assert marker.is_file() and not marker.is_symlink()


# --- the status report ---------------------------------------------------------------------------


def test_a_fifo_in_place_of_the_request_log_does_not_hang_the_status_report(tmp_path, start_nexus):
    fake = start_nexus(admin_password=ADMIN_PASSWORD, usage_api=False)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / render.ADMIN_PASSWORD_NAME).write_text(ADMIN_PASSWORD)
    data = tmp_path / "nexus-data"
    (data / "log").mkdir(parents=True)
    os.mkfifo(data / "log" / "request.log")
    script = write_script(tmp_path, nexus_operator_tools.status_files(make_settings("dev"))[0])
    try:
        result = run(script, {"NEXUS_URL": fake.url, "NEXUS_SECRETS_DIR": str(secrets),
                              "NEXUS_DATA_DIR": str(data), "NEXUS_DISK": str(tmp_path),
                              "NGINX_SITE_CONF": str(tmp_path / "absent.conf"), "DOCKER": "false"}, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("nexus-status.sh hung on a FIFO in the container's log directory")
    assert "requests per day" in result.stdout
