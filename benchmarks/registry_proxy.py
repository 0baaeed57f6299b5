"""Benchmark: push and pull one large layer direct to the registry vs through nginx over TLS.

Not a test: it prints numbers (CI runs it once with a small layer as a smoke test,
tests/system/test_benchmark_smoke.py, so it cannot rot).  Inside a private network
namespace (see tests/support/registry_env.py) it starts the CNCF distribution registries
that stand in for Nexus (hosted 8002 writable, group 8003 read-only, one storage; proxy
8001 for Docker Hub content), deploys the dev stack's nginx with the real deploy script
(its mirror on ``registryMirrorPort``), starts the tutorial's nginx
(benchmarks/tutorial-nginx.conf.j2, rendered for the stack's registry name) on ports of
its own, and times with curl over HTTP/1.1 (as the Docker daemon talks to registries):

- push: POST /blobs/uploads/, PATCH the whole layer (streamed from a file),
  PUT ?digest=  -- each run to a new repository, so the registry takes it all;
- pull: GET /blobs/<digest> to /dev/null.

"direct" is plain HTTP to hosted (127.0.0.1:8002), "ours" and "tutorial" are
HTTPS through nginx.  A real containerd then pulls an image of one such layer by its
Docker Hub name (``docker.io/library/bench:1``): "containerd-direct" from the proxy
stand-in over plain HTTP, "containerd-mirror" through our mirror port with the stack's
``containerdHostsToml`` output as printed; the image is removed between runs.

After an untimed warm-up round, runs are interleaved (order rotated every round)
and medians are reported with ratios, with the CPU seconds each part spent
(client = curl or ctr, nginx = its workers, registry = the registries,
containerd = its daemon; processes of this namespace only).  Goal: ours/direct <= 1.15
for push and pull, and ours never slower than the tutorial.

"tls-only" is a reference, not a proxy: a third nginx serves the layer file
from the same storage over TLS (no upstream at all), so its pull is the least
any HTTPS front door on this machine can cost with this client.

    sudo .venv/bin/python benchmarks/registry_proxy.py [--size-mib 512] [--runs 5] [--warmup 1]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jinja2  # noqa: E402

from components import client_setup  # noqa: E402
from components.render.nginx import default_cert_paths  # noqa: E402
from components.settings import RESERVED_PORTS, Settings  # noqa: E402
from tests.support.client_tools import Containerd  # noqa: E402
from tests.support.registry_env import PROXY_PORT, Environment, start_environment, write_oci_image  # noqa: E402

TUTORIAL_CONF = Path(__file__).with_name("tutorial-nginx.conf.j2")
CONFIGS = ("direct", "ours", "tutorial")
CONTAINERD_CONFIGS = ("containerd-direct", "containerd-mirror")
PARTS = ("client", "nginx", "registry", "containerd")
# Ports of the benchmark's own nginx servers: none may be one the stack's nginx or Nexus uses.
TUTORIAL_HTTP_PORT = 8080
TUTORIAL_HTTPS_PORT = 9444
TLS_ONLY_PORT = 9443
HUB_IMAGE = "docker.io/library/bench:1"
DIRECT_HOSTS_TOML = f"""\
# docker.io straight from the proxy stand-in, plain HTTP: containerd's baseline.
server = "https://registry-1.docker.io"

[host."http://127.0.0.1:{PROXY_PORT}"]
  capabilities = ["pull", "resolve"]
"""


def check_ports(settings: Settings) -> None:
    """The benchmark's own ports must not collide with the stack's (the mirror's port was the tutorial's once)."""
    ours = {TUTORIAL_HTTP_PORT, TUTORIAL_HTTPS_PORT, TLS_ONLY_PORT}
    taken = set(RESERVED_PORTS) | {settings.registry_mirror_port}
    if len(ours) != 3 or ours & taken:
        raise SystemExit(f"benchmark ports {sorted(ours)} collide with the stack's {sorted(ours & taken)}")


def render_tutorial(settings: Settings) -> str:
    """The tutorial's config for this stack's registry name and certificate, on the benchmark's ports."""
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                                     comment_start_string="{##", comment_end_string="##}")
    paths = default_cert_paths(settings)[settings.registry_fqdn]
    return environment.from_string(TUTORIAL_CONF.read_text()).render(
        registry_fqdn=settings.registry_fqdn, cert=paths.crt, key=paths.key,
        http_port=TUTORIAL_HTTP_PORT, https_port=TUTORIAL_HTTPS_PORT)
TLS_ONLY_CONF = """\
# benchmarks/registry_proxy.py: the layer file itself over TLS, no upstream (a floor, not a proxy).
user www-data;
worker_processes 1;
error_log {workdir}/tls-only-error.log;
pid /run/nginx-tls-only.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    server {{
        listen {port} ssl;
        server_name {fqdn};
        ssl_certificate {crt};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        location = /layer.bin {{ root {workdir}; }}
    }}
}}
"""


