"""The preflight's command line and its downloads: an unreachable API is one line in seconds (never a
traceback), the image digest and Sonatype's migrator are checked where they are published."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from components.preflight import artifacts
from components.preflight.cli import run
from tests import harness
from tests.registry_stub import RegistryStub
from tests.support.preflight import closed_port
from tests.support.settings import settings_with
from tests.tencent_api_fake import SECRET_ID, SECRET_KEY

ENV = {"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": SECRET_KEY}
VERSION = harness.stack_settings("dev").nexus.version


def test_an_unreachable_api_is_one_line_in_seconds(tmp_path):
    path = harness.write_stack_file("dev", tmp_path)
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    code = run(path, ENV, api_endpoint=f"127.0.0.1:{closed_port()}", api_scheme="http",
               registry=f"http://127.0.0.1:{closed_port()}", backend_url="", out=out, err=err)
    assert time.monotonic() - started < 5
    assert code == 2
    [line] = err.getvalue().splitlines()
    assert line.startswith("preflight: the Tencent Cloud API (http://127.0.0.1:")
    assert "could not be reached: connection refused; check the network" in line


def test_the_command_never_prints_a_traceback(tmp_path):
    path = harness.write_stack_file("prod", tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "components.preflight", str(path), "--api-endpoint", f"127.0.0.1:{closed_port()}",
         "--api-scheme", "http", "--registry", f"http://127.0.0.1:{closed_port()}", "--backend", ""],
        capture_output=True, text=True, timeout=60, cwd=harness.ROOT, env={**ENV, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr


def test_auto_does_nothing_for_a_stack_without_tencent_resources(tmp_path):
    path = harness.write_stack_file("lab", tmp_path)
    out, err = io.StringIO(), io.StringIO()
    assert run(path, {}, auto=True, registry=f"http://127.0.0.1:{closed_port()}", out=out, err=err) == 0
    assert out.getvalue() == err.getvalue() == ""


def test_a_pinned_digest_that_the_registry_lacks():
    settings = settings_with(nexus={"imageDigest": "sha256:" + "0" * 64})
    with RegistryStub({"sonatype/nexus3": {VERSION}}) as registry:
        [finding] = artifacts.nexus_image(settings, registry.url)
    assert finding.subject == "nexus-registry:nexus.imageDigest" and finding.severity == "error"
    with RegistryStub({"sonatype/nexus3": {VERSION, "sha256:" + "0" * 64}}) as registry:
        assert artifacts.nexus_image(settings, registry.url) == []


def test_a_registry_out_of_reach_is_only_a_warning():
    [finding] = artifacts.nexus_image(settings_with(), f"http://127.0.0.1:{closed_port()}")
    assert finding.severity == "warning" and "could not be reached from here" in finding.message


class Downloads:
    """download.sonatype.com's layout for the migrator: <name>.jar and <name>.jar.sha256, plain HTTP here."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files

    def __enter__(self):
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                body = files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                if self.command == "GET" and body:
                    self.wfile.write(body)

            do_GET = do_HEAD = _serve  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/nxrm3-migrator/nexus-db-migrator-{{version_build}}.jar"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("published, pinned, problem", [
    (True, "match", None),
    (True, "other", "nexus-registry:database.migratorSha256"),
    (False, "match", "version"),
])
def test_the_migrator_jar_and_its_sha256(published, pinned, problem):
    jar = b"PK\x03\x04 migrator"
    digest = hashlib.sha256(jar).hexdigest()
    settings = settings_with(database={"engine": "postgresql", "migrateFromH2": True, "migratorVersion": "3.98.0-02",
                                       "migratorSha256": digest if pinned == "match" else "1" * 64})
    release, key = artifacts.migrator_release(settings)
    name = f"/nxrm3-migrator/nexus-db-migrator-{release}.jar"
    files = {name: jar, f"{name}.sha256": f"{digest}  nexus-db-migrator-{release}.jar\n".encode()} if published else {}
    with Downloads(files) as template:
        findings = artifacts.migrator(settings, template)
    if problem is None:
        assert findings == []
    else:
        [finding] = findings
        assert finding.severity == "error"
        assert finding.subject == (key if problem == "version" else problem)
        assert ("HTTP 404" in finding.message) if problem == "version" else ("is not the SHA-256" in finding.message)
