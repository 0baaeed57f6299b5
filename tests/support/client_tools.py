"""Real container clients inside a ``registry_env.Sandbox``: containerd (with ``ctr``), podman, buildah.

None needs systemd or a container runtime for what the tests do (pull, build from scratch,
push): containerd runs by hand with its own root, state and socket inside the namespace
(its CRI plugin off, so no CNI or kubelet is looked for); podman and buildah keep their
storage under the test's directory with the vfs driver and no cgroup manager.  Pulls use
containerd's ``native`` snapshotter, which works on any filesystem (overlayfs on overlayfs
does not, as in a CI container).  Missing tools raise: the tests fail, they never skip.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

from tests.support.registry_env import Sandbox, require_tools

CONTAINERD_CONFIG = """\
version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{socket}"
[ttrpc]
  address = "{socket}.ttrpc"
"""


class Containerd:
    """A containerd daemon in the sandbox and ``ctr`` against it."""

    # Under the namespace's own /run (a tmpfs): unix socket paths are limited to ~104 bytes.
    SOCKET = "/run/nr-containerd/containerd.sock"

    def __init__(self, sandbox: Sandbox, workdir: Path):
        require_tools("containerd", "ctr")
        self.sandbox = sandbox
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "containerd.toml"
        config.write_text(CONTAINERD_CONFIG.format(root=workdir / "root", state="/run/nr-containerd/state",
                                                   socket=self.SOCKET))
        self.log = workdir / "containerd.log"
        self.process = sandbox.popen(["containerd", "--config", str(config)], self.log)
        deadline = time.monotonic() + 60
        while self.ctr("version", check=False).returncode != 0:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"containerd did not start:\n{self.log.read_text()}")
            time.sleep(0.2)

    def ctr(self, *args: str, check: bool = True, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
        return self.sandbox.run(["ctr", "--address", self.SOCKET, *args], check=check, env=env, timeout=timeout)

    def pull(self, *args: str, check: bool = True, env: dict[str, str] | None = None,
             hosts_dir: str = "/etc/containerd/certs.d", timeout: float = 300) -> subprocess.CompletedProcess:
        """``ctr images pull`` with the hosts directory where the README puts the stack's files."""
        return self.ctr("images", "pull", "--snapshotter", "native", "--hosts-dir", hosts_dir,
                        *args, check=check, env=env, timeout=timeout)

    def image_digest(self, ref: str) -> str:
        """The digest ``ctr images ls`` records for ``ref`` (the index's when an index was pulled)."""
        for line in self.ctr("images", "ls").stdout.splitlines()[1:]:
            fields = line.split()
            if fields and fields[0] == ref:
                return fields[2]
        raise AssertionError(f"{ref} is not among containerd's images")

    def content(self, digest: str) -> bytes:
        return self.sandbox.run(["ctr", "--address", self.SOCKET, "content", "get", digest], input=b"").stdout

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def containers_command(tool: str, workdir: Path) -> list[str]:
    """``podman`` or ``buildah`` with storage of its own under ``workdir`` (vfs: no overlay mounts needed)."""
    require_tools(tool)
    # The run root (locks, mounts) is capped at 50 characters: under the namespace's /run, one per storage.
    runroot = f"/run/nr-{tool}-{hashlib.sha256(str(workdir).encode()).hexdigest()[:8]}"
    common = ["--root", str(workdir / f"{tool}-root"), "--runroot", runroot, "--storage-driver", "vfs"]
    if tool == "podman":
        common += ["--cgroup-manager", "cgroupfs", "--events-backend", "file"]
    return [tool, *common]
