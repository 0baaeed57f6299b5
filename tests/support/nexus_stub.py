"""Stand-in for the Nexus web port (8081) in the nginx system tests.

``GET /service/rest/v1/status`` answers 200 as Nexus does once started; any
other request answers 200 with a JSON echo of what arrived (method, path,
headers, body length), so tests can see exactly what nginx forwarded.
Usage: ``python nexus_stub.py PORT`` (binds 127.0.0.1 only).
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        received = 0
        while received < length:
            received += len(self.rfile.read(min(1 << 20, length - received)))
        if self.path == "/service/rest/v1/status":
            body = b""
        else:
            body = json.dumps({
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body_length": received,
            }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (stdlib signature)
        sys.stdout.write(f"{self.address_string()} {format % args}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