class CpuMeter:
    """CPU seconds of the client (curl or ctr, as waited-for children), nginx workers, registries, containerd.

    Only processes in the sandbox's network namespace count: other nginx or
    registries on the machine (someone else's tests) are not ours to measure.
    """

    def __init__(self, env: Environment):
        self.netns = os.readlink(f"/proc/{env.sandbox.pid}/ns/net")
        self.tick = os.sysconf("SC_CLK_TCK")

    def _servers(self) -> dict[str, float]:
        spent = {"nginx": 0.0, "registry": 0.0, "containerd": 0.0}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink(f"/proc/{pid}/ns/net") != self.netns:
                    continue
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            part = ("nginx" if cmdline.startswith(b"nginx: worker")
                    else "registry" if cmdline.startswith(b"docker-registry")
                    else "containerd" if cmdline.startswith(b"containerd\0") else None)
            if part:
                spent[part] += (int(fields[11]) + int(fields[12])) / self.tick
        return spent

    def sample(self) -> dict[str, float]:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {"client": children.ru_utime + children.ru_stime, **self._servers()}


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
            port = {"ours": 443, "tutorial": TUTORIAL_HTTPS_PORT, "tls-only": TLS_ONLY_PORT}[name]
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
        url = f"{self.base}/layer.bin" if self.base.endswith(f":{TLS_ONLY_PORT}") else \
            f"{self.base}/v2/{repository}/blobs/{digest}"
        got = self.curl("-o", "/dev/null", "-w", "%{size_download}", url)
        if int(got) != size:
            raise RuntimeError(f"pulled {got} bytes, expected {size}")

    def _location(self, headers: str) -> str:
        # Path and query of the upload URL; scheme/host/port are this target's
        # (the tutorial listens on a port of its own, which the registry cannot know).
        location = re.search(r"^location: (\S+)", headers, re.M | re.I).group(1)
        return self.base + re.sub(r"^https?://[^/]+", "", location)


