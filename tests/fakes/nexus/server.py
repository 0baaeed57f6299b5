"""The fake Nexus: its areas' state and routes behind one HTTP server on 127.0.0.1 and a random port.

``handle`` does what Nexus does before any resource: ``/upstream/<name>`` (outside the REST API, no
auth) plays the proxies' upstreams for the bootstrap's upstream check, answering
``upstream_status[name]`` (200 by default), so no test request ever leaves loopback;
``/repository/...`` serves docker manifests to the admin; ``/v1/status`` and ``/v1/status/writable``
answer anyone; then the caller is authenticated (401), a non-admin may only list and search
(``RepositoriesApi._as_user``), ``admin_forbidden`` plays an admin without privileges (403), and
``_route`` looks the request up in ``ROUTES`` (the areas' tables, in order; no match is a 404).  A
``BadRequest`` from a handler is a 400 with Nexus's error list, recorded in ``errors``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.fakes.nexus.api import Answer, BadRequest, Request
from tests.fakes.nexus.blob_stores import BlobStoresApi
from tests.fakes.nexus.cleanup import CleanupApi
from tests.fakes.nexus.repositories import RepositoriesApi
from tests.fakes.nexus.security import SecurityApi
from tests.fakes.nexus.system import SystemApi
from tests.fakes.nexus.tasks import TasksApi

REST = "/service/rest"


@dataclass
class FakeNexus(SecurityApi, RepositoriesApi, SystemApi, CleanupApi, TasksApi, BlobStoresApi):
    server_header: str = "Nexus/3.86.2-01 (COMMUNITY)"
    upstream_status: dict[str, int] = field(default_factory=dict)
    upstream_requests: list[str] = field(default_factory=list)
    # True: admin authenticates but lacks privileges (its nx-admin role removed): Nexus answers 403.
    admin_forbidden: bool = False

    ROUTES = (SecurityApi.ROUTES + RepositoriesApi.ROUTES + SystemApi.ROUTES + CleanupApi.ROUTES
              + TasksApi.ROUTES + BlobStoresApi.ROUTES)

    # -- serving ---------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeNexus:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):  # keep test output quiet
                pass

            def version_string(self):  # Nexus names its release and edition in every answer
                return fake.server_header

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake.lock:
                    status, payload = fake.handle(self.command, self.path, dict(self.headers), body)
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                if status == 401:
                    self.send_header("WWW-Authenticate", 'BASIC realm="Sonatype Nexus Repository Manager"')
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- behaviour -------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Answer:
        split = urlsplit(raw_path)
        path, query = split.path, parse_qs(split.query)
        if path.startswith("/upstream/"):
            name = path.removeprefix("/upstream/").split("/")[0]
            self.upstream_requests.append(path)
            return self.upstream_status.get(name, 200), None
        if path.startswith("/repository/") and method == "GET":  # what a docker repository serves
            return self.docker_content.manifest(path) if self._caller(headers) == "admin" else (401, None)
        if not path.startswith(REST):
            return 404, None
        path = path[len(REST):]
        if method != "GET":
            self.bodies.append((method, path, body))
        if path == "/v1/status/writable" and method == "GET":
            return (200, None) if self.writable else (503, None)
        if path == "/v1/status" and method == "GET":  # readable: anonymous, as in Nexus
            return 200, None
        caller = self._caller(headers)
        if caller is None:
            return 401, None
        if caller != "admin":
            return self._as_user(caller, method, path, query)
        if self.admin_forbidden:
            return 403, None
        try:
            return self._route(method, path, query, headers, body)
        except BadRequest as error:
            self.errors.append(f"{method} {path}: {error}")
            return 400, [{"id": "*", "message": str(error)}]

    def _route(self, method: str, path: str, query: dict, headers: dict[str, str], body: bytes) -> Answer:
        """The admin's request, answered by the first route of ``ROUTES`` that matches it (404: none)."""
        for candidate in self.ROUTES:
            groups = candidate.match(method, path)
            if groups is not None:
                request = Request(method, path, query, headers, body, groups)
                return getattr(self, candidate.handler)(request)
        return 404, None
