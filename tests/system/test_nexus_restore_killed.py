"""`nexus-restore.sh` killed half-way, then the watchdog: Nexus stays stopped until a restore succeeds.

The restore (rendered, run for real with bash, flock, unzip) against the stub docker of the container
tests and the fake Nexus; ``unzip`` is shadowed by a wrapper that holds the restore where it writes the
database (its fifth call: the first four check the archive while Nexus still runs), so the test
can SIGKILL it there, as the OOM killer or a power cut would.  Without a pin made before Nexus stopped,
the flag's owner is dead, the watchdog takes the flag back and starts Nexus on a half-written database.
The same restore on a fresh host, with a real dockerd: tests/system/test_host_faults_restore.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import zipfile
from pathlib import Path

from components.render import nexus_operator_tools, nexus_watchdog
from tests.support.host_scripts import run, stub, write_script
from tests.support.nexus_container import stub_docker
from tests.support.settings import make_settings

HOLD_UNZIP = r"""
count=$(( $(cat "$UNZIP_COUNT" 2>/dev/null || echo 0) + 1 ))
echo "$count" >"$UNZIP_COUNT"
if [[ " $* " == *" -p "* && $count -ge ${UNZIP_HOLD_AT:-1000} && ! -e $UNZIP_HELD ]]; then
  touch "$UNZIP_HELD"
  sleep 120
fi
exec REAL_UNZIP "$@"
"""


class RestoreHost:
    def __init__(self, tmp_path: Path, nexus_url: str):
        self.tmp_path = tmp_path
        self.data = tmp_path / "nexus-data"
        (self.data / "db").mkdir(parents=True)
        (self.data / "db" / "nexus.mv.db").write_bytes(b"the database before the restore")
        backups = self.data / "db-backup"
        backups.mkdir()
        with zipfile.ZipFile(backups / "nexus-2026-12-07-01-00-00.zip", "w") as archive:
            archive.writestr("nexus.mv.db", b"the database in the backup")
        self.docker = stub_docker(tmp_path / "docker")
        self.docker_state = tmp_path / "docker-state.json"
        self.docker_state.write_text(json.dumps({"nexus": {"status": "running", "labels": {}, "image": "x"}}))
        self.state_dir = tmp_path / "state"
        self.flag = self.state_dir / "maintenance"
        stub(tmp_path / "bin", "unzip", HOLD_UNZIP.replace("REAL_UNZIP", shutil.which("unzip")))
        settings = make_settings("dev")
        self.restore = write_script(tmp_path, nexus_operator_tools.restore_files(settings)[0])
        self.watchdog = write_script(tmp_path, nexus_watchdog.host_files(settings)[0])
        self.env = {
            "DOCKER": str(self.docker), "FAKE_DOCKER_STATE": str(self.docker_state),
            "FAKE_DOCKER_LOG": str(tmp_path / "docker.log"), "NEXUS_DATA_DIR": str(self.data),
            "NEXUS_UID": str(os.getuid()), "NEXUS_BACKUP_DIR": str(backups), "NEXUS_URL": nexus_url,
            "NEXUS_READY_TIMEOUT": "10", "NEXUS_READY_INTERVAL": "0.2", "NEXUS_STOP_TIMEOUT": "1",
            "MAINTENANCE_FLAG": str(self.flag), "NEXUS_STATE_DIR": str(self.state_dir),
            "RESTORE_LOG": str(tmp_path / "restore.log"), "NEXUS_RESTORE_DETACHED": "yes",
            "WATCHDOG_STATE": str(self.state_dir / "watchdog.state"),
            "UNZIP_COUNT": str(tmp_path / "unzip.count"), "UNZIP_HELD": str(tmp_path / "unzip.held"),
            "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        }

    def status(self) -> str:
        return json.loads(self.docker_state.read_text())["nexus"]["status"]

    def run_restore(self, **env: str) -> subprocess.CompletedProcess:
        (self.tmp_path / "unzip.count").unlink(missing_ok=True)
        return subprocess.run(["bash", str(self.restore), "snapshot"], env={**os.environ, **self.env, **env},
                              capture_output=True, text=True, timeout=60)


def test_killed_restore_keeps_nexus_stopped_against_the_watchdog_until_a_restore_succeeds(tmp_path, nexus):
    host = RestoreHost(tmp_path, nexus.url)
    restore = subprocess.Popen(["bash", str(host.restore), "snapshot"], env={**os.environ, **host.env,
                               "UNZIP_HOLD_AT": "5"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    deadline = time.monotonic() + 30
    while not (tmp_path / "unzip.held").exists():
        assert restore.poll() is None, restore.stdout.read()
        assert time.monotonic() < deadline, "the restore never reached the database write"
        time.sleep(0.1)
    assert host.status() == "exited"  # Nexus stopped, the database about to be replaced
    os.killpg(restore.pid, signal.SIGKILL)
    restore.wait()
    restore.stdout.close()

    flag = host.flag.read_text()
    assert flag.startswith("0 nexus-restore.sh snapshot"), flag
    watched = run(host.watchdog, host.env)
    assert watched.returncode == 0, watched.stderr
    assert "leaving Nexus alone" in watched.stdout and host.status() == "exited"
    assert host.flag.read_text() == flag

    again = host.run_restore()
    assert again.returncode == 0, again.stdout + again.stderr
    assert "took over a pinned maintenance flag (0 nexus-restore.sh snapshot" in again.stdout
    assert (host.data / "db" / "nexus.mv.db").read_bytes() == b"the database in the backup"
    assert host.status() == "running" and not host.flag.exists()


def test_a_restore_refuses_to_start_while_dockerd_does_not_answer(tmp_path, nexus):
    host = RestoreHost(tmp_path, nexus.url)
    down = tmp_path / "dockerd-down"
    down.touch()
    result = host.run_restore(FAKE_DOCKERD_DOWN=str(down))
    assert result.returncode != 0 and "dockerd does not answer" in result.stderr
    assert host.status() == "running" and not host.flag.exists()
    assert (host.data / "db" / "nexus.mv.db").read_bytes() == b"the database before the restore"
