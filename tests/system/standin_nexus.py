"""Entrypoint of the stand-in for ``sonatype/nexus3`` in the fresh-host tests (runs inside the container).

The real image is 700 MB and needs Docker Hub; the fresh-host test builds this
one offline instead and serves, on the ports Nexus publishes:

- 8081: the project's fake Nexus REST API (``tests.fakes.nexus.FakeNexus``), which
  validates every bootstrap request with the models of ``nexus-api-client``;
  like Nexus it writes a generated admin password to ``/nexus-data/admin.password``
  on its first start;
- 8002 ``docker-hosted``: Debian's ``docker-registry`` (CNCF distribution),
  writable, storage under ``/nexus-data``;
- 8003 ``docker-group``: a ``docker-registry`` in pull-through mode on the same
  storage (serves what was pushed to hosted, and fetches anything else from the
  Docker Hub stand-in), read-only like Nexus's group;
- 8001 ``docker-proxy``: a pull-through ``docker-registry`` of the Docker Hub stand-in;
- 127.0.0.1:5000 (inside the container only): the Docker Hub stand-in, a
  read-only ``docker-registry`` whose storage was seeded with ``library/busybox``
  when the image was built (no internet here).

Nothing here is credential-checked except the fake Nexus REST API: the
registries accept anonymous pushes and pulls (see the test module).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, "/opt/standin/app")

DATA = Path("/nexus-data")
HUB_STORAGE = "/var/lib/standin/dockerhub"


def registry(name: str, listen: str, storage: str, *, readonly: bool = False, remote: str | None = None):
    config: dict = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
        "storage": {
            "filesystem": {"rootdirectory": storage},
            "maintenance": {"readonly": {"enabled": readonly}, "uploadpurging": {"enabled": False}},
            "delete": {"enabled": True},
        },
        "http": {"addr": listen, "secret": f"standin-{name}"},
    }
    if remote:
        config["proxy"] = {"remoteurl": remote}
    path = Path(f"/tmp/registry-{name}.yml")
    path.write_text(json.dumps(config))  # YAML is a superset of JSON
    log = open(f"/tmp/registry-{name}.log", "ab")  # noqa: SIM115 (the child keeps it)
    return subprocess.Popen(["/usr/bin/docker-registry", "serve", str(path)], stdout=log, stderr=subprocess.STDOUT)


def wait(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    from tests.fakes.nexus import FakeNexus

    hosted = str(DATA / "blobs" / "docker")
    Path(hosted).mkdir(parents=True, exist_ok=True)
    children = [registry("dockerhub", "127.0.0.1:5000", HUB_STORAGE, readonly=True)]
    wait("http://127.0.0.1:5000/v2/")  # a pull-through registry checks its upstream when it starts
    children += [
        registry("hosted", "0.0.0.0:8002", hosted),
        registry("group", "0.0.0.0:8003", hosted, remote="http://127.0.0.1:5000"),
        registry("proxy", "0.0.0.0:8001", str(DATA / "blobs" / "docker-proxy"), remote="http://127.0.0.1:5000"),
    ]
    for port in (8001, 8002, 8003):
        wait(f"http://127.0.0.1:{port}/v2/")

    # Like Nexus: a generated admin password on the first start, in the data directory.
    password_file = DATA / "admin.password"
    state_file = DATA / "standin-admin-password"
    if state_file.exists():
        password = state_file.read_text()
    else:
        password = secrets.token_urlsafe(16)
        state_file.write_text(password)
        os.chmod(state_file, 0o600)
        password_file.write_text(password)
    nexus = FakeNexus(admin_password=password)
    nexus.start(host="0.0.0.0", port=8081)
    print("stand-in nexus: started", flush=True)
    try:
        while all(child.poll() is None for child in children):
            # Keep the current admin password across a container restart, as Nexus's database does.
            if state_file.read_text() != nexus.admin_password:
                state_file.write_text(nexus.admin_password)
            if nexus.errors:
                print(f"stand-in nexus: rejected requests: {nexus.errors}", flush=True)
                nexus.errors.clear()
            time.sleep(0.5)
    finally:
        for child in children:
            child.terminate()
    sys.exit("stand-in nexus: a registry process exited")


if __name__ == "__main__":
    main()
