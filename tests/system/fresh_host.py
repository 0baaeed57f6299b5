"""A fresh Debian 12 host for the host scripts, reachable over real SSH: the fixture behind test_fresh_host.py.

``FreshHost`` is a new Linux root (``mmdebstrap`` minbase + openssh-server +
sudo, from the machine's own apt sources read at run time, cached under
``/var/cache/nexus-registry-ci``) booted into private mount, network and PID
namespaces: an overlay over the cached root (so each host starts fresh and the
cache stays clean), ``pivot_root`` into it, loopback only, and ``sshd`` on
127.0.0.1:22 as the first service.  Neither Docker nor nginx is installed.
Steps run exactly as ``pulumi up`` runs them: the step's stdin bundle fed to
``bash -s`` (or ``sudo -n bash -s`` for a non-root user) over an OpenSSH
session with key authentication (``FreshHost.step``).

What differs from a cloud host, and why (each a stand-in for one thing only):

- **systemd**: there is no init system.  Package scripts start services
  through ``invoke-rc.d`` and the packages' own init scripts, as on a host
  without systemd: ``/usr/sbin/policy-rc.d`` allows every start (a chroot's
  default is to block them, which would hide the nginx first-install defect),
  except Docker's, which the systemd stand-in starts.  The stand-in,
  ``/usr/local/sbin/nexus-test-systemctl``, reaches the scripts through their
  existing ``SYSTEMCTL`` override (``sshd`` ``SetEnv``, kept by ``sudo``) and
  really starts ``dockerd`` with the flags this sandbox needs
  (``--iptables=false --ip6tables=false --storage-driver=vfs``).
- **nofile 65536**: the sandbox's hard limit on open files is 20000, so the
  container's ``--ulimit nofile=65536:65536`` cannot be granted.
  ``/usr/local/bin/docker`` (first on sudo's PATH) rewrites that one option
  to 20000:20000, logs that it did, and runs the real ``docker``.
- **network**: the namespace has loopback only.  apt reaches the machine's own
  apt mirrors through ``netns_apt_proxy.py`` (listening inside, fetching
  outside, only to those mirrors); downloaded packages are cached in
  ``/var/cache/nexus-registry-ci/apt-archives``.  Docker Hub is replaced by
  local registries (see ``NexusImage``).
- **the Nexus image**: ``standin_nexus.py`` in an image built here.

Nothing of the host outlives ``close()``: killing the namespace's first
process ends every process in it (sshd, dockerd, containers, nginx), and the
overlay's upper directory is removed with the test's temporary directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from components import host_layout
from components.render import nexus as render_nexus
from components.render.bundle import HostFile, bundle_script
from components.settings import Settings
from tests.support.registry_env import CertAuthority
from tests.support.settings import make_settings

REPOSITORY = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("NEXUS_REGISTRY_CI_CACHE", "/var/cache/nexus-registry-ci"))
APT_ARCHIVES = CACHE / "apt-archives"
SUITE = "bookworm"  # Debian 12, a supported OS of the prepare script
ROOT_PACKAGES = ("openssh-server", "sudo")  # what a minimal cloud image has beyond minbase
IMAGE_PACKAGES = ("python3", "docker-registry", "busybox-static")
RECIPE = "1"  # bump to rebuild the cached roots after changing how they are built
TOOLS = ("mmdebstrap", "unshare", "nsenter", "pivot_root", "chroot", "ip", "ssh", "ssh-keygen", "skopeo",
         "docker-registry", "openssl", "curl")
APT_PROXY_PORT = 3142
MIRROR_PORT = 5000  # the host Docker's registry mirror (serves the stand-in Nexus image)
SYSTEMCTL_STANDIN = "/usr/local/sbin/nexus-test-systemctl"
PACKAGE_MANAGER_LOG = "/var/log/nexus-test-package-manager.log"
ULIMIT_LOG = "/var/log/nexus-test-docker-ulimit.log"


def require_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"fresh-host tests need {', '.join(missing)} (installed by .ci/run); they never skip")
    if os.geteuid() != 0:
        raise RuntimeError("fresh-host tests need root (namespaces, mounts); CI runs as root")


# --- the machine's own apt sources ---------------------------------------------------------


def apt_sources() -> str:
    """The machine's Debian sources for SUITE, as one deb822 text (read now, never stored in the repository)."""
    stanzas: list[str] = []
    legacy = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]
    for path in legacy:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            parts = line.split("#", 1)[0].split()
            if len(parts) >= 4 and parts[0] == "deb":
                options = []
                if parts[1].startswith("["):
                    while not parts[1].endswith("]"):
                        options.append(parts.pop(1))
                    options.append(parts.pop(1))
                uri, suite, components = parts[1], parts[2], parts[3:]
                if suite.startswith(SUITE):
                    stanzas.append(f"Types: deb\nURIs: {uri}\nSuites: {suite}\nComponents: {' '.join(components)}\n")
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields = dict(re.findall(r"^([A-Za-z-]+):[ \t]*(.*)$", stanza, re.M))
            if "deb" in fields.get("Types", "").split() and any(
                    suite.startswith(SUITE) for suite in fields.get("Suites", "").split()) \
                    and fields.get("Enabled", "yes") != "no":
                kept = "\n".join(line for line in stanza.strip().splitlines() if not line.lstrip().startswith("#"))
                stanzas.append(kept + "\n")
    if not stanzas:
        raise RuntimeError(f"no Debian {SUITE} apt source on this machine (/etc/apt/sources.list*)")
    return "\n".join(stanzas)


