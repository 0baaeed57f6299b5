"""A local Docker registry (API v2) that asks for an anonymous bearer token, as Docker Hub does.

Follows the distribution spec's "Token Authentication Specification": a
manifest request without a token answers ``401`` with ``WWW-Authenticate:
Bearer realm="<realm>",service="<service>",scope="repository:<name>:pull"``;
``GET <realm>?service=...&scope=...`` answers ``{"token": ..., "access_token": ...}``;
with ``Authorization: Bearer <token>`` a known manifest answers ``200`` with
``Docker-Content-Digest``, an unknown one ``404`` ``MANIFEST_UNKNOWN``.  Plain
HTTP on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SERVICE = "registry.test"


class RegistryStub:
    def __init__(self, manifests: dict[str, set[str]]):
        """``manifests``: repository -> the tags and digests it has."""
        self.manifests = manifests
        self.token = "anonymous-pull-token"
        self.requests: list[tuple[str, str, str]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> RegistryStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _serve(self):
                parts = urlsplit(self.path)
                stub.requests.append((self.command, parts.path, self.headers.get("Authorization") or ""))
                if parts.path == "/token":
                    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                    repository = query.get("scope", "").removeprefix("repository:").removesuffix(":pull")
                    if query.get("service") != SERVICE or repository not in stub.manifests:
                        return self._answer(401, b'{"details":"unknown scope"}')
                    return self._answer(200, json.dumps({"token": stub.token, "access_token": stub.token}).encode())
                if not parts.path.startswith("/v2/") or "/manifests/" not in parts.path:
                    return self._answer(404)
                repository, _, reference = parts.path[len("/v2/"):].partition("/manifests/")
                if self.headers.get("Authorization") != f"Bearer {stub.token}":
                    challenge = (f'Bearer realm="{stub.url}/token",service="{SERVICE}",'
                                 f'scope="repository:{repository}:pull"')
                    return self._answer(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {"WWW-Authenticate": challenge})
                if reference in stub.manifests.get(repository, set()):
                    return self._answer(200, b"{}", {
                        "Docker-Content-Digest": "sha256:" + "ab" * 32,
                        "Content-Type": "application/vnd.oci.image.index.v1+json"})
                return self._answer(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')

            do_GET = _serve  # noqa: N815 (http.server's names)
            do_HEAD = _serve  # noqa: N815

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
