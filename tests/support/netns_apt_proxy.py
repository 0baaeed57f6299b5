"""An HTTP proxy that listens inside a network namespace and fetches from the machine's own network.

A fresh-host test runs its "host" in a private network namespace (so nginx can
own ports 80/443 and nothing leaks), but the host scripts' package steps must
really download from the distribution's mirror.  This process opens its
listening socket inside the namespace (``setns`` on the namespace of
``--netns-pid``), switches back to the machine's own namespace, and forwards
each request of apt (``Acquire::http::Proxy``) to the origin, only to the
hosts named by ``--allow`` (the mirrors of the machine's apt sources).  Plain
HTTP GET/HEAD in absolute form, and CONNECT for https sources.

While the file ``--offline-flag`` exists it answers 503 to everything, as an
unreachable mirror would (tests of a failed package installation).

Usage: ``python netns_apt_proxy.py --netns-pid PID --port 3142 --allow h1,h2 --log FILE [--offline-flag F]``
"""

from __future__ import annotations

import argparse
import ctypes
import http.client
import os
import select
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

CLONE_NEWNET = 0x40000000
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade"}


def setns(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns({path})")
    finally:
        os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--netns-pid", type=int, required=True)
    parser.add_argument("--port", type=int, default=3142)
    parser.add_argument("--allow", required=True, help="comma-separated host names")
    parser.add_argument("--log", required=True)
    parser.add_argument("--offline-flag", default="")
    args = parser.parse_args()
    allowed = {host.strip().lower() for host in args.allow.split(",") if host.strip()}
    log = open(args.log, "a", buffering=1)  # noqa: SIM115 (lives as long as the process)
    lock = threading.Lock()

    def record(line: str) -> None:
        with lock:
            log.write(line + "\n")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args) -> None:
            pass

        def _refuse(self, host: str) -> None:
            record(f"REFUSED {self.command} {self.path}")
            self.send_error(403, f"host {host!r} is not an apt source of this machine")

        def _offline(self) -> bool:
            if args.offline_flag and os.path.exists(args.offline_flag):
                record(f"OFFLINE {self.command} {self.path}")
                self.send_error(503, "mirror unreachable (test)")
                return True
            return False

        def _forward(self) -> None:
            if self._offline():
                return
            url = urlsplit(self.path)
            host = (url.hostname or "").lower()
            if url.scheme != "http" or host not in allowed:
                self._refuse(host)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            path = url.path + (f"?{url.query}" if url.query else "")
            try:
                upstream = http.client.HTTPConnection(host, url.port or 80, timeout=120)
                upstream.request(self.command, path or "/", headers=headers)
                response = upstream.getresponse()
                body = response.read() if self.command != "HEAD" else b""
            except OSError as error:
                record(f"ERROR {self.command} {self.path}: {error}")
                self.send_error(502, str(error))
                return
            record(f"{response.status} {self.command} {self.path} {len(body)}")
            self.send_response(response.status, response.reason)
            for key, value in response.getheaders():
                if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            if self.command == "HEAD":
                length = response.getheader("Content-Length")
                if length is not None:
                    self.send_header("Content-Length", length)
            else:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            upstream.close()

        do_GET = do_HEAD = _forward

        def do_CONNECT(self) -> None:  # noqa: N802 (http.server naming)
            if self._offline():
                return
            host, _, port = self.path.partition(":")
            if host.lower() not in allowed or port != "443":
                self._refuse(host)
                return
            try:
                upstream = socket.create_connection((host, 443), timeout=120)
            except OSError as error:
                self.send_error(502, str(error))
                return
            record(f"CONNECT {self.path}")
            self.send_response(200, "Connection established")
            self.end_headers()
            sockets = [self.connection, upstream]
            while True:
                readable, _, _ = select.select(sockets, [], [], 120)
                if not readable:
                    break
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        upstream.close()
                        self.close_connection = True
                        return
                    (upstream if sock is self.connection else self.connection).sendall(data)

    own = f"/proc/{os.getpid()}/ns/net"
    home = os.open(own, os.O_RDONLY)
    setns(f"/proc/{args.netns_pid}/ns/net")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)  # bound inside the namespace
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(home, CLONE_NEWNET) != 0:  # back home: connections to mirrors use the machine's network
        raise OSError(ctypes.get_errno(), "setns(home)")
    os.close(home)
    record(f"listening on 127.0.0.1:{args.port} in the namespace of pid {args.netns_pid}; allowed: {sorted(allowed)}")
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