def mirror_hosts(sources: str) -> list[str]:
    hosts = set()
    for line in sources.splitlines():
        if line.startswith("URIs:"):
            hosts.update(re.findall(r"https?://([^/:\s]+)", line))
    return sorted(hosts)


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join((RECIPE, *parts)).encode()).hexdigest()[:16]


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _mmdebstrap(target: Path, variant: str, packages: tuple[str, ...], sources: str, *extra: str) -> None:
    with _locked(CACHE / "sources.lock"):
        source_file = CACHE / f"sources-{_key(sources)}.sources"
        source_file.write_text(sources)
    started = time.monotonic()
    result = subprocess.run(
        ["mmdebstrap", f"--variant={variant}", f"--include={','.join(packages)}", *extra, SUITE, str(target),
         str(source_file)],
        capture_output=True, text=True, timeout=1200)
    if result.returncode != 0:
        raise RuntimeError(f"mmdebstrap failed ({result.returncode}):\n{result.stderr[-4000:]}")
    print(f"built {target} in {time.monotonic() - started:.0f}s", file=sys.stderr)


def cached_root() -> Path:
    """The fresh Debian root (a directory, never written to: hosts are overlays over it)."""
    sources = apt_sources()
    key = _key("root", sources, *ROOT_PACKAGES)
    root = CACHE / "roots" / key
    with _locked(CACHE / "roots" / f"{key}.lock"):
        if not (root / "etc" / "os-release").exists():
            tmp = root.with_name(f"{key}.tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            # Package lists kept: a cloud image has them too, and apt-get update then only revalidates.
            _mmdebstrap(tmp, "minbase", ROOT_PACKAGES, sources, "--skip=cleanup/apt/lists")
            shutil.rmtree(root, ignore_errors=True)
            tmp.rename(root)
    return root


def root_host_key() -> str:
    """The fresh root's SSH host key (``server.hostKey`` of the tests' stacks): the session pins it."""
    fields = (cached_root() / "etc" / "ssh" / "ssh_host_ed25519_key.pub").read_text().split()
    return f"{fields[0]} {fields[1]}"


def cached_image_rootfs() -> Path:
    """A tarball of the stand-in Nexus image's base (python3, docker-registry, busybox-static)."""
    sources = apt_sources()
    key = _key("image", sources, *IMAGE_PACKAGES)
    tarball = CACHE / "images" / f"{key}.tar"
    with _locked(CACHE / "images" / f"{key}.lock"):
        if not tarball.exists():
            tmp = tarball.with_suffix(".tmp.tar")
            tmp.unlink(missing_ok=True)
            _mmdebstrap(tmp, "essential", IMAGE_PACKAGES, sources,
                        *(f"--dpkgopt=path-exclude=/usr/share/{d}/*" for d in ("doc", "man", "locale", "info")))
            tmp.rename(tarball)
    return tarball


# --- OCI images written offline (pushed with skopeo) ---------------------------------------


@dataclass(frozen=True)
class Layer:
    digest: str  # of the gzip blob
    diff_id: str  # of the uncompressed tar
    size: int
    path: Path


def gzip_layer(tar_path: Path, blobs: Path) -> Layer:
    """gzip a layer tarball into an OCI blob directory (level 1: big base layers, CI time matters)."""
    blobs.mkdir(parents=True, exist_ok=True)
    plain, packed = hashlib.sha256(), hashlib.sha256()
    tmp = blobs / f".tmp-{os.getpid()}"
    with open(tar_path, "rb") as source, open(tmp, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as out:
            while chunk := source.read(1 << 20):
                plain.update(chunk)
                out.write(chunk)
    data_size = tmp.stat().st_size
    with open(tmp, "rb") as blob:
        while chunk := blob.read(1 << 20):
            packed.update(chunk)
    final = blobs / packed.hexdigest()
    tmp.rename(final)
    return Layer(f"sha256:{packed.hexdigest()}", f"sha256:{plain.hexdigest()}", data_size, final)


def write_oci(layout: Path, layers: list[Layer], config: dict, tag: str) -> Path:
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    for layer in layers:
        target = blobs / layer.digest.removeprefix("sha256:")
        if not target.exists():
            try:
                os.link(layer.path, target)
            except OSError:
                shutil.copy(layer.path, target)

    def blob(data: bytes) -> tuple[str, int]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return f"sha256:{digest}", len(data)

    image_config = {"architecture": "amd64", "os": "linux", "config": config,
                    "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]}}
    config_digest, config_size = blob(json.dumps(image_config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                   "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer.digest,
                    "size": layer.size} for layer in layers],
    }
    manifest_digest, manifest_size = blob(json.dumps(manifest, sort_keys=True).encode())
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": manifest["mediaType"], "digest": manifest_digest, "size": manifest_size,
         "annotations": {"org.opencontainers.image.ref.name": tag}}]}))
    return layout


