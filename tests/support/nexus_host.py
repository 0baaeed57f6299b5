"""A Nexus host under a temporary root, for running the real Nexus scripts against the fake Nexus.

``BootstrapHost`` lays the bootstrap's files (and secrets) under ``root`` (the scripts take every
location from the environment, so they run unmodified with real bash, curl and jq) and wraps
``curl``/``jq`` to record every argument vector (``wrap_tools``), so tests can prove a secret never
is on a command line.  ``install`` writes rendered ``HostFile``s under a root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from components import settings as stack_settings
from components.render import nexus as render
from components.render.bundle import HostFile
from tests.support.commands import ok


def install(root: Path, files: list[HostFile]) -> None:
    for host_file in files:
        target = root / host_file.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(host_file.content)
        target.chmod(int(host_file.mode, 8))


def wrap_tools(root: Path, names: tuple[str, ...] = ("curl", "jq")) -> tuple[Path, Path]:
    """A bin dir whose curl/jq log their argv to a file, then run the real tool."""
    bin_dir = root / "wrapped-bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    argv_log = root / "argv.log"
    for name in names:
        real = shutil.which(name)
        assert real, f"{name} is not installed; these tests never skip (apt-get install {name})"
        wrapper = bin_dir / name
        wrapper.write_text(
            "#!/usr/bin/env bash\n"
            f"printf '%s\\n' \"{name}\" \"$@\" >>'{argv_log}'\n"
            f"exec '{real}' \"$@\"\n"
        )
        wrapper.chmod(0o755)
    return bin_dir, argv_log


class BootstrapHost:
    """The bootstrap's files (and secrets) under ``root``, runnable against a fake Nexus."""

    def __init__(self, root: Path, settings: stack_settings.Settings, url: str):
        self.root = root
        self.url = url
        self.bin_dir, self.argv_log = wrap_tools(root)
        self.apply(settings)
        self.generated_password_file.parent.mkdir(parents=True, exist_ok=True)

    def path(self, host_path: str) -> Path:
        return self.root / host_path.lstrip("/")

    @property
    def generated_password_file(self) -> Path:
        return self.path(f"{render.DATA_DIR}/admin.password")

    @property
    def state_dir(self) -> Path:
        return self.path(render.STATE_DIR)

    def apply(self, settings: stack_settings.Settings) -> None:
        """What a bootstrap step's bundle does: install its files and its root-only secret files."""
        install(self.root, render.bootstrap_files(settings))
        secrets = [HostFile(render.ADMIN_PASSWORD_PATH, settings.admin_password.get_secret_value(), "0600")]
        secrets += [HostFile(path, settings.user_passwords[name].get_secret_value(), "0600")
                    for name, path in render.user_password_paths(settings).items()]
        if settings.docker_hub_token is not None:
            secrets.append(HostFile(render.DOCKER_HUB_TOKEN_PATH, settings.docker_hub_token.get_secret_value(), "0600"))
        else:
            self.path(render.DOCKER_HUB_TOKEN_PATH).unlink(missing_ok=True)
        install(self.root, secrets)

    @property
    def upstreams_file(self) -> Path:
        """The rendered upstream table with every probe sent to the fake's ``/upstream/<repository>``:
        the real upstreams are on the internet, and tests never leave loopback."""
        rendered = self.path(f"{render.CONFIG_DIR}/nexus/upstreams.tsv").read_text()
        local = self.root / "upstreams-loopback.tsv"
        lines = []
        for line in rendered.splitlines():
            repository, setting, _url = line.split("\t")
            lines.append(f"{repository}\t{setting}\t{self.url}/upstream/{repository}\n")
        local.write_text("".join(lines))
        return local

    def run(self, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
        environment = {
            **os.environ,
            "PATH": f"{self.bin_dir}:{os.environ['PATH']}",
            "NEXUS_URL": self.url,
            "NEXUS_CONFIG_DIR": str(self.path(render.CONFIG_DIR)),
            "NEXUS_SECRETS_DIR": str(self.path(render.SECRETS_DIR)),
            "NEXUS_STATE_DIR": str(self.state_dir),
            "NEXUS_GENERATED_PASSWORD_FILE": str(self.generated_password_file),
            "NEXUS_READY_TIMEOUT": "5",
            "NEXUS_READY_INTERVAL": "0.1",
            # No systemd in a test unless one asks for the stand-in (SYSTEMCTL, SYSTEMD_RUNTIME_DIR).
            "SYSTEMD_DIR": str(self.path("/etc/systemd/system")),
            "SYSTEMD_RUNTIME_DIR": str(self.root / "no-systemd"),
            "NEXUS_UPSTREAMS_FILE": str(self.upstreams_file),
            "NEXUS_UPSTREAM_TIMEOUT": "2",
            **env,
        }
        return subprocess.run(["bash", str(self.path(render.BOOTSTRAP_SCRIPT))], env=environment,
                              capture_output=True, text=True, timeout=timeout)

    def argv_text(self) -> str:
        return self.argv_log.read_text() if self.argv_log.exists() else ""


def run_ok(host: BootstrapHost, **env: str) -> str:
    """One bootstrap run that must succeed: its stdout."""
    return ok(host.run(**env))


# A systemctl for the bootstrap's enable_timer: records every call, remembers which units are enabled.
SYSTEMCTL_STANDIN = """#!/usr/bin/env bash
echo "$*" >> "$SYSTEMCTL_CALLS"
case "$1" in
  is-enabled|is-active) [[ -e "$SYSTEMCTL_STATE/$3" ]] ;;
  enable) mkdir -p "$SYSTEMCTL_STATE"; touch "$SYSTEMCTL_STATE/$3" ;;
esac
"""


def systemd_standin(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The environment that makes the bootstrap see a running systemd (the stand-in above), and its call log."""
    systemctl = tmp_path / "systemctl"
    systemctl.write_text(SYSTEMCTL_STANDIN)
    systemctl.chmod(0o755)
    runtime = tmp_path / "run-systemd"
    runtime.mkdir()
    calls = tmp_path / "systemctl.calls"
    return {"SYSTEMCTL": str(systemctl), "SYSTEMCTL_CALLS": str(calls), "SYSTEMCTL_STATE": str(tmp_path / "on"),
            "SYSTEMD_RUNTIME_DIR": str(runtime)}, calls
