"""The container script (nexus-container.sh) against a stub ``docker`` that keeps container state in a file.

``Container(tmp_path, nexus)`` holds the data directory, a ``/proc/meminfo`` stand-in (a nominal 8 GB
CVM), the stub and its call log; ``run(settings, **env)`` renders and runs the script against the
fake Nexus, ``calls("run")`` lists what docker was asked.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from components.render import nexus as render
from tests.fakes.nexus import FakeNexus
from tests.support.host_scripts import run, write_script
from tests.support.settings import make_settings

FAKE_DOCKER = r'''
import json, os, sys
state_file, log_file = os.environ["FAKE_DOCKER_STATE"], os.environ["FAKE_DOCKER_LOG"]
state = json.load(open(state_file)) if os.path.exists(state_file) else {}  # name -> container
args = sys.argv[1:]
with open(log_file, "a") as log:
    log.write(json.dumps(args) + "\n")
command, name = args[0], args[-1]
if command == "info":  # dockerd answers unless FAKE_DOCKERD_DOWN names an existing file
    sys.exit(1 if os.path.exists(os.environ.get("FAKE_DOCKERD_DOWN", "/nonexistent")) else 0)
def missing():
    print(f"Error: No such container: {name}", file=sys.stderr); sys.exit(1)
if command == "inspect":
    if name not in state:
        missing()
    if len(args) == 2:  # docker inspect NAME: the whole object
        print(json.dumps([state[name]])); sys.exit(0)
    template = args[2]
    if ".State.Status" in template:
        print(state[name]["status"])
    elif ".RestartCount" in template:
        print(state[name].get("restarts", 0))
    else:
        label = template.split('"')[1]
        print(state[name]["labels"].get(label, "<no value>"))
elif command == "image":  # image inspect --format '{{ index .Config.Labels "release" }}' IMAGE
    print(os.environ.get("FAKE_DOCKER_IMAGE_RELEASE") or args[-1].split(":")[1].split("-")[0].split("@")[0])
elif command == "pull":
    sys.exit(1 if os.environ.get("FAKE_DOCKER_PULL_FAILS") else 0)
elif command == "create":
    created = args[args.index("--name") + 1]
    if created in state:
        print(f"Error: the name {created} is already in use", file=sys.stderr); sys.exit(1)
    labels = dict(a.split("=", 1) for o, a in zip(args, args[1:]) if o == "--label")
    state[created] = {"status": "created", "labels": labels, "image": args[-1],
                      "restarts": int(os.environ.get("FAKE_DOCKER_RESTARTS", "0"))}
elif command == "rename":
    if args[1] not in state or args[2] in state:
        print("Error: cannot rename", file=sys.stderr); sys.exit(1)
    state[args[2]] = state.pop(args[1])
elif command in ("stop", "start", "rm", "logs") and name not in state:
    missing()
elif command == "stop":
    state[name]["status"] = "exited"
elif command == "start":
    if state[name]["image"] == os.environ.get("FAKE_DOCKER_START_FAILS"):
        print("Error: port is already allocated", file=sys.stderr); sys.exit(1)
    state[name]["status"] = os.environ.get("FAKE_DOCKER_RUN_STATUS", "running") \
        if state[name]["status"] == "created" else "running"
elif command == "rm":
    del state[name]
elif command == "logs":
    print("fake nexus log: line 1\nfake nexus log: line 2")
json.dump(state, open(state_file, "w"))
'''

GIB = 1024 * 1024  # kB


def stub_docker(path: Path) -> Path:
    """FAKE_DOCKER as an executable at ``path`` (its state in $FAKE_DOCKER_STATE, its calls in $FAKE_DOCKER_LOG)."""
    path.write_text(f"#!{sys.executable}\n{FAKE_DOCKER}")
    path.chmod(0o755)
    return path


class Container:
    def __init__(self, tmp_path: Path, nexus: FakeNexus):
        self.tmp_path = tmp_path
        self.nexus = nexus
        self.data = tmp_path / "nexus-data"
        self.data.mkdir()
        self.meminfo = tmp_path / "meminfo"
        # What a nominal 8 GB CVM reports.
        self.meminfo.write_text(f"MemTotal:       {int(7.6 * GIB)} kB\nMemFree:         100000 kB\n")
        self.docker = stub_docker(tmp_path / "docker")
        self.state = tmp_path / "docker-state.json"
        self.log = tmp_path / "docker.log"
        self.state_dir = tmp_path / "state"
        self.flag = self.state_dir / "maintenance"

    def env(self, **env: str) -> dict[str, str]:
        return {"DOCKER": str(self.docker), "FAKE_DOCKER_STATE": str(self.state),
                "FAKE_DOCKER_LOG": str(self.log), "NEXUS_DATA_DIR": str(self.data),
                "NEXUS_UID": str(os.getuid()), "MEMINFO_FILE": str(self.meminfo),
                "NEXUS_URL": self.nexus.url, "NEXUS_READY_TIMEOUT": "3",
                "NEXUS_READY_INTERVAL": "0.1", "NEXUS_STATE_DIR": str(self.state_dir),
                "MAINTENANCE_FLAG": str(self.flag), **env}

    def script(self, settings=None) -> Path:
        return write_script(self.tmp_path, render.container_files(settings or make_settings("dev"))[0])

    def run(self, settings=None, **env: str):
        return run(self.script(settings), self.env(**env))

    def containers(self) -> dict:
        return json.loads(self.state.read_text()) if self.state.exists() else {}

    def set_status(self, name: str, status: str) -> None:
        state = self.containers()
        state[name]["status"] = status
        self.state.write_text(json.dumps(state))

    def calls(self, command: str | None = None) -> list[list[str]]:
        calls = [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []
        return [c for c in calls if command is None or c[0] == command]
