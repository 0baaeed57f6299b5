"""The front door as an attacker and a user meet it: one shipped stack's nginx under real nginx.

``start_front_door(workdir, stack)`` gives a private namespace (``registry_env.Sandbox``)
in which the stack's own rendered files are deployed by the real bundle and
deploy script (the stock Debian nginx.conf, real ports and paths, a test CA),
with ``webAllowedCidrs`` set to ``WEB_ALLOWED`` so that "outside the allow-list"
exists.  Behind nginx, ``connector_stub.py`` listens on every Nexus port
(8001 docker-proxy, 8002 docker-hosted, 8003 docker-group, 8081 web) and logs
each request that reaches it (port, method, raw target, headers, peer); the
docker ports relay to real registries (Debian ``docker-registry``: hosted and a
read-only group on one storage, the proxy on its own) behind the Docker token
handshake Nexus plays, so skopeo and dockerd push and pull for real.

Clients speak from chosen loopback addresses (``curl --interface``): per-address
limits and allow-lists are met as a client meets them.  Every load is bounded in
count and in time.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from components import settings as stack_settings
from components.render import nginx as render_nginx
from tests.harness import stack_file_config
from tests.support.registry_env import (
    CertAuthority,
    Sandbox,
    deploy_bundle,
    make_ca,
    registry_config,
    require_tools,
    write_hosts,
)

STACKS = ("dev", "prod", "lab")
WEB_ALLOWED = ["127.0.0.0/28"]  # 127.0.0.1-.15 reach the web host; 127.0.0.100 and up do not
OUTSIDE = "127.0.0.100"
USER, PASSWORD = "ci", "Ci-Front-Door-Password-1"
PROXY, HOSTED, GROUP, WEB = 8001, 8002, 8003, 8081
BACKENDS = {PROXY: 9001, HOSTED: 9002, GROUP: 9003}  # the real registries behind the stubs
STUB = Path(__file__).with_name("connector_stub.py")
FLOOD = Path(__file__).with_name("front_door_flood.py")


def front_door_settings(stack: str, **overrides) -> stack_settings.Settings:
    config = stack_file_config(stack)
    config["nexus-registry:webAllowedCidrs"] = WEB_ALLOWED
    config.update({f"nexus-registry:{key}": value for key, value in overrides.items()})
    return stack_settings.from_mapping(stack, config, secret_placeholders=True)


@dataclass(frozen=True)
class Seen:
    """One request as a connector stub received it."""

    port: int
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    peer: str

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


@dataclass
class FrontDoor:
    sandbox: Sandbox
    settings: stack_settings.Settings
    ca: CertAuthority
    workdir: Path
    logs: dict[int, Path]
    deploy_output: subprocess.CompletedProcess
    cert_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        self.cert_dir = self.workdir / "client-certs"
        self.cert_dir.mkdir(exist_ok=True)
        shutil.copy(self.ca.ca_crt, self.cert_dir / "ca.crt")

    @property
    def registry(self) -> str:
        return f"https://{self.settings.registry_fqdn}"

    @property
    def mirror(self) -> str:
        return f"https://{self.settings.registry_fqdn}:{self.settings.registry_mirror_port}"

    @property
    def web(self) -> str:
        return f"https://{self.settings.web_fqdn}"

    def seen(self) -> list[Seen]:
        """Everything every stub has received so far, in arrival order per port."""
        found = []
        for log in self.logs.values():
            for line in log.read_text().splitlines():
                entry = json.loads(line)
                found.append(Seen(entry["port"], entry["method"], entry["path"],
                                  tuple(tuple(pair) for pair in entry["headers"]), entry["peer"]))
        return found

    def seen_since(self, before: list[Seen]) -> list[Seen]:
        counts: dict[int, int] = {}
        for item in before:
            counts[item.port] = counts.get(item.port, 0) + 1
        now, result, index = self.seen(), [], {}
        for item in now:
            index[item.port] = index.get(item.port, 0) + 1
            if index[item.port] > counts.get(item.port, 0):
                result.append(item)
        return result

    def curl(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return self.sandbox.run(["curl", "-sS", "--cacert", str(self.ca.ca_crt), "-m", "10", *args],
                                check=False, timeout=timeout)

    def statuses(self, source: str, urls: list[str], *options: str, timeout: float = 180) -> list[int]:
        """HTTP status of each URL, in order, from one curl run bound to ``source`` (000: no answer)."""
        args = ["--interface", source, "-w", "%{http_code}\\n", *options]
        for url in urls:
            args += ["-o", "/dev/null", url]
        return [int(code) for code in self.curl(*args, timeout=timeout).stdout.split()]

    def status(self, source: str, url: str, *options: str) -> int:
        codes = self.statuses(source, [url], *options)
        assert len(codes) == 1, codes
        return codes[0]

    def raw(self, source: str, base: str, method: str, target: str, *options: str) -> int:
        """Status of a request whose target is sent exactly as given (no normalisation by curl)."""
        verb = ["--head"] if method == "HEAD" else ["-X", method]  # -X HEAD would wait for a body
        return self.status(source, f"{base}/", "--path-as-is", "--request-target", target, *verb, *options)

    def skopeo(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return self.sandbox.run(["skopeo", "--insecure-policy", *args], check=False, timeout=timeout)

    def error_logs(self) -> str:
        return "\n".join(log.read_text() for log in sorted(self.sandbox.path("/var/log/nginx").glob("*error.log")))

    def flood(self, source: str, base: str, count: int = 1200, hold: float = 25,
              body_every: int = 1) -> subprocess.Popen:
        """``count`` unfinished requests from ``source`` held open (front_door_flood.py), bounded by ``hold``."""
        host, _, port = base.removeprefix("https://").partition(":")
        return subprocess.Popen(
            self.sandbox.command([sys.executable, str(FLOOD), "--source", source, "--connect",
                                  f"127.0.0.1:{port or 443}", "--name", host, "--cafile", str(self.ca.ca_crt),
                                  "--count", str(count), "--hold", str(hold), "--body-every", str(body_every)]),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def close(self) -> None:
        self.sandbox.close()


def start_front_door(workdir: Path, stack: str, settings: stack_settings.Settings | None = None) -> FrontDoor:
    require_tools()
    settings = settings or front_door_settings(stack)
    sandbox = Sandbox(workdir / "ns")
    try:
        ca = make_ca(workdir / "pki", [settings.registry_fqdn, settings.web_fqdn])
        storage = {HOSTED: workdir / "hosted-storage", GROUP: workdir / "hosted-storage",
                   PROXY: workdir / "proxy-storage"}
        for port, backend in BACKENDS.items():
            storage[port].mkdir(parents=True, exist_ok=True)
            config = workdir / f"registry-{backend}.yml"
            config.write_text(registry_config(storage[port], backend, readonly=port == GROUP))
            sandbox.popen(["docker-registry", "serve", str(config)], workdir / f"registry-{backend}.log")
        logs = {port: workdir / f"seen-{port}.jsonl" for port in (PROXY, HOSTED, GROUP, WEB)}
        for port, log in logs.items():
            log.touch()
            options = ["--user", f"{USER}:{PASSWORD}"]
            if port in BACKENDS:
                options += ["--backend", f"127.0.0.1:{BACKENDS[port]}"]
            if port == PROXY:
                options.append("--anonymous")
            sandbox.popen([sys.executable, str(STUB), str(port), str(log), *options], workdir / f"stub-{port}.out")
        for port in BACKENDS.values():
            sandbox.wait_http(f"http://127.0.0.1:{port}/v2/")
        sandbox.wait_http(f"http://127.0.0.1:{WEB}/service/rest/v1/status")
        for port in BACKENDS:
            sandbox.wait_http(f"http://127.0.0.1:{port}/v2/")
        for log in logs.values():
            log.write_text("")  # the readiness probes are not what the tests look at
        write_hosts(sandbox, settings)
        deployed = sandbox.run(["bash", "-s"], input=deploy_bundle(settings, ca))
        return FrontDoor(sandbox, settings, ca, workdir, logs, deployed)
    except BaseException:
        sandbox.close()
        raise


def wait_for(predicate, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def budget_bound(budget: render_nginx.Budget, elapsed: float) -> int:
    """The most requests one address can get through ``budget`` in ``elapsed`` seconds."""
    per_minute = int(budget.rate.removesuffix("r/m"))
    return budget.burst + 1 + int(per_minute * elapsed / 60) + 1
