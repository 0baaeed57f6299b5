"""A local S3-compatible bucket endpoint that behaves as COS does where Pulumi's S3 backend trips.

HTTPS on 127.0.0.1 with a self-signed certificate for ``cos.<region>.myqcloud.com``
and ``*.cos.<region>.myqcloud.com`` (tests map those names to 127.0.0.1 in-process;
nothing else resolves, so no request can leave the machine).  It answers
PutObject, GetObject and DeleteObject in the S3 REST shapes, checks the SigV4
``Authorization`` header's key and credential scope, and refuses:

- path-style requests (``Host: cos.<region>.myqcloud.com`` + ``/<bucket>/key``):
  new COS buckets accept virtual-hosted requests only (DESIGN pitfall 21);
- with ``reject_chunked`` (the default), uploads sent as ``Content-Encoding:
  aws-chunked`` / ``x-amz-content-sha256: STREAMING-...`` with a trailing
  checksum: answered ``403 AccessDenied`` as IBM COS answers them
  (pulumi/pulumi #23764), and as COS is reported to.
"""

from __future__ import annotations

import re
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

ACCESS_KEY = "AKIDcosStateBucketKey01"
SECRET_KEY = "cosStateBucketSecret01"


def _error(code: str, message: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}</Message>'
            f"<RequestId>NjVmYzQ3ZTFfOWI</RequestId></Error>").encode()


class CosStub:
    def __init__(self, directory: Path, region: str = "ap-guangzhou", reject_chunked: bool = True):
        self.region = region
        self.domain = f"cos.{region}.myqcloud.com"
        self.reject_chunked = reject_chunked
        self.objects: dict[tuple[str, str], bytes] = {}
        self.requests: list[dict[str, str]] = []
        self.certificate = directory / "cos-stub.pem"
        key = directory / "cos-stub.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", f"/CN={self.domain}", "-keyout", str(key),
                        "-out", str(self.certificate), "-addext",
                        f"subjectAltName=DNS:{self.domain},DNS:*.{self.domain}"],
                       check=True, capture_output=True)
        self._key = key
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"https://{self.domain}:{self.port}"

    def __enter__(self) -> CosStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, status: int, body: bytes = b"", content_type: str = "application/xml"):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("x-cos-request-id", "NjVmYzQ3ZTFfOWI")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _target(self) -> tuple[str, str] | None:
                host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
                if not host.endswith(f".{stub.domain}"):
                    return None
                return host[: -len(stub.domain) - 1], self.path.split("?", 1)[0].lstrip("/")

            def _read_body(self) -> bytes:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    data = b""
                    while True:  # HTTP/1.1 chunked transfer coding (RFC 9112 section 7.1)
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass  # trailer fields
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _serve(self):
                body = self._read_body()
                stub.requests.append({"method": self.command, "host": self.headers.get("Host") or "",
                                      "path": self.path, "content-encoding": self.headers.get("Content-Encoding") or "",
                                      "x-amz-content-sha256": self.headers.get("x-amz-content-sha256") or "",
                                      "x-amz-trailer": self.headers.get("x-amz-trailer") or ""})
                auth = self.headers.get("Authorization") or ""
                scope = re.search(r"Credential=([^/]+)/\d{8}/([^/]+)/s3/aws4_request", auth)
                if not scope or scope.group(1) != ACCESS_KEY:
                    return self._answer(403, _error("InvalidAccessKeyId", "The access key Id format you provided "
                                                    "is invalid."))
                if scope.group(2) != stub.region:
                    return self._answer(400, _error("AuthorizationHeaderMalformed", "region mismatch"))
                target = self._target()
                if target is None:
                    return self._answer(403, _error("AccessDenied", "path-style requests are refused for this "
                                                    "bucket; use <bucket>.cos.<region>.myqcloud.com"))
                chunked = "aws-chunked" in self.headers.get("Content-Encoding", "") or \
                    (self.headers.get("x-amz-content-sha256") or "").startswith("STREAMING-")
                if self.command == "PUT":
                    if chunked and stub.reject_chunked:
                        return self._answer(403, _error("AccessDenied", "Access Denied"))
                    if chunked:
                        body = _dechunk(body)
                    stub.objects[target] = body
                    return self._answer(200)
                if self.command == "GET":
                    if target not in stub.objects:
                        return self._answer(404, _error("NoSuchKey", "The specified key does not exist."))
                    return self._answer(200, stub.objects[target], "application/octet-stream")
                if self.command == "DELETE":
                    stub.objects.pop(target, None)
                    return self._answer(204)
                return self._answer(405, _error("MethodNotAllowed", self.command))

            do_GET = do_PUT = do_DELETE = do_HEAD = _serve  # noqa: N815 (http.server's names)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate, self._key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


def _dechunk(body: bytes) -> bytes:
    """The payload of an aws-chunked body (``<hex size>\\r\\n<data>\\r\\n`` ... ``0\\r\\n<trailers>``)."""
    data, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        data, rest = data + rest[:size], rest[size + 2:]
    return data
