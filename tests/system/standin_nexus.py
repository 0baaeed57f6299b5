"""Entrypoint of the stand-in for ``sonatype/nexus3`` in the fresh-host tests (runs inside the container).

The real image is 700 MB and needs Docker Hub; the fresh-host test builds this
one offline instead and serves, on the ports Nexus publishes:

- 8081: the project's fake Nexus REST API (``tests.fakes.nexus.FakeNexus``), which
  validates every bootstrap request with the models of ``nexus-api-client``;
  like Nexus it writes a generated admin password to ``/nexus-data/admin.password``
  when it starts on a new database;
- 8002 ``docker-hosted``: Debian's ``docker-registry`` (CNCF distribution),
  writable, storage in the ``default`` blob store's ``content`` directory, where
  Nexus keeps its blobs (``/nexus-data/blobs/default/content``);
- 8003 ``docker-group``: a ``docker-registry`` in pull-through mode on the same
  storage (serves what was pushed to hosted, and fetches anything else from the
  Docker Hub stand-in), read-only like Nexus's group;
- 8001 ``docker-proxy``: a pull-through ``docker-registry`` of the Docker Hub stand-in;
- 127.0.0.1:5000 (inside the container only): the Docker Hub stand-in, a
  read-only ``docker-registry`` whose storage was seeded with ``library/busybox``
  when the image was built (no internet here).

Nothing here is credential-checked except the fake Nexus REST API: the
registries accept anonymous pushes and pulls (see the test module).

Like Nexus, it keeps its settings in the data directory, so restarts, backups and
restores mean what they mean for Nexus:

- the database is ``/nexus-data/db/nexus.mv.db``, where an H2 Nexus keeps its own;
  here it is a JSON file standing in for H2 (the fake's users, roles, repositories,
  tasks, admin password, ...), rewritten after every change the REST API accepts.
  No such file when the process starts means a new database: a new generated admin
  password in ``admin.password``, Nexus's built-in settings and nothing else;
- the ``h2.backup.task`` task writes ``nexus-<timestamp>.zip`` holding ``nexus.mv.db``
  into its location, as Nexus's *Admin - Backup H2 Database* does;
- SIGTERM (``docker stop``) stops it at once, as it stops Nexus, after the last
  change is on disk.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

sys.path.insert(0, "/opt/standin/app")

from tests.fakes.nexus import FakeNexus  # noqa: E402 (after the image's path)

DATA = Path(os.environ.get("STANDIN_DATA_DIR", "/nexus-data"))
DATABASE = DATA / "db" / "nexus.mv.db"
HUB_STORAGE = "/var/lib/standin/dockerhub"
# What Nexus's database holds of the fake's state (everything a restart must keep).
PERSISTED = ("admin_password", "eula_accepted", "realms", "anonymous", "repositories", "roles", "users", "passwords",
             "components", "cleanup_policies", "tasks", "next_task_id", "blob_stores", "ssrf_protection")


class PersistentNexus(FakeNexus):
    """The fake Nexus with its state in ``DATABASE`` (a JSON stand-in for H2's nexus.mv.db)."""

    def state(self) -> dict:
        state = {name: getattr(self, name) for name in PERSISTED}
        state["repositories"] = {name: list(value) for name, value in self.repositories.items()}
        return state

    def load(self, path: Path) -> None:
        state = json.loads(path.read_text())
        state["repositories"] = {name: tuple(value) for name, value in state["repositories"].items()}
        for name in PERSISTED:
            setattr(self, name, state[name])

    def save(self) -> None:
        text = json.dumps(self.state(), sort_keys=True)
        if DATABASE.exists() and DATABASE.read_text() == text:
            return
        tmp = DATABASE.with_name(f".{DATABASE.name}.tmp")
        tmp.write_text(text)
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        tmp.rename(DATABASE)

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes):
        answer = super().handle(method, raw_path, headers, body)
        if method != "GET":
            self.save()
        return answer

    def database_backup_name(self, run: int) -> str:
        return time.strftime("nexus-%Y-%m-%d-%H-%M-%S.zip", time.gmtime())

    def write_database_backup(self, path: Path) -> None:
        self.save()
        tmp = path.with_name(f".{path.name}.tmp")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(DATABASE, DATABASE.name)
        tmp.rename(path)


def open_database() -> PersistentNexus:
    """The database in DATA, or a new one (with a new generated admin password) when there is none."""
    if DATABASE.exists():
        nexus = PersistentNexus(data_dir=DATA)
        nexus.load(DATABASE)
        print(f"stand-in nexus: opened {DATABASE}", flush=True)
        return nexus
    DATABASE.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(16)
    nexus = PersistentNexus(admin_password=password, data_dir=DATA)
    nexus.save()
    password_file = DATA / "admin.password"
    password_file.write_text(password)
    os.chmod(password_file, 0o600)
    print(f"stand-in nexus: created a new database {DATABASE}", flush=True)
    return nexus


def stop(signum, _frame):
    print(f"stand-in nexus: stopping on signal {signum}", flush=True)
    raise SystemExit(0)


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
    # PID 1 of its container: without a handler SIGTERM would be ignored and every docker stop would wait
    # out its timeout.  Nexus stops on it; so does this.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    content = DATA / "blobs" / "default" / "content"
    hosted, proxy = str(content / "hosted"), str(content / "proxy")
    Path(hosted).mkdir(parents=True, exist_ok=True)
    children = []
    try:
        children.append(registry("dockerhub", "127.0.0.1:5000", HUB_STORAGE, readonly=True))
        wait("http://127.0.0.1:5000/v2/")  # a pull-through registry checks its upstream when it starts
        children += [
            registry("hosted", "0.0.0.0:8002", hosted),
            registry("group", "0.0.0.0:8003", hosted, remote="http://127.0.0.1:5000"),
            registry("proxy", "0.0.0.0:8001", proxy, remote="http://127.0.0.1:5000"),
        ]
        for port in (8001, 8002, 8003):
            wait(f"http://127.0.0.1:{port}/v2/")
        nexus = open_database()
        nexus.start(host="0.0.0.0", port=8081)
        print("stand-in nexus: started", flush=True)
        while all(child.poll() is None for child in children):
            if nexus.errors:
                print(f"stand-in nexus: rejected requests: {nexus.errors}", flush=True)
                nexus.errors.clear()
            time.sleep(0.5)
        sys.exit("stand-in nexus: a registry process exited")
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()


if __name__ == "__main__":
    main()
