"""Benchmark: push and pull one large layer direct to the registry vs through nginx over TLS.

Not a test: it prints numbers.  Inside a private network namespace (see
tests/system/registry_env.py) it starts the two CNCF distribution registries
that stand in for Nexus (hosted 8002 writable, group 8003 read-only, one
storage), deploys the dev stack's nginx with the real deploy script, starts
the tutorial's nginx (benchmarks/tutorial-nginx.conf) on port 8443, and times
with curl over HTTP/1.1 (as the Docker daemon talks to registries):

- push: POST /blobs/uploads/, PATCH the whole layer (streamed from a file),
  PUT ?digest=  -- each run to a new repository, so the registry takes it all;
- pull: GET /blobs/<digest> to /dev/null.

"direct" is plain HTTP to hosted (127.0.0.1:8002), "ours" and "tutorial" are
HTTPS through nginx.  Runs are interleaved (order rotated every round) and
medians are reported with ratios.  Goal: ours/direct <= 1.15 for push and
pull, and ours never slower than the tutorial.

    sudo .venv/bin/python benchmarks/registry_proxy.py [--size-mib 512] [--runs 5]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.system.registry_env import Environment, start_environment  # noqa: E402

TUTORIAL_CONF = Path(__file__).with_name("tutorial-nginx.conf")
CONFIGS = ("direct", "ours", "tutorial")


def write_layer(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(8 << 20, left))
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return f"sha256:{digest.hexdigest()}"


class Target:
    def __init__(self, env: Environment, name: str):
        fqdn = env.settings.registry_fqdn
        self.env = env
        if name == "direct":
            self.base, self.tls = "http://127.0.0.1:8002", []
        else:
            port = 443 if name == "ours" else 8443
            self.base = f"https://{fqdn}:{port}"
            self.tls = ["--cacert", str(env.ca.ca_crt), "--resolve", f"{fqdn}:{port}:127.0.0.1"]

    def curl(self, *args: str) -> str:
        result = self.env.sandbox.run(["curl", "-sS", "--http1.1", "-f", *self.tls, *args], timeout=900)
        return result.stdout

    def push(self, repository: str, layer: Path, digest: str) -> None:
        headers = self.curl("-X", "POST", "-D", "-", "-o", "/dev/null", f"{self.base}/v2/{repository}/blobs/uploads/")
        location = self._location(headers)
        headers = self.curl("-X", "PATCH", "-H", "Content-Type: application/octet-stream", "-T", str(layer),
                            "-D", "-", "-o", "/dev/null", location)
        location = self._location(headers)
        separator = "&" if "?" in location else "?"
        self.curl("-X", "PUT", "-o", "/dev/null", f"{location}{separator}digest={digest}")

    def pull(self, repository: str, digest: str, size: int) -> None:
        got = self.curl("-o", "/dev/null", "-w", "%{size_download}", f"{self.base}/v2/{repository}/blobs/{digest}")
        if int(got) != size:
            raise RuntimeError(f"pulled {got} bytes, expected {size}")

    def _location(self, headers: str) -> str:
        # Path and query of the upload URL; scheme/host/port are this target's
        # (the tutorial listens on 8443, which the registry cannot know).
        location = re.search(r"^location: (\S+)", headers, re.M | re.I).group(1)
        return self.base + re.sub(r"^https?://[^/]+", "", location)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("/dev/shm") if Path("/dev/shm").is_dir() else None,
                        help="registry storage and the layer (default /dev/shm: measure the proxy, not the disk)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="nexus-registry-bench-", dir=args.workdir))
    env = start_environment(workdir)
    try:
        tutorial = workdir / "tutorial-nginx.conf"
        shutil.copy(TUTORIAL_CONF, tutorial)
        env.sandbox.run(["nginx", "-t", "-q", "-c", str(tutorial)])
        env.sandbox.run(["nginx", "-c", str(tutorial)])

        size = args.size_mib << 20
        layer = workdir / "layer.bin"
        digest = write_layer(layer, size)
        targets = {name: Target(env, name) for name in CONFIGS}
        times: dict[tuple[str, str], list[float]] = {(c, op): [] for c in CONFIGS for op in ("push", "pull")}

        nginx_version = env.sandbox.run(["nginx", "-v"]).stderr.strip()
        print(f"layer {args.size_mib} MiB, {args.runs} interleaved runs, {os.cpu_count()} CPUs, {nginx_version}, "
              f"storage {workdir}")
        for run in range(args.runs):
            order = CONFIGS[run % 3:] + CONFIGS[:run % 3]
            for name in order:
                repository = f"bench/{name}-{run}"
                started = time.perf_counter()
                targets[name].push(repository, layer, digest)
                times[(name, "push")].append(time.perf_counter() - started)
                started = time.perf_counter()
                targets[name].pull(repository, digest, size)
                times[(name, "pull")].append(time.perf_counter() - started)
            print(f"run {run + 1}: " + "  ".join(
                f"{name} push {times[(name, 'push')][-1]:.2f}s pull {times[(name, 'pull')][-1]:.2f}s"
                for name in order))

        print()
        print(f"{'':10}{'push median':>14}{'MiB/s':>8}{'pull median':>14}{'MiB/s':>8}")
        median = {key: statistics.median(values) for key, values in times.items()}
        for name in CONFIGS:
            push, pull = median[(name, "push")], median[(name, "pull")]
            print(f"{name:10}{push:13.2f}s{args.size_mib / push:8.0f}{pull:13.2f}s{args.size_mib / pull:8.0f}")
        print()
        verdicts = []
        for op in ("push", "pull"):
            ours_direct = median[("ours", op)] / median[("direct", op)]
            tutorial_direct = median[("tutorial", op)] / median[("direct", op)]
            ours_tutorial = median[("ours", op)] / median[("tutorial", op)]
            print(f"{op}: ours/direct {ours_direct:.3f}  tutorial/direct {tutorial_direct:.3f}  "
                  f"ours/tutorial {ours_tutorial:.3f}")
            verdicts.append(f"{op} ours/direct {'<=' if ours_direct <= 1.15 else '>'} 1.15")
            verdicts.append(f"{op} ours {'not slower' if ours_tutorial <= 1.0 else 'SLOWER'} than tutorial")
        print("goal: " + "; ".join(verdicts))
    finally:
        tutorial_pid = env.sandbox.path("/run/nginx-tutorial.pid")
        if tutorial_pid.exists() and tutorial_pid.read_text().strip():
            os.kill(int(tutorial_pid.read_text()), 15)
        env.sandbox.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
