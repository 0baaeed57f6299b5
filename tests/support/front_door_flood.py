"""One address holding many unfinished requests, for the front-door tests (bounded in count and time).

Opens ``--count`` TLS connections to ``--connect`` (SNI ``--name``) from the
loopback address ``--source``, at most ``--parallel`` handshakes at a time, and
on each sends an unfinished request: every ``--body-every``-th one complete
headers of a large ``POST`` whose body never comes (so nginx opens an upstream
connection for it), the others headers that never end (no blank line).  Then it
prints one JSON line, ``{"established": N, "failed": M}``, keeps every
connection open for ``--hold`` seconds without reading, and exits.  Every step
has a deadline, so it cannot outlive the test.

Usage: ``python front_door_flood.py --source 127.0.0.50 --connect 127.0.0.1:443 --name NAME --cafile CA``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import ssl
import time


def request(index: int, name: str, body_every: int) -> bytes:
    if body_every and index % body_every == 0:
        return (f"POST /v2/flood/blobs/uploads/ HTTP/1.1\r\nHost: {name}\r\nAuthorization: Bearer flood\r\n"
                "Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n").encode() + b"x" * 100
    return f"GET /v2/ HTTP/1.1\r\nHost: {name}\r\nUser-Agent: flood-{index}\r\n".encode()


async def flood(args: argparse.Namespace) -> None:
    context = ssl.create_default_context(cafile=args.cafile)
    host, _, port = args.connect.rpartition(":")
    gate = asyncio.Semaphore(args.parallel)
    writers: list[asyncio.StreamWriter] = []

    async def one(index: int) -> bool:
        async with gate:
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(
                    host, int(port), ssl=context, server_hostname=args.name, local_addr=(args.source, 0)), 15)
                writer.write(request(index, args.name, args.body_every))
                await asyncio.wait_for(writer.drain(), 5)
            except (TimeoutError, OSError, ssl.SSLError):
                return False
            writers.append(writer)
            return True

    results = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(args.count))), 120)
    print(json.dumps({"established": sum(results), "failed": len(results) - sum(results)}), flush=True)
    deadline = time.monotonic() + args.hold
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    for writer in writers:
        writer.transport.abort()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--connect", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--count", type=int, default=1200)
    parser.add_argument("--body-every", type=int, default=2)
    parser.add_argument("--parallel", type=int, default=100)
    parser.add_argument("--hold", type=float, default=20)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, args.count + 256) if hard != resource.RLIM_INFINITY else args.count + 256
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    asyncio.run(flood(args))


if __name__ == "__main__":
    main()
