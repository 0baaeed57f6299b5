"""PostgreSQL for the ``database.engine: postgresql`` tests, and the database host step run for real.

``start_postgres`` starts Debian's server on 127.0.0.1 with TLS (the ``postgres`` fixture of
tests/system/conftest.py); ``run_database_step`` runs the rendered ``-database`` script with its secret
password file; ``migration_host`` lays out an H2 data directory with ``docker``/``curl`` stand-ins that
record their calls, for the H2 -> PostgreSQL migration.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.render import nexus_database as render_database
from components.render.bundle import HostFile
from tests.support.settings import DATABASE_PASSWORD, DATABASE_STACK


def tool(path_or_name: str) -> str:
    found = path_or_name if os.path.exists(path_or_name) else shutil.which(path_or_name)
    assert found, f"{path_or_name} is missing (.ci/run installs it); this test never skips"
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_postgres() -> Iterator[dict[str, Any]]:
    """A PostgreSQL on 127.0.0.1 with TLS; ``nexus`` must use TLS, ``plain`` may not."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    assert binaries, "PostgreSQL server is missing (apt-get install postgresql); this test never skips"
    bindir = Path(binaries[-1]).parent
    assert os.geteuid() == 0, "the test starts PostgreSQL as the postgres user, so it runs as root"
    owner = pwd.getpwnam("postgres")
    # pytest's own temporary directories are root-only; the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="nexus-registry-pg-"))
    os.chmod(base, 0o755)
    data, sockets = base / "data", base / "sockets"
    for directory in (data, sockets):
        directory.mkdir()
        os.chown(directory, owner.pw_uid, owner.pw_gid)

    def as_postgres(*command, **kwargs):
        return subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True,
                              text=True, cwd=base, **kwargs)

    as_postgres(str(bindir / "initdb"), "-D", str(data), "--auth=trust", "--username=postgres")
    subprocess.run([tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(data / "server.key"), "-out", str(data / "server.crt")],
                   check=True, capture_output=True)
    for name in ("server.key", "server.crt"):
        os.chown(data / name, owner.pw_uid, owner.pw_gid)
    os.chmod(data / "server.key", 0o600)
    (data / "pg_hba.conf").write_text(
        "local all postgres trust\n"
        "hostssl all nexus 127.0.0.1/32 scram-sha-256\n"
        "hostnossl all nexus 127.0.0.1/32 reject\n"
        "host all plain 127.0.0.1/32 scram-sha-256\n"
    )
    port = free_port()
    server = subprocess.Popen(
        ["runuser", "-u", "postgres", "--", str(bindir / "postgres"), "-D", str(data), "-p", str(port),
         "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={sockets}", "-c", "ssl=on",
         "-c", "password_encryption=scram-sha-256"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=base,
    )
    try:
        deadline = time.monotonic() + 30
        while subprocess.run([str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                             capture_output=True).returncode != 0:
            assert time.monotonic() < deadline and server.poll() is None, "PostgreSQL did not start"
            time.sleep(0.2)
        as_postgres(tool("psql"), "-h", str(sockets), "-p", str(port), "-v", "ON_ERROR_STOP=1",
                    "-c", f"CREATE ROLE nexus LOGIN CREATEDB PASSWORD '{DATABASE_PASSWORD}'",
                    "-c", f"CREATE ROLE plain LOGIN PASSWORD '{DATABASE_PASSWORD}'",
                    "-c", "CREATE DATABASE plaindb OWNER plain")
        yield {"port": port, "sockets": sockets, "as_postgres": as_postgres}
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(base, ignore_errors=True)


def install(tmp_path: Path, files: list[HostFile]) -> dict[str, Path]:
    placed = {}
    for item in files:
        target = tmp_path / "root" / item.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(item.content)
        target.chmod(int(item.mode, 8))
        placed[item.path] = target
    return placed


def run_database_step(tmp_path, settings, port, create, user=None, extra_env=None):
    """The rendered -database script with its secret password file, as the host step runs it."""
    user = user or settings.database.user
    files = render_database.database_files(settings, "127.0.0.1", port, create_database=create)
    placed = install(tmp_path, files)
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(render_database.pgpass("127.0.0.1", port, user, DATABASE_PASSWORD))
    pgpass.chmod(0o600)
    data_dir = tmp_path / "nexus-data"
    data_dir.mkdir(exist_ok=True)
    env = {**os.environ, "PGPASS_FILE": str(pgpass), "NEXUS_DATA_DIR": str(data_dir), "DB_READY_TIMEOUT": "20",
           "DB_READY_INTERVAL": "1", "NEXUS_STATE_DIR": str(tmp_path / "state"),
           "MAINTENANCE_FLAG": str(tmp_path / "state" / "maintenance"), **(extra_env or {})}
    return subprocess.run(["bash", str(placed[render_database.DATABASE_SCRIPT])], env=env, capture_output=True,
                          text=True)


def stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)


MIGRATOR_JAR = b"PK stand-in for nexus-db-migrator.jar\n"
MIGRATOR = {"migrateFromH2": True, "migratorVersion": f"{DATABASE_STACK['nexus']['version']}-05"}


@dataclass
class Migration:
    """An H2 data directory, docker and curl stand-ins and the migrator's @argfile, as the step finds them."""

    db_dir: Path
    calls: Path
    args_file: Path
    env: dict[str, str]


def migration_host(tmp_path: Path, port: int) -> Migration:
    """docker records its calls (and the migrator's @argfile it mounts); curl serves MIGRATOR_JAR."""
    db_dir = tmp_path / "nexus-data" / "db"
    db_dir.mkdir(parents=True)
    (db_dir / "nexus.mv.db").write_text("h2 data")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    stub(bin_dir, "docker", f'printf "%s\\n" "$*" >>{calls}\n'
                            'if [[ $1 == ps ]]; then echo abc123; fi\n'
                            'if [[ $1 == run ]]; then for a; do'
                            ' [[ $a == type=bind,source=*,target=/migrator,readonly ]]'
                            ' && src=${a#type=bind,source=} && src=${src%%,*}; done;'
                            f' cp "$src/args" {tmp_path}/seen-args; fi\n')
    (tmp_path / "served.jar").write_bytes(MIGRATOR_JAR)
    stub(bin_dir, "curl", f'printf "curl %s\\n" "$*" >>{calls}\n'
                          f'while (($#)); do [[ $1 == -o ]] && out=$2; shift; done\ncp {tmp_path}/served.jar "$out"\n')
    args_file = tmp_path / "migrator.args"
    args_file.write_text(
        render_database.migrator_args("127.0.0.1", port, "nexus", "nexus", DATABASE_PASSWORD, "require"))
    args_file.chmod(0o600)
    return Migration(db_dir, calls, args_file,
                     {"PATH": f"{bin_dir}:{os.environ['PATH']}", "MIGRATOR_ARGS_FILE": str(args_file)})