class ContainerdPull:
    """``ctr images pull`` of one Docker Hub name, direct from the proxy stand-in or through our mirror."""

    def __init__(self, env: Environment, workdir: Path, size: int):
        self.env = env
        image = write_oci_image(workdir / "hub-image", [size], tag="1", level=0)
        env.skopeo("copy", "--dest-tls-verify=false", f"oci:{image.layout}:1",
                   f"docker://127.0.0.1:{PROXY_PORT}/library/bench:1", timeout=900)
        shutil.rmtree(image.layout)
        self.digest = image.manifest.digest
        self.hosts = {}
        for name, text in (("containerd-direct", DIRECT_HOSTS_TOML),
                           ("containerd-mirror", client_setup.containerd_mirror_hosts_toml(env.settings))):
            directory = workdir / f"hosts-{name}"
            (directory / "docker.io").mkdir(parents=True)
            (directory / "docker.io" / "hosts.toml").write_text(text + "\n")  # as `pulumi stack output` prints it
            self.hosts[name] = str(directory)
        # The stack's certificate is a public one in dev: the test CA stands in for the public roots.
        bundle = workdir / "ca-certificates.crt"
        bundle.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text() + env.ca.ca_crt.read_text())
        self.client_env = {**os.environ, "SSL_CERT_FILE": str(bundle)}
        self.containerd = Containerd(env.sandbox, workdir / "containerd")

    def pull(self, name: str) -> None:
        self.containerd.pull("--hosts-dir", self.hosts[name], HUB_IMAGE, env=self.client_env, timeout=900)
        got = self.containerd.image_digest(HUB_IMAGE)
        if got != self.digest:
            raise RuntimeError(f"{name}: pulled {got}, expected {self.digest}")

    def forget(self) -> None:
        """Remove the image and, synchronously, its content and snapshot: the next pull fetches it all."""
        self.containerd.ctr("images", "rm", "--sync", HUB_IMAGE)

    def close(self) -> None:
        self.containerd.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    parser.add_argument("--workdir", type=Path, default=Path("/dev/shm") if Path("/dev/shm").is_dir() else None,
                        help="registry storage and the layer (default /dev/shm: measure the proxy, not the disk)")
    args = parser.parse_args()
    if args.size_mib < 1 or args.runs < 1 or args.warmup < 0:
        parser.error("--size-mib and --runs must be at least 1, --warmup at least 0")

    workdir = Path(tempfile.mkdtemp(prefix="nexus-registry-bench-", dir=args.workdir))
    env = start_environment(workdir, with_proxy=True)
    puller = None
    try:
        check_ports(env.settings)
        tutorial = workdir / "tutorial-nginx.conf"
        tutorial.write_text(render_tutorial(env.settings))
        env.sandbox.run(["nginx", "-t", "-q", "-c", str(tutorial)])
        env.sandbox.run(["nginx", "-c", str(tutorial)])
        tls_only = workdir / "tls-only-nginx.conf"
        paths = default_cert_paths(env.settings)[env.settings.registry_fqdn]
        tls_only.write_text(TLS_ONLY_CONF.format(workdir=workdir, port=TLS_ONLY_PORT, fqdn=env.settings.registry_fqdn,
                                                 crt=paths.crt, key=paths.key))
        workdir.chmod(0o755)  # the tls-only nginx's workers (www-data) read the layer from here
        env.sandbox.run(["nginx", "-t", "-q", "-c", str(tls_only)])
        env.sandbox.run(["nginx", "-c", str(tls_only)])

        size = args.size_mib << 20
        layer = workdir / "layer.bin"
        digest = write_layer(layer, size)
        targets = {name: Target(env, name) for name in (*CONFIGS, "tls-only")}
        puller = ContainerdPull(env, workdir, size)
        meter = CpuMeter(env)
        rows = ([(c, op) for c in CONFIGS for op in ("push", "pull")] + [("tls-only", "pull")]
                + [(c, "pull") for c in CONTAINERD_CONFIGS])
        times: dict[tuple[str, str], list[float]] = {row: [] for row in rows}
        cpu: dict[tuple[str, str], list[dict[str, float]]] = {row: [] for row in rows}

        def timed(name: str, op: str, action, *action_args) -> float:
            before, started = meter.sample(), time.perf_counter()
            action(*action_args)
            elapsed, after = time.perf_counter() - started, meter.sample()
            times[(name, op)].append(elapsed)
            cpu[(name, op)].append({part: after[part] - before[part] for part in PARTS})
            return elapsed

        nginx_version = env.sandbox.run(["nginx", "-v"]).stderr.strip()
        print(f"layer {args.size_mib} MiB, {args.runs} interleaved runs after {args.warmup} warm-up, "
              f"{os.cpu_count()} CPUs, {nginx_version}, storage {workdir}")
        for _ in range(args.warmup):
            for name in CONFIGS:
                targets[name].push(f"bench/warmup-{name}", layer, digest)
                targets[name].pull(f"bench/warmup-{name}", digest, size)
            targets["tls-only"].pull("", digest, size)
            for name in CONTAINERD_CONFIGS:
                puller.pull(name)
                puller.forget()
        for run in range(args.runs):
            order = CONFIGS[run % 3:] + CONFIGS[:run % 3]
            line = []
            for name in order:
                repository = f"bench/{name}-{run}"
                push = timed(name, "push", targets[name].push, repository, layer, digest)
                pull = timed(name, "pull", targets[name].pull, repository, digest, size)
                line.append(f"{name} push {push:.2f}s pull {pull:.2f}s")
            floor = timed("tls-only", "pull", targets["tls-only"].pull, "", digest, size)
            pulls = []
            for name in CONTAINERD_CONFIGS[run % 2:] + CONTAINERD_CONFIGS[:run % 2]:
                pulls.append(f"{name} {timed(name, 'pull', puller.pull, name):.2f}s")
                puller.forget()
            print(f"run {run + 1}: " + "  ".join(line) + f"  (tls-only pull {floor:.2f}s)  " + "  ".join(pulls))

        print()
        print(f"{'':18}{'push median':>14}{'MiB/s':>8}{'pull median':>14}{'MiB/s':>8}")
        median = {key: statistics.median(values) for key, values in times.items()}
        for name in (*CONFIGS, "tls-only", *CONTAINERD_CONFIGS):
            push = median.get((name, "push"))
            pull = median[(name, "pull")]
            pushed = f"{push:13.2f}s{args.size_mib / push:8.0f}" if push else f"{'-':>14}{'-':>8}"
            print(f"{name:18}{pushed}{pull:13.2f}s{args.size_mib / pull:8.0f}")
        print()
        print("CPU seconds, medians (client = curl or ctr, nginx = workers, registry = the registries, "
              "containerd = its daemon):")
        for name, op in rows:
            spent = "  ".join(f"{part} {statistics.median(c[part] for c in cpu[(name, op)]):5.2f}" for part in PARTS)
            print(f"  {name:18}{op:5} {spent}")
        print()
        print(f"pull: tls-only/direct {median[('tls-only', 'pull')] / median[('direct', 'pull')]:.3f} "
              "(TLS to this client with no proxy at all)")
        verdicts = []
        for op in ("push", "pull"):
            ours_direct = median[("ours", op)] / median[("direct", op)]
            tutorial_direct = median[("tutorial", op)] / median[("direct", op)]
            ours_tutorial = median[("ours", op)] / median[("tutorial", op)]
            print(f"{op}: ours/direct {ours_direct:.3f}  tutorial/direct {tutorial_direct:.3f}  "
                  f"ours/tutorial {ours_tutorial:.3f}")
            verdicts.append(f"{op} ours/direct <= 1.15: {'met' if ours_direct <= 1.15 else 'NOT MET'}")
            verdicts.append(f"{op} ours not slower than tutorial: {'met' if ours_tutorial <= 1.0 else 'NOT MET'}")
        mirror_direct = median[("containerd-mirror", "pull")] / median[("containerd-direct", "pull")]
        print(f"containerd pull: mirror/direct {mirror_direct:.3f}")
        print("goals: " + "; ".join(verdicts))
    finally:
        if puller is not None:
            puller.close()
        for pid_file in ("/run/nginx-tutorial.pid", "/run/nginx-tls-only.pid"):
            extra_nginx = env.sandbox.path(pid_file)
            if extra_nginx.exists() and extra_nginx.read_text().strip():
                os.kill(int(extra_nginx.read_text()), 15)
        env.sandbox.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
