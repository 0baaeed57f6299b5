"""Defence in depth: a value that slipped past the settings lands inert in every host script.

Settings refuse shell-special text (tests/unit/test_hostile_settings.py); here the
settings objects are altered after validation (``model_copy`` skips it), the host
scripts are rendered from them and run under bash with stub tools, and a canary
file proves that no injected command ran.  A value with a newline is refused by
the renderer itself (it would end a comment or a quoted word).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from components.render import nexus as render_nexus
from components.render import nginx as render_nginx
from components.settings import Settings
from tests.support.settings import make_settings


def payloads(canary: Path) -> list[str]:
    return [f"$(touch {canary})", f"`touch {canary}`", f"x;touch {canary}", f"x';touch {canary};'",
            f'x";touch {canary};"', f"x|touch {canary}", f"x&&touch {canary}", f"x touch {canary}",
            f"${{IFS}}$(touch {canary})"]


def hostile(settings: Settings, value: str) -> Settings:
    """``settings`` with ``value`` in every string that reaches a host script, unvalidated."""
    server = settings.server.model_copy(update={"docker_mirror": f"https://m/{value}", "data_device": value})
    nexus = settings.nexus.model_copy(update={"version": value})
    return settings.model_copy(update={"stack": value, "web_host": value, "registry_host": f"r{value}",
                                       "domain": f"d{value}", "server": server, "nexus": nexus})


def stub_bin(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    stubs = {
        "curl": "exit 7",
        "openssl": "exit 0",
        "nginx": "echo 'nginx version: nginx/1.24.0' >&2",
        "docker": "exit 1",
        "systemctl": "exit 1",
    }
    for name, body in stubs.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return bin_dir


def run(script: str, tmp_path: Path, args: tuple[str, ...] = (), **env: str) -> subprocess.CompletedProcess:
    path = tmp_path / "script.sh"
    path.write_text(script)
    environment = {**os.environ, "PATH": f"{stub_bin(tmp_path)}:{os.environ['PATH']}", **env}
    return subprocess.run(["bash", str(path), *args], capture_output=True, text=True, timeout=60,
                          env=environment, cwd=tmp_path)


SCRIPTS = {
    "smoke-check": (lambda s: render_nginx.render_smoke_check(s, attempts=1, delay_seconds=0), (), {}),
    "deploy-nginx": (render_nginx.render_deploy_script, ("--print-variant",), {}),
    "nexus-container": (lambda s: render_nexus.container_files(s)[0].content, (), {"NEXUS_CONTAINER_ONLY": "jvm"}),
    "nexus-prepare": (lambda s: render_nexus.prepare_files(s)[0].content, (), {"OS_RELEASE_FILE": "/nonexistent"}),
    "nexus-prepare-disk": (lambda s: render_nexus.prepare_disk_files(s)[0].content, (),
                           {"NEXUS_PREPARE_STEPS": "locate", "DISK_WAIT_SECONDS": "0"}),
    "nexus-bootstrap": (lambda s: render_nexus.bootstrap_files(s)[0].content, (),
                        {"NEXUS_URL": "http://127.0.0.1:9", "NEXUS_READY_TIMEOUT": "0"}),
}


@pytest.mark.parametrize("name", SCRIPTS)
@pytest.mark.parametrize("stack", ["lab", "dev"])
def test_injected_text_never_runs(name, stack, tmp_path):
    render, args, env = SCRIPTS[name]
    canary = tmp_path / "CANARY"
    base = make_settings(stack)
    if stack == "lab":  # data_device only exists there
        base = base.model_copy(update={"server": base.server.model_copy(
            update={"data_device": "/dev/disk/by-id/virtio-data01"})})
    ran = 0
    for value in payloads(canary):
        script = render(hostile(base, value))
        if stack == "lab" and name == "nexus-prepare":
            assert f"touch {canary}" in script  # the payload did reach the script
        result = run(script, tmp_path, args, **env)
        assert not canary.exists(), f"{name}: {value!r} ran a command\n{result.stdout}\n{result.stderr}"
        assert "syntax error" not in result.stderr, (value, result.stderr)
        ran += 1
    assert ran == len(payloads(canary))


@pytest.mark.parametrize("name", SCRIPTS)
@pytest.mark.parametrize("value", ["nexus\ntouch /tmp/x", "a\rb", "a\x00b"])
def test_a_value_with_a_control_character_is_refused_by_the_renderer(name, value):
    render, _, _ = SCRIPTS[name]
    with pytest.raises(ValueError, match="control character"):
        render(hostile(make_settings("lab"), value))


def test_a_hostile_user_name_cannot_become_a_host_path(tmp_path):
    # User names become password file names on the host; a bundle refuses any path that is not plain.
    from components.render.bundle import HostFile
    from components.settings import UserSettings

    canary = tmp_path / "CANARY"
    for value in payloads(canary) + ["../../etc/shadow"]:
        settings = make_settings("lab").model_copy(
            update={"users": (UserSettings.model_construct(name=value, role="push"),)})
        (path,) = render_nexus.user_password_paths(settings).values()
        with pytest.raises(ValueError, match="absolute, normalised and plain"):
            HostFile(path, "secret", "0600")
