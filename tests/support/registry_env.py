"""A disposable "host" for the nginx system tests and the benchmark.

``Sandbox`` is a private network and mount namespace (``unshare --net --mount``)
in which ``/etc``, ``/opt`` and ``/var`` are overlays of the real ones and
``/run`` is empty: the distribution's stock nginx.conf is the real one, the
deploy script runs with its real paths and the real ports 80/443, and nothing
leaks to the machine or to any network (the namespace has only loopback).

Around it: a throw-away CA and leaf certificates (openssl CLI), two CNCF
distribution registries on one storage directory (writable "hosted" on 8002,
read-only "group" on 8003, like Nexus's docker-hosted and docker-group), a
stand-in for the Nexus web port 8081, and an OCI image layout written offline
for skopeo.  Missing tools raise, so a machine without them fails the suite
instead of silently skipping it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from components import host_layout  # noqa: E402
from components.render import nginx as render_nginx  # noqa: E402
from components.render.bundle import HostFile, bundle_script  # noqa: E402
from components.settings import Settings  # noqa: E402
from tests.harness import stack_settings  # noqa: E402

TOOLS = ("nginx", "unshare", "nsenter", "mount", "ip", "openssl", "curl", "skopeo", "docker-registry", "shellcheck")
PROXY_PORT = 8001
HOSTED_PORT = 8002
GROUP_PORT = 8003
WEB_PORT = 8081
STUB = Path(__file__).with_name("nexus_stub.py")


def require_tools(*tools: str) -> None:
    missing = [tool for tool in (tools or TOOLS) if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"system tests need {', '.join(missing)} on PATH (installed by .ci/run)")


def dev_settings() -> Settings:
    return stack_settings("dev")


# --- namespace ---------------------------------------------------------------


class Sandbox:
    """A network + mount namespace that looks like a fresh host with our files deployable."""

    OVERLAID = ("/etc", "/opt", "/var")

    def __init__(self, workdir: Path):
        require_tools("unshare", "nsenter", "mount", "ip")
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.children: list[subprocess.Popen] = []
        own_net = os.readlink("/proc/self/ns/net")
        self.holder = subprocess.Popen(
            ["unshare", "--net", "--mount", "--propagation", "private", "sleep", "infinity"],
            stdin=subprocess.DEVNULL,
        )
        self.pid = self.holder.pid
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{self.pid}/ns/net") == own_net:
            if time.monotonic() > deadline or self.holder.poll() is not None:
                raise RuntimeError("unshare did not create a network namespace")
            time.sleep(0.01)
        self.run(["ip", "link", "set", "lo", "up"])
        for target in self.OVERLAID:
            base = workdir / "overlay" / target.strip("/")
            upper, work = base / "upper", base / "work"
            upper.mkdir(parents=True)
            work.mkdir(parents=True)
            self.run(["mount", "-t", "overlay", "overlay", "-o",
                      f"lowerdir={target},upperdir={upper},workdir={work}", target])
        self.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run"])

    def command(self, args: list[str]) -> list[str]:
        return ["nsenter", "-t", str(self.pid), "--net", "--mount", "--", *args]

    def run(self, args: list[str], *, input: str | bytes | None = None, check: bool = True,
            timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        text = not isinstance(input, bytes)
        result = subprocess.run(self.command(args), input=input, capture_output=True, text=text,
                                timeout=timeout, env=env)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {result.returncode}\n"
                                 f"stdout: {result.stdout}\nstderr: {result.stderr}")
        return result

    def popen(self, args: list[str], log: Path) -> subprocess.Popen:
        with open(log, "ab") as sink:
            process = subprocess.Popen(self.command(args), stdin=subprocess.DEVNULL, stdout=sink,
                                       stderr=subprocess.STDOUT)
        self.children.append(process)
        return process

    def path(self, inside: str) -> Path:
        """A path inside the namespace, as seen from outside (through /proc/PID/root)."""
        return Path(f"/proc/{self.pid}/root{inside}")

    def wait_http(self, url: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while True:
            result = self.run(["curl", "-s", "-o", "/dev/null", "-m", "2", url], check=False)
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {timeout}s: {result.stderr}")
            time.sleep(0.1)

    def nginx_master_pid(self) -> int | None:
        pid_file = self.path("/run/nginx.pid")
        text = pid_file.read_text().strip() if pid_file.exists() else ""
        return int(text) if text else None

    def close(self) -> None:
        master = self.nginx_master_pid()
        if master:
            try:
                os.kill(master, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in self.children:
            if process.poll() is None:
                process.terminate()
        for process in self.children:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.holder.kill()
        self.holder.wait()


# --- certificates --------------------------------------------------------------


@dataclass(frozen=True)
class CertAuthority:
    ca_crt: Path
    leaves: dict[str, tuple[str, str]]  # fqdn -> (cert PEM, key PEM)


def make_ca(directory: Path, fqdns: list[str]) -> CertAuthority:
    """A CA and one leaf per name (RSA 2048, SAN, serverAuth), as a real source would hand over."""
    require_tools("openssl")
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt, "-days", "2",
             "-subj", "/CN=nexus-registry test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    leaves = {}
    for fqdn in fqdns:
        key, csr, crt, ext = (directory / f"{fqdn}.{suffix}" for suffix in ("key", "csr", "crt", "ext"))
        ext.write_text(f"subjectAltName=DNS:{fqdn}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={fqdn}")
        _openssl("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
                 "-extfile", ext, "-out", crt)
        leaves[fqdn] = (crt.read_text(), key.read_text())
    return CertAuthority(ca_crt, leaves)


def _openssl(*args: object) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


# --- registries and the Nexus stand-in ----------------------------------------------


@dataclass
class Registries:
    storage: Path
    hosted_log: Path
    group_log: Path
    proxy_log: Path | None = None  # docker-proxy's stand-in, on a storage of its own (Docker Hub content)

    _REQUEST = re.compile(r'"(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP/[\d.]+" (\d{3})')

    def requests(self, which: str) -> list[tuple[str, str, int]]:
        """(method, uri, status) of each request one registry served, from its access log."""
        log = {"hosted": self.hosted_log, "group": self.group_log, "proxy": self.proxy_log}[which]
        assert log is not None, f"no {which} registry in this environment"
        return [(m.group(1), m.group(2), int(m.group(3))) for m in self._REQUEST.finditer(log.read_text())]


def registry_config(storage: Path, port: int, readonly: bool, htpasswd: Path | None = None) -> str:
    """A distribution config; with ``htpasswd`` it challenges for Basic credentials (Nexus with forceBasicAuth)."""
    config: dict = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            "maintenance": {"readonly": {"enabled": readonly}, "uploadpurging": {"enabled": False}},
            "delete": {"enabled": True},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": "nexus-registry-tests"},
    }
    if htpasswd is not None:
        config["auth"] = {"htpasswd": {"realm": "nexus-registry-tests", "path": str(htpasswd)}}
    return json.dumps(config)  # YAML is a superset of JSON


def start_registries(sandbox: Sandbox, workdir: Path, with_proxy: bool = False,
                     htpasswd: Path | None = None) -> Registries:
    """docker-hosted (writable, 8002) and docker-group (read-only, 8003) on one storage directory;
    with ``with_proxy``, docker-proxy (8001) on a storage of its own, as Docker Hub's content is
    only in docker-proxy (writable here so a test can seed it directly on 127.0.0.1:8001).
    With ``htpasswd``, hosted and group want those credentials (team images need a login); the
    proxy stays anonymous, as the mirror is."""
    require_tools("docker-registry")
    storage = workdir / "registry-storage"
    storage.mkdir(parents=True, exist_ok=True)
    instances = [("hosted", HOSTED_PORT, False, storage), ("group", GROUP_PORT, True, storage)]
    if with_proxy:
        proxy_storage = workdir / "registry-proxy-storage"
        proxy_storage.mkdir(parents=True, exist_ok=True)
        instances.append(("proxy", PROXY_PORT, False, proxy_storage))
    logs = {}
    for name, port, readonly, root in instances:
        config = workdir / f"registry-{name}.yml"
        config.write_text(registry_config(root, port, readonly, htpasswd if name != "proxy" else None))
        logs[name] = workdir / f"registry-{name}.log"
        sandbox.popen(["docker-registry", "serve", str(config)], logs[name])
    for _, port, _, _ in instances:
        sandbox.wait_http(f"http://127.0.0.1:{port}/v2/")  # curl succeeds on a 401 too
    return Registries(storage, logs["hosted"], logs["group"], logs.get("proxy"))


def start_web_stub(sandbox: Sandbox, workdir: Path) -> Path:
    log = workdir / "nexus-stub.log"
    sandbox.popen([sys.executable, str(STUB), str(WEB_PORT)], log)
    sandbox.wait_http(f"http://127.0.0.1:{WEB_PORT}/service/rest/v1/status")
    return log


# --- deploying our files as NginxProxy does ----------------------------------------


def deploy_bundle(settings: Settings, ca: CertAuthority) -> str:
    """The deploy step's stdin, built the way ``NginxProxy`` and ``components.remote.host_step`` build it."""
    return deploy_bundle_with(settings, {fqdn: ca.leaves[fqdn] for fqdn in (settings.registry_fqdn, settings.web_fqdn)})