def _add_tree(archive: tarfile.TarFile, source: Path, target: str, uid: int = 0) -> None:
    """``source`` at ``target``, world-readable, parents included (a layer's missing parent is not 0755)."""
    def owner(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if "__pycache__" in info.name:
            return None
        info.uid = info.gid = uid
        info.uname = info.gname = ""
        info.mtime = 0
        if info.isdir() or info.mode & 0o100:
            info.mode = 0o755
        elif info.isfile():
            info.mode = 0o644
        return info

    parts = target.strip("/").split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        name = "/".join(parts[:depth])
        if name not in archive.getnames():
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
    archive.add(str(source), arcname=target.lstrip("/"), filter=owner)


def busybox_tar(image_rootfs: Path, destination: Path) -> Path:
    """A busybox-like root: the static busybox of the image base plus its applet links."""
    with tarfile.open(image_rootfs) as base:
        member = next(m for m in base.getmembers() if m.name.lstrip("./") in ("bin/busybox", "usr/bin/busybox"))
        binary = base.extractfile(member).read()
    with tarfile.open(destination, "w") as archive:
        for directory in ("bin", "etc", "tmp"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            archive.addfile(info)
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(binary), 0o755
        archive.addfile(info, io.BytesIO(binary))
        for applet in ("sh", "cat", "echo", "ls", "true"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            archive.addfile(link)
    return destination


def python_packages_of_fake_nexus() -> list[Path]:
    """Top-level site-packages entries the fake Nexus imports (run in a clean interpreter)."""
    code = ("import sys, json; import tests.fakes.nexus; "
            "print(json.dumps(sorted({getattr(m, '__file__', None) or '' for m in list(sys.modules.values())})))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPOSITORY, capture_output=True, text=True,
                            check=True)
    entries = set()
    for path in json.loads(result.stdout):
        if "site-packages" not in path:
            continue
        head, _, tail = path.partition("site-packages/")
        entries.add(Path(head + "site-packages") / tail.split("/")[0])
    return sorted(entries)


# --- the host -------------------------------------------------------------------------------

POLICY_RC_D = """#!/bin/sh
# Fresh-host test root: package scripts may start services, as on a real host (a chroot's default is to
# block them).  Docker Engine is the one exception: the systemd stand-in starts it with this sandbox's flags.
case "$1" in
  docker | docker.service | containerd | containerd.service) exit 101 ;;
esac
exit 0
"""

SYSTEMCTL = r"""#!/bin/bash
# systemd stand-in of the fresh-host tests (not part of the product): the scripts call it through their
# SYSTEMCTL override.  It manages Docker Engine only, as systemd would with docker.service, with the flags
# this sandbox needs; anything else the scripts ask for fails loudly so a new need is noticed.
set -euo pipefail
echo "$*" >>/var/log/nexus-test-systemctl.log
now=no
args=()
for arg in "$@"; do
  case $arg in
    --now) now=yes ;;
    -*) ;;
    *) args+=("$arg") ;;
  esac
done
verb=${args[0]:-}
unit=${args[1]:-}
unit=${unit%.service}
running() { [[ -S /var/run/docker.sock ]] && /usr/bin/docker version >/dev/null 2>&1; }
start() {
  running && return 0
  setsid /usr/sbin/dockerd --iptables=false --ip6tables=false --storage-driver=vfs \
    </dev/null >>/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 240); do
    running && return 0
    sleep 0.5
  done
  echo "systemctl stand-in: dockerd did not start:" >&2
  tail -n 30 /var/log/dockerd.log >&2
  exit 1
}
stop() {
  local pid
  pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  [[ -n $pid ]] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 240); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  echo "systemctl stand-in: dockerd $pid did not stop" >&2
  exit 1
}
case "$verb:$unit" in
  enable:docker) if [[ $now == yes ]]; then start; fi ;;
  start:docker) start ;;
  restart:docker) stop; start ;;
  stop:docker) stop ;;
  is-active:docker) running ;;
  daemon-reload:) ;;
  *) echo "systemctl stand-in: '$*' is not supported" >&2; exit 1 ;;
esac
"""

DOCKER_ULIMIT = r"""#!/bin/bash
# Stand-in for one docker option only (fresh-host tests): the sandbox's hard nofile limit is 20000, so
# "--ulimit nofile=65536:65536" cannot be granted; it becomes 20000:20000, logged.  All else is the real docker.
args=()
for arg in "$@"; do
  if [[ $arg == nofile=65536:65536 ]]; then
    echo "rewrote --ulimit nofile=65536:65536 to nofile=20000:20000 for: docker $1" \
      >>/var/log/nexus-test-docker-ulimit.log
    arg=nofile=20000:20000
  fi
  args+=("$arg")
done
exec /usr/bin/docker "${args[@]}"
"""

PACKAGE_MANAGER_WRAPPER = r"""#!/bin/sh
# Fresh-host tests: record every call of the package manager, then run it.
echo "$0 $*" >>/var/log/nexus-test-package-manager.log
exec "$0.distrib" "$@"
"""

BOOT = r"""
set -euo pipefail
root=$1 lower=$2 upper=$3 work=$4 archives=$5
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount --bind "$archives" "$root/var/cache/apt/archives"
ip link set lo up
hostname nexus-fresh-host
chroot "$root" /bin/sh -c '
  set -e
  id deploy >/dev/null 2>&1 || useradd --create-home --shell /bin/bash deploy
  chown -R deploy:deploy /home/deploy
  for tool in /usr/bin/apt-get /usr/bin/dpkg; do
    dpkg-divert --quiet --local --rename --divert "$tool.distrib" --add "$tool"
    cp /usr/local/lib/nexus-test/package-manager "$tool"
  done
'
mkdir -p "$root/.oldroot"
cd "$root"
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot
mkdir -p /run/sshd
/usr/sbin/sshd -D -e >>/var/log/sshd.log 2>&1 &
touch /run/nexus-test-booted
trap 'exit 0' TERM
while :; do
  sleep 3600 &
  wait $! || true
done
"""


def _die_with_parent() -> None:
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)


@dataclass
class StepResult:
    name: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def ok(self) -> StepResult:
        assert self.returncode == 0, (f"step {self.name} exited {self.returncode}\n--- stdout\n{self.stdout}\n"
                                      f"--- stderr\n{self.stderr}")
        return self


class FreshHost:
    """A new Debian 12 root in its own namespaces, with sshd on 127.0.0.1:22 (see the module docstring)."""

    def __init__(self, workdir: Path, hostnames: tuple[str, ...] = (), apt_archives: Path = APT_ARCHIVES):
        """``apt_archives``: where apt keeps downloaded packages (shared cache by default; a directory
        of its own makes every package a download, for tests of an unreachable mirror)."""
        require_tools()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.lower = cached_root()
        self.apt_archives = apt_archives
        (apt_archives / "partial").mkdir(parents=True, exist_ok=True)
        self.mirror_offline_flag = workdir / "mirror-offline"
        self.upper, self.work, self.merged = workdir / "upper", workdir / "work", workdir / "merged"
        for directory in (self.upper, self.work, self.merged):
            directory.mkdir()
        self.key = workdir / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)], check=True)
        self.sources = apt_sources()
        self._seed(hostnames)
        self.children: list[subprocess.Popen] = []
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--net", "--pid", "--uts", "--fork", "--kill-child=SIGKILL",
             "--propagation", "private",
             "bash", "-c", BOOT, "boot", str(self.merged), str(self.lower), str(self.upper), str(self.work),
             str(apt_archives)],
            stdin=subprocess.DEVNULL, stdout=open(workdir / "boot.log", "wb"), stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent)  # a killed test run leaves no host behind
        try:
            self.pid = self._namespace_init()
            self._wait_for(lambda: self.path("/run/nexus-test-booted").exists(), "the host to boot")
            self._start_apt_proxy()
            self._wait_for(lambda: self.ssh("root", "true", check=False).returncode == 0, "sshd", timeout=30)
        except BaseException:
            self.close()
            raise

    # -- set-up ---------------------------------------------------------------------------

    def _put(self, path: str, content: str, mode: int = 0o644) -> None:
        target = self.upper / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        target.chmod(mode)

    def _seed(self, hostnames: tuple[str, ...]) -> None:
        public = self.key.with_suffix(".pub").read_text()
        self._put("/usr/sbin/policy-rc.d", POLICY_RC_D, 0o755)
        self._put(SYSTEMCTL_STANDIN, SYSTEMCTL, 0o755)
        self._put("/usr/local/bin/docker", DOCKER_ULIMIT, 0o755)
        self._put("/usr/local/lib/nexus-test/package-manager", PACKAGE_MANAGER_WRAPPER, 0o755)
        self._put("/etc/apt/apt.conf.d/99nexus-test-proxy",
                  f'Acquire::http::Proxy "http://127.0.0.1:{APT_PROXY_PORT}/";\n'
                  f'Acquire::https::Proxy "http://127.0.0.1:{APT_PROXY_PORT}/";\n')
        self._put("/etc/ssh/sshd_config.d/nexus-test.conf",
                  "ListenAddress 127.0.0.1\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                  f"SetEnv SYSTEMCTL={SYSTEMCTL_STANDIN}\n")
        self._put("/etc/sudoers.d/nexus-test-deploy",
                  'deploy ALL=(ALL) NOPASSWD: ALL\nDefaults env_keep += "SYSTEMCTL"\n', 0o440)
        self._put("/root/.ssh/authorized_keys", public, 0o600)
        self._put("/home/deploy/.ssh/authorized_keys", public, 0o600)
        # What a lab client does (README): the stack's names resolve to the server.
        self._put("/etc/hosts", f"127.0.0.1 localhost {' '.join(hostnames)}\n127.0.1.1 nexus-fresh-host\n")
        self._put("/etc/hostname", "nexus-fresh-host\n")

    def _namespace_init(self) -> int:
        """The PID (as seen here) of the namespace's first process: unshare's child."""
        def child() -> int | None:
            try:
                text = Path(f"/proc/{self.holder.pid}/task/{self.holder.pid}/children").read_text().split()
            except FileNotFoundError:
                return None
            return int(text[0]) if text else None
        self._wait_for(lambda: child() is not None, "unshare to fork")
        return child()  # type: ignore[return-value]

    def _wait_for(self, condition, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.holder.poll() is not None:
                raise RuntimeError(f"the host died while waiting for {what}:\n{self.boot_log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}:\n{self.boot_log()}")
            time.sleep(0.1)

    def boot_log(self) -> str:
        log = self.workdir / "boot.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def _start_apt_proxy(self) -> None:
        self.apt_proxy_log = self.workdir / "apt-proxy.log"
        proxy = subprocess.Popen(
            [sys.executable, str(REPOSITORY / "tests/support/netns_apt_proxy.py"), "--netns-pid", str(self.pid),
             "--port", str(APT_PROXY_PORT), "--allow", ",".join(mirror_hosts(self.sources)),
             "--log", str(self.apt_proxy_log), "--offline-flag", str(self.mirror_offline_flag)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            preexec_fn=_die_with_parent)
        self.children.append(proxy)
        line = proxy.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"the apt proxy did not start: {line}{proxy.stdout.read()}")

    # -- using it -------------------------------------------------------------------------

    def mirror_reachable(self, reachable: bool) -> None:
        """Make the apt mirrors unreachable (503 from the proxy) or reachable again."""
        if reachable:
            self.mirror_offline_flag.unlink(missing_ok=True)
        else:
            self.mirror_offline_flag.touch()

    def path(self, inside: str) -> Path:
        """A path of the host's filesystem, as seen from the test."""
        return Path(f"/proc/{self.pid}/root{inside}")

    def command(self, args: list[str], net_only: bool = False) -> list[str]:
        if net_only:  # a tool of this machine, on the host's network (e.g. the ssh client, skopeo)
            return ["nsenter", "-t", str(self.pid), "--net", "--", *args]
        return ["nsenter", "-t", str(self.pid), "--mount", "--net", "--pid", "--root", "--wd", "--", *args]

    def run(self, args: list[str], *, input: str | None = None, check: bool = True, timeout: float = 300,
            net_only: bool = False, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run(self.command(args, net_only), input=input, capture_output=True, text=True,
                                timeout=timeout, env=env)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {result.returncode}\nstdout: {result.stdout}\n"
                                 f"stderr: {result.stderr}")
        return result

    def sh(self, script: str, **kwargs) -> subprocess.CompletedProcess:
        return self.run(["/bin/bash", "-c", script], **kwargs)

    def popen(self, args: list[str], log: Path, net_only: bool = False) -> subprocess.Popen:
        with open(log, "ab") as sink:
            process = subprocess.Popen(self.command(args, net_only), stdin=subprocess.DEVNULL, stdout=sink,
                                       stderr=subprocess.STDOUT)
        self.children.append(process)
        return process

    def ssh(self, user: str, remote_command: str, *, input: str | None = None, check: bool = True,
            timeout: float = 1200) -> subprocess.CompletedProcess:
        """A real OpenSSH session (key authentication) to the host's sshd on 127.0.0.1:22."""
        known_hosts = self.workdir / "known_hosts"
        if not known_hosts.exists():
            known_hosts.write_text(f"127.0.0.1 {root_host_key()}\n")
        # The host key is pinned (server.hostKey), as pulumi up pins it: never trust on first use.
        args = ["ssh", "-i", str(self.key), "-p", "22", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", f"UserKnownHostsFile={known_hosts}", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
                f"{user}@127.0.0.1", remote_command]
        return self.run(args, input=input, check=check, timeout=timeout, net_only=True)

    def step(self, name: str, user: str, stdin: str, timeout: float = 1200) -> StepResult:
        """One host step as pulumi-command runs it: ``become(user)`` over SSH, the bundle on stdin."""
        from components.remote import become

        started = time.monotonic()
        result = self.ssh(user, become(user), input=stdin, check=False, timeout=timeout)
        return StepResult(name, result.returncode, result.stdout, result.stderr, time.monotonic() - started)

    def read(self, inside: str) -> str:
        path = self.path(inside)
        return path.read_text(errors="replace") if path.exists() else ""

    def installed_packages(self) -> str:
        return self.run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${Status}\n"]).stdout

    def nginx_master_pid(self) -> int | None:
        text = self.read("/run/nginx.pid").strip()
        return int(text) if text else None

    def close(self) -> None:
        for process in self.children:
            if process.poll() is None:
                process.terminate()
        pid = getattr(self, "pid", None)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # the namespace's init: the kernel ends every process in it
        for process in [*self.children, self.holder]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


# --- the steps of one stack, exactly as the components build their stdin ---------------------


def secret_files(settings: Settings) -> list[HostFile]:
    """The bootstrap step's secret files with their values (``NexusServer`` wraps the same in Output.secret)."""
    return [HostFile(path, value, "0600") for path, value in render_nexus.bootstrap_secret_files(settings)]


def step_bundles(settings: Settings, certificates: dict[str, tuple[str, str]]) -> dict[str, str]:
    """name -> stdin of every host step, in ``pulumi up`` order, from the functions the components use."""
    from tests.support.registry_env import deploy_bundle_with

    if settings.database.engine != "h2":
        raise ValueError("step_bundles builds the H2 pipeline; database.engine postgresql adds a database step")
    data_disk = getattr(settings.server, "data_device", None) or ""
    deploy = deploy_bundle_with(settings, certificates)
    digest = hashlib.sha256(deploy.encode()).hexdigest() + "\n"
    return {
        "prepare": bundle_script(render_nexus.prepare_files(settings), render_nexus.PREPARE_SCRIPT),
        "prepare-disk": bundle_script(render_nexus.prepare_disk_files(settings, data_disk or None),
                                      render_nexus.PREPARE_DISK_SCRIPT),
        "container": bundle_script(render_nexus.container_files(settings), render_nexus.CONTAINER_SCRIPT),
        "bootstrap": bundle_script([*render_nexus.bootstrap_files(settings), *secret_files(settings)],
                                   render_nexus.BOOTSTRAP_SCRIPT),
        "nginx-deploy": deploy,
        "nginx-smoke": bundle_script([HostFile(host_layout.NGINX_DEPLOYED_DIGEST, digest)],
                                     host_layout.NGINX_SMOKE_SCRIPT),
    }


# --- the stand-in Nexus image and the Docker Hub stand-in ---------------------------------


class NexusImage:
    """Builds the stand-in Nexus image offline and serves it from the host Docker's registry mirror.

    Layer 1: the cached Debian base (python3, docker-registry, busybox-static).
    Layer 2: the fake Nexus and its Python packages, the entrypoint, and the
    Docker Hub stand-in's storage, seeded with a busybox-like ``library/busybox``.
    """

    def __init__(self, host: FreshHost, workdir: Path, reference: str):
        self.host = host
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.rootfs = cached_image_rootfs()
        self.busybox = busybox_tar(self.rootfs, workdir / "busybox.tar")
        base_blobs = CACHE / "images" / f"{self.rootfs.stem}-blobs"
        with _locked(CACHE / "images" / f"{self.rootfs.stem}-blobs.lock"):
            marker = base_blobs / "layer.json"
            if marker.exists():
                self.base = Layer(**{**json.loads(marker.read_text()),
                                     "path": base_blobs / json.loads(marker.read_text())["path"]})
            else:
                self.base = gzip_layer(self.rootfs, base_blobs)
                marker.write_text(json.dumps({"digest": self.base.digest, "diff_id": self.base.diff_id,
                                              "size": self.base.size, "path": self.base.path.name}))
        self.mirror_storage = workdir / "mirror-storage"
        self.mirror_log = workdir / "mirror.log"
        self.reference = reference  # e.g. sonatype/nexus3:3.98.0

    def _registry(self, name: str, port: int, storage: Path) -> subprocess.Popen:
        from tests.support.registry_env import registry_config

        storage.mkdir(parents=True, exist_ok=True)
        config = self.workdir / f"{name}.yml"
        config.write_text(registry_config(storage, port, readonly=False))
        process = self.host.popen(["docker-registry", "serve", str(config)], self.workdir / f"{name}.log",
                                  net_only=True)
        deadline = time.monotonic() + 20
        while self.host.run(["curl", "-sf", "-o", "/dev/null", f"http://127.0.0.1:{port}/v2/"], check=False,
                            net_only=True).returncode != 0:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"registry {name} did not start: {(self.workdir / f'{name}.log').read_text()}")
            time.sleep(0.1)
        return process

    def _skopeo_copy(self, layout: Path, tag: str, destination: str) -> None:
        self.host.run(["skopeo", "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false",
                       f"oci:{layout}:{tag}", f"docker://{destination}"], net_only=True, timeout=600)

    def _seeded_hub(self) -> Path:
        """Docker Hub stand-in storage holding library/busybox:latest, filled by a real registry + skopeo."""
        storage = self.workdir / "hub-storage"
        hub = self._registry("hub-seed", 5001, storage)
        layer = gzip_layer(self.busybox, self.workdir / "busybox-blobs")
        layout = write_oci(self.workdir / "busybox-oci", [layer], {"Cmd": ["sh"]}, "latest")
        self._skopeo_copy(layout, "latest", "127.0.0.1:5001/library/busybox:latest")
        hub.terminate()
        hub.wait(timeout=10)
        return storage

    def _app_layer(self, hub_storage: Path) -> Layer:
        tar_path = self.workdir / "app.tar"
        with tarfile.open(tar_path, "w") as archive:
            for package in python_packages_of_fake_nexus():
                _add_tree(archive, package, f"/opt/standin/site-packages/{package.name}")
            _add_tree(archive, REPOSITORY / "components", "/opt/standin/app/components")
            for name in ("tests/__init__.py", "tests/fakes/__init__.py", "tests/fakes/nexus",
                         "tests/system/__init__.py", "tests/system/standin_nexus.py"):
                _add_tree(archive, REPOSITORY / name, f"/opt/standin/app/{name}")
            _add_tree(archive, hub_storage, "/var/lib/standin/dockerhub", uid=200)
        return gzip_layer(tar_path, self.workdir / "app-blobs")

    def publish(self) -> None:
        """Start the host Docker's registry mirror on 127.0.0.1:5000 and push the image into it."""
        self.mirror = self._registry("mirror", MIRROR_PORT, self.mirror_storage)
        app = self._app_layer(self._seeded_hub())
        tag = self.reference.rsplit(":", 1)[1]
        layout = write_oci(self.workdir / "nexus-oci", [self.base, app], {
            "User": "200:200",
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "PYTHONPATH=/opt/standin/site-packages:/opt/standin/app", "PYTHONDONTWRITEBYTECODE=1"],
            "Entrypoint": ["/usr/bin/python3", "/opt/standin/app/tests/system/standin_nexus.py"],
            "ExposedPorts": {f"{port}/tcp": {} for port in (8081, 8001, 8002, 8003)},
        }, tag)
        self._skopeo_copy(layout, tag, f"127.0.0.1:{MIRROR_PORT}/{self.reference}")


# --- the lab stack as the fresh-host modules deploy it ------------------------------------------------

USER = "deploy"  # non-root: every step runs as "sudo -n bash -s"


def lab_settings(**top):
    """The lab stack on this fresh host: an existing server at 127.0.0.1, Docker Hub through the mirror."""
    return make_settings("lab", server={"mode": "existing", "address": "127.0.0.1", "user": USER,
                                        "hostKey": root_host_key(),
                                        "dockerMirror": f"http://127.0.0.1:{MIRROR_PORT}"}, **top)


def certificates_of(ca: CertAuthority, settings) -> dict[str, tuple[str, str]]:
    return {fqdn: ca.leaves[fqdn] for fqdn in (settings.registry_fqdn, settings.web_fqdn)}
