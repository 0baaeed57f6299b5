"""`nexus-watchdog.sh` run for real (bash, flock) against the stub docker of the container tests.

What the timer's service does every minute (issue 21, item 5): start an exited container, re-create
a missing one with the container step's script, start dockerd when it does not answer, and nothing
while a live command holds the maintenance flag (a stale flag is taken back).  The same script on
a fresh host with a real dockerd: tests/system/test_host_faults_container.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from components.render import nexus_watchdog
from tests.support.host_scripts import run, stub, write_script
from tests.support.nexus_container import FAKE_DOCKER, stub_docker
from tests.support.settings import make_settings


class Watchdog:
    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.docker = stub_docker(tmp_path / "docker")
        self.docker_state = tmp_path / "docker-state.json"
        self.docker_log = tmp_path / "docker.log"
        self.state_dir = tmp_path / "state"
        self.flag = self.state_dir / "maintenance"
        self.state_file = self.state_dir / "watchdog.state"
        self.down = tmp_path / "dockerd-down"
        # The container step's script: records that it ran and creates the container.
        self.container_script = tmp_path / "nexus-container.sh"
        stub(tmp_path, "nexus-container.sh",
             f'echo ran >>{tmp_path}/container-script.log\n'
             f'"$DOCKER" create --name nexus sonatype/nexus3:3.98.0 && "$DOCKER" start nexus\n')
        stub(tmp_path / "bin", "systemctl", f'echo "$*" >>{tmp_path}/systemctl.log\nrm -f {self.down}\n')
        self.script = write_script(tmp_path, nexus_watchdog.host_files(make_settings("dev"))[0])

    def container(self, status: str | None) -> None:
        state = {} if status is None else {"nexus": {"status": status, "labels": {}, "image": "x"}}
        self.docker_state.write_text(json.dumps(state))

    def status(self) -> str | None:
        return json.loads(self.docker_state.read_text()).get("nexus", {}).get("status")

    def run(self):
        return run(self.script, {"DOCKER": str(self.docker), "FAKE_DOCKER_STATE": str(self.docker_state),
                                 "FAKE_DOCKER_LOG": str(self.docker_log), "FAKE_DOCKERD_DOWN": str(self.down),
                                 "NEXUS_STATE_DIR": str(self.state_dir), "MAINTENANCE_FLAG": str(self.flag),
                                 "WATCHDOG_STATE": str(self.state_file), "SYSTEMCTL": "systemctl",
                                 "NEXUS_CONTAINER_SCRIPT": str(self.container_script),
                                 "DOCKER_START_TIMEOUT": "5"}, bin_dir=self.tmp_path / "bin")

    def recorded(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self.state_file.read_text().splitlines())

    def calls(self, command: str) -> list[list[str]]:
        text = self.docker_log.read_text() if self.docker_log.exists() else ""
        return [call for call in map(json.loads, text.splitlines()) if call[0] == command]


@pytest.fixture
def watchdog(tmp_path):
    return Watchdog(tmp_path)


@pytest.mark.parametrize("status", ["exited", "created", "dead"])
def test_watchdog_starts_a_container_that_is_not_running(watchdog, status):
    watchdog.container(status)
    result = watchdog.run()
    assert result.returncode == 0, result.stderr
    assert f"nexus-watchdog: started container nexus (it was {status})" in result.stdout
    assert watchdog.status() == "running"
    recorded = watchdog.recorded()
    assert recorded["result"] == "acted" and recorded["action"] == f"started container nexus (it was {status})"


def test_watchdog_leaves_a_running_container_alone_and_keeps_the_last_action(watchdog):
    watchdog.container("exited")
    watchdog.run()
    action_at = watchdog.recorded()["action_at"]
    result = watchdog.run()
    assert result.returncode == 0 and result.stdout == ""
    assert watchdog.calls("start") == [["start", "nexus"]]
    recorded = watchdog.recorded()
    assert recorded["result"] == "ok" and recorded["message"] == "container nexus is running"
    assert recorded["action_at"] == action_at and recorded["action"] == "started container nexus (it was exited)"


def test_watchdog_recreates_a_missing_container_with_the_container_script(watchdog):
    watchdog.container(None)
    result = watchdog.run()
    assert result.returncode == 0, result.stderr
    assert (watchdog.tmp_path / "container-script.log").read_text() == "ran\n"
    assert "re-created container nexus (it was missing)" in result.stdout and watchdog.status() == "running"


def test_watchdog_starts_dockerd_when_it_does_not_answer(watchdog):
    watchdog.container("exited")
    watchdog.down.touch()
    result = watchdog.run()
    assert result.returncode == 0, result.stderr
    assert (watchdog.tmp_path / "systemctl.log").read_text() == "start docker\n"
    assert "started dockerd (it did not answer)" in result.stdout and watchdog.status() == "running"


def test_watchdog_leaves_nexus_alone_while_a_live_command_holds_maintenance(watchdog):
    watchdog.container("exited")
    watchdog.state_dir.mkdir()
    owner = subprocess.Popen(["sleep", "60"])
    try:
        watchdog.flag.write_text(f"{owner.pid} nexus-restore.sh\n")
        result = watchdog.run()
    finally:
        owner.kill()
        owner.wait()
    assert result.returncode == 0
    assert f"maintenance: {owner.pid} nexus-restore.sh holds" in result.stdout
    assert watchdog.status() == "exited" and watchdog.calls("start") == []
    assert watchdog.recorded()["result"] == "maintenance"
    assert watchdog.flag.exists()


def test_watchdog_leaves_nexus_stopped_under_a_restore_s_pinned_flag(watchdog):
    # A restore that failed with Nexus stopped and its database not whole pins the flag (no live owner):
    # starting Nexus there would start it on a partial database.
    watchdog.container("exited")
    watchdog.state_dir.mkdir()
    pin = "0 nexus-restore.sh /root/backup: unfinished; Nexus stays stopped until a restore succeeds\n"
    watchdog.flag.write_text(pin)
    result = watchdog.run()
    assert result.returncode == 0, result.stderr
    assert "maintenance: 0 nexus-restore.sh /root/backup: unfinished" in result.stdout
    assert watchdog.status() == "exited" and watchdog.calls("start") == []
    assert watchdog.flag.read_text() == pin


def test_watchdog_does_not_start_nexus_when_a_restore_takes_maintenance_while_dockerd_starts(watchdog):
    # dockerd was killed; the watchdog starts it (which takes a while) and a restore takes the flag meanwhile:
    # the start must not follow, or Nexus would run while its database is replaced.
    watchdog.container("exited")
    watchdog.down.touch()
    owner = subprocess.Popen(["sleep", "60"])
    try:
        stub(watchdog.tmp_path / "bin", "systemctl",
             f'echo "$*" >>{watchdog.tmp_path}/systemctl.log\n'
             f'mkdir -p {watchdog.state_dir}\necho "{owner.pid} nexus-restore.sh snapshot" >{watchdog.flag}\n'
             f'rm -f {watchdog.down}\n')
        result = watchdog.run()
    finally:
        owner.kill()
        owner.wait()
    assert result.returncode == 0, result.stderr
    assert f"{owner.pid} nexus-restore.sh snapshot took" in result.stdout and "leaving Nexus alone" in result.stdout
    assert watchdog.status() == "exited" and watchdog.calls("start") == []


def test_watchdog_takes_back_a_stale_maintenance_flag(watchdog):
    watchdog.container("exited")
    watchdog.state_dir.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    watchdog.flag.write_text(f"{dead.pid} nexus-container.sh\n")
    result = watchdog.run()
    assert result.returncode == 0, result.stderr
    assert f"took back a stale maintenance flag (its command is gone: {dead.pid} nexus-container.sh)" in result.stdout
    assert not watchdog.flag.exists() and watchdog.status() == "running"


def test_watchdog_reports_a_container_it_cannot_start(watchdog):
    watchdog.container("exited")
    watchdog.docker.write_text(f"#!/bin/sh\n[ \"$1\" = start ] && exit 1\nexec {sys.executable} - \"$@\" <<'X'\n"
                               f"{FAKE_DOCKER}\nX\n")
    result = watchdog.run()
    assert result.returncode == 1 and "docker start failed" in result.stderr
    assert watchdog.recorded()["result"] == "failed"
