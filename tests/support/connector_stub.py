"""A stand-in for one Nexus connector port (8001-8003, 8081) that records everything reaching it.

The front-door tests ask what got past nginx, so every request that arrives is
appended to a JSON-lines log *before* anything else happens: the port it came
in on, the method, the request target exactly as received (``self.path`` is
the raw target of the request line), every header in order (duplicates
included) and the peer address.  Then, depending on the options:

- no ``--backend`` (the web port): ``GET /service/rest/v1/status`` answers 200
  as Nexus does once started, anything else 200 with a JSON echo of what arrived;
- ``--backend HOST:PORT`` (a docker connector): the request is relayed to a real
  registry (Debian's ``docker-registry``) behind a Docker token handshake played
  the way Nexus plays it with ``forceBasicAuth: false`` and the Docker Bearer
  Token realm on: a request without a valid token gets 401 with
  ``WWW-Authenticate: Bearer realm="<X-Forwarded-Proto>://<Host>/v2/token"``
  (Nexus builds the realm from the forwarded scheme and the Host header, pitfall
  2), ``GET /v2/token`` turns valid Basic credentials (``--user NAME:PASSWORD``)
  into a token, refuses wrong ones with 401 and, with ``--anonymous``, hands an
  anonymous token to a request without credentials.  An anonymous token reads
  (GET/HEAD) and nothing else.  Tokens are signed with a key every stub shares, so
  one fetched through docker-group is good on docker-hosted, as in one Nexus.

The request body is read in full before any answer, so a slow body holds its
connection (and nginx's upstream connection) as a slow upload to Nexus does.
Usage: ``python connector_stub.py PORT LOG [--backend HOST:PORT] [--user U:P] [--anonymous]``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class Stub:
    def __init__(self, port: int, log: str, backend: str | None, users: dict[str, str], anonymous: bool):
        self.port = port
        self.log_path = log
        self.backend = backend
        self.users = users
        self.anonymous = anonymous
        self.key = b"nexus-registry front-door stand-in"
        self.lock = threading.Lock()

    def token(self, user: str) -> str:
        signature = hmac.new(self.key, user.encode(), hashlib.sha256).hexdigest()
        return f"{base64.urlsafe_b64encode(user.encode()).decode()}.{signature}"

    def user_of(self, token: str) -> str | None:
        encoded, _, _ = token.partition(".")
        try:
            user = base64.urlsafe_b64decode(encoded.encode()).decode()
        except ValueError:
            return None
        return user if hmac.compare_digest(self.token(user), token) else None

    def record(self, entry: dict) -> None:
        with self.lock, open(self.log_path, "a") as log:
            log.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stub: Stub

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes: without this, Nagle plus nginx's delayed ACK
        # cost 40 ms per response, and the floods would take minutes.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if not any(name.lower() == "content-length" for name, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        stub = self.stub
        stub.record({"port": stub.port, "method": self.command, "path": self.path,
                     "headers": [[k, v] for k, v in self.headers.items()], "peer": self.client_address[0]})
        body = self._body()
        if stub.backend is None:
            if self.path == "/service/rest/v1/status":
                return self._send(200, b"")
            echo = {"method": self.command, "path": self.path, "port": stub.port,
                    "headers": {k.lower(): v for k, v in self.headers.items()}, "body_length": len(body)}
            return self._send(200, json.dumps(echo).encode(), [("Content-Type", "application/json")])
        path = self.path.split("?", 1)[0]
        if path == "/v2/token":
            return self._token()
        user = self._authenticated()
        if user is None:
            return self._challenge()
        if user == "" and (self.command not in ("GET", "HEAD") or (path != "/v2/" and not stub.anonymous)):
            return self._challenge()
        self._relay(body)

    def _basic(self) -> tuple[str, str] | None | bool:
        """(user, password) of Basic credentials, None without any, False when malformed."""
        header = self.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except ValueError:
            return False
        return user, password

    def _authenticated(self) -> str | None:
        """Whom a request acts for: a user name, "" (an anonymous token) or None (no valid credentials)."""
        header = self.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            return self.stub.user_of(header[7:].strip())
        basic = self._basic()
        if not basic or self.stub.users.get(basic[0]) != basic[1]:
            return None
        return basic[0]

    def _challenge(self) -> None:
        scheme = self.headers.get("X-Forwarded-Proto", "http")
        realm = f"{scheme}://{self.headers.get('Host', '')}/v2/token"
        body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "access to the requested resource "
                                       "is not authorized", "detail": None}]}).encode()
        self._send(401, body, [("Content-Type", "application/json"), ("Docker-Distribution-Api-Version",
                   "registry/2.0"), ("WWW-Authenticate", f'Bearer realm="{realm}",service="{realm}"')])

    def _token(self) -> None:
        basic = self._basic()
        if basic is None and not self.stub.anonymous:
            return self._challenge()
        if basic is not None and (basic is False or self.stub.users.get(basic[0]) != basic[1]):
            return self._challenge()
        token = self.stub.token(basic[0] if basic else "")
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
        self._send(200, body, [("Content-Type", "application/json")])

    def _relay(self, body: bytes) -> None:
        host, _, port = self.stub.backend.partition(":")
        # A list, not a dict: clients send some headers several times (Accept, one per media type).
        skipped = HOP_BY_HOP | {"authorization", "content-length", "host"}
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in skipped]
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            connection.putheader("Host", self.headers.get("Host", ""))
            for name, value in headers:
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            data = response.read()
            relayed = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
        finally:
            connection.close()
        self._send(response.status, data, relayed)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = _handle

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (stdlib signature)
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 2048  # a flood of connections must queue, not be refused by a backlog of 5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("log")
    parser.add_argument("--backend")
    parser.add_argument("--user", action="append", default=[])
    parser.add_argument("--anonymous", action="store_true")
    args = parser.parse_args()
    users = dict(entry.split(":", 1) for entry in args.user)
    Handler.stub = Stub(args.port, args.log, args.backend, users, args.anonymous)
    print(f"listening on 127.0.0.1:{args.port}", flush=True)
    Server(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    sys.exit(main())