def deploy_bundle_with(settings: Settings, certificates: dict[str, tuple[str, str]]) -> str:
    """The deploy step's stdin for ``certificates`` (fqdn -> (chain PEM, key PEM)): the component's
    plain files (``deploy_files``) followed by its secret files (0600, at ``staged_cert_files``)."""
    files = list(render_nginx.deploy_files(settings))
    for fqdn, (crt_path, key_path) in render_nginx.staged_cert_files(settings).items():
        cert, key = certificates[fqdn]
        files += [HostFile(crt_path, cert, "0600"), HostFile(key_path, key, "0600")]
    return bundle_script(files, host_layout.NGINX_DEPLOY_SCRIPT)


def write_hosts(sandbox: Sandbox, settings: Settings) -> None:
    hosts = sandbox.path("/etc/hosts")
    hosts.write_text(f"127.0.0.1 localhost {settings.registry_fqdn} {settings.web_fqdn}\n")


@dataclass
class Environment:
    """Everything up: registries, web stand-in, nginx deployed by the real bundle + deploy script."""

    sandbox: Sandbox
    settings: Settings
    ca: CertAuthority
    registries: Registries
    workdir: Path
    deploy_output: subprocess.CompletedProcess
    cert_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        self.cert_dir = self.workdir / "client-certs"
        self.cert_dir.mkdir(exist_ok=True)
        shutil.copy(self.ca.ca_crt, self.cert_dir / "ca.crt")

    def curl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.sandbox.run(["curl", "-sS", "--cacert", str(self.ca.ca_crt), *args], check=check)

    def skopeo(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        return self.sandbox.run(["skopeo", "--insecure-policy", *args], check=check, timeout=timeout)

    def nginx_error_logs(self) -> str:
        logs = sorted(self.sandbox.path("/var/log/nginx").glob("*error.log"))
        return "\n".join(f"== {log.name}\n{log.read_text()}" for log in logs)

    def nginx_access_log(self, fqdn: str) -> str:
        return self.sandbox.path(f"/var/log/nginx/{fqdn}.access.log").read_text()


def start_environment(workdir: Path, settings: Settings | None = None, with_proxy: bool = False,
                      htpasswd: Path | None = None) -> Environment:
    require_tools()
    settings = settings or dev_settings()
    sandbox = Sandbox(workdir / "ns")
    try:
        ca = make_ca(workdir / "pki", [settings.registry_fqdn, settings.web_fqdn])
        registries = start_registries(sandbox, workdir, with_proxy, htpasswd)
        start_web_stub(sandbox, workdir)
        write_hosts(sandbox, settings)
        deployed = sandbox.run(["bash", "-s"], input=deploy_bundle(settings, ca))
        return Environment(sandbox, settings, ca, registries, workdir, deployed)
    except BaseException:
        sandbox.close()
        raise


# --- an OCI image layout written offline --------------------------------------------


@dataclass(frozen=True)
class Blob:
    digest: str
    size: int
    media_type: str


@dataclass(frozen=True)
class OciImage:
    layout: Path
    tag: str
    manifest: Blob
    config: Blob
    layers: tuple[Blob, ...]

    def blob_path(self, digest: str) -> Path:
        return self.layout / "blobs" / "sha256" / digest.removeprefix("sha256:")


def _write_blob(layout: Path, data: bytes, media_type: str) -> Blob:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return Blob(f"sha256:{digest}", len(data), media_type)


def _write_layer(layout: Path, size: int, seed: bytes, level: int) -> tuple[Blob, str]:
    """A gzip'd tar with one file of ``size`` pseudo-random bytes; returns (blob, diff_id).

    Bytes come from an 8 MiB random block made unique per 1 MiB by a counter
    and the seed, so layers never collide and a big one is fast to produce;
    gzip level 0 (stored) keeps a 1 GiB layer 1 GiB on the wire.
    """
    block = os.urandom(8 << 20)
    compressed_hash, plain_hash = hashlib.sha256(), hashlib.sha256()
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    tmp = layout / "blobs" / "sha256" / f".tmp-{seed.hex()}"
    with open(tmp, "wb") as out:
        def emit(chunk: bytes) -> None:
            plain_hash.update(chunk)
            packed = compressor.compress(chunk)
            if packed:
                compressed_hash.update(packed)
                out.write(packed)

        info = tarfile.TarInfo("payload.bin")
        info.size, info.mode, info.mtime = size, 0o644, 0
        emit(info.tobuf(format=tarfile.PAX_FORMAT))
        written, counter = 0, 0
        while written < size:
            piece = min(1 << 20, size - written)
            offset = (counter * (1 << 20)) % len(block)
            chunk = (seed + counter.to_bytes(8, "big") + block[offset:offset + piece])[:piece]
            emit(chunk)
            written += piece
            counter += 1
        emit(b"\0" * ((512 - size % 512) % 512) + b"\0" * 1024)
        tail = compressor.flush()
        compressed_hash.update(tail)
        out.write(tail)
        compressed_size = out.tell()
    digest = compressed_hash.hexdigest()
    tmp.rename(layout / "blobs" / "sha256" / digest)
    blob = Blob(f"sha256:{digest}", compressed_size, "application/vnd.oci.image.layer.v1.tar+gzip")
    return blob, f"sha256:{plain_hash.hexdigest()}"


def write_oci_image(layout: Path, layer_sizes: list[int], tag: str = "1", level: int = 6) -> OciImage:
    """An OCI image layout (index.json, oci-layout, blobs) with fresh random layers."""
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    layers, diff_ids = [], []
    for index, size in enumerate(layer_sizes):
        blob, diff_id = _write_layer(layout, size, os.urandom(8) + index.to_bytes(8, "big"), level)
        layers.append(blob)
        diff_ids.append(diff_id)
    config = _write_blob(layout, json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": ["/payload.bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }, sort_keys=True).encode(), "application/vnd.oci.image.config.v1+json")
    manifest = _write_blob(layout, json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": config.media_type, "digest": config.digest, "size": config.size},
        "layers": [{"mediaType": b.media_type, "digest": b.digest, "size": b.size} for b in layers],
    }, sort_keys=True).encode(), "application/vnd.oci.image.manifest.v1+json")
    (layout / "index.json").write_text(json.dumps({
        "schemaVersion": 2,
        "manifests": [{"mediaType": manifest.media_type, "digest": manifest.digest, "size": manifest.size,
                       "annotations": {"org.opencontainers.image.ref.name": tag}}],
    }))
    return OciImage(layout, tag, manifest, config, tuple(layers))
