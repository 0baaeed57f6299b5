"""Every shell script rendered onto a host passes shellcheck, with strict mode on; the bundle wrapper.

shellcheck runs here only, in one test parametrized over every set of rendered scripts: each stack's
host files, the Nexus scripts of every stack variant (a data disk by device path, private pulls with
a Docker Hub token), the PostgreSQL variant's database and container scripts, and the bundle
wrapper every host step runs.  A missing shellcheck fails, never skips.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from components.render import nexus as render_nexus
from components.render import nexus_database as render_database
from components.render.bundle import HostFile, bundle_script
from components.render.stack import stack_files
from tests import harness
from tests.harness import LAB_HOST_KEY
from tests.support.commands import require_tool
from tests.support.settings import database_settings, make_settings

STACKS = ["dev", "prod", "lab"]
NEXUS_VARIANTS = {
    "dev": lambda: make_settings("dev"),
    "prod": lambda: make_settings("prod"),
    "lab": lambda: make_settings("lab"),
    "lab-disk": lambda: make_settings("lab", server={"mode": "existing", "address": "10.0.8.15",
                                                     "dataDevice": "/dev/disk/by-id/virtio-data01",
                                                     "hostKey": LAB_HOST_KEY}),
    "private-login": lambda: make_settings("dev", {"anonymousPull": False}, token=True),
}
NEXUS_SCRIPTS = {"nexus-prepare-host.sh", "nexus-prepare-disk.sh", "nexus-container.sh", "nexus-bootstrap.sh",
                 "nexus-db-backup.sh", "nexus-status.sh", "nexus-retention.sh", "nexus-health-notify.sh",
                 "nexus-watchdog.sh", "nexus-restore.sh"}


def scripts_of(stack: str) -> list[HostFile]:
    settings = harness.stack_settings(stack)
    return [f for f in stack_files(settings).host_files if f.content.startswith("#!") and "bash" in f.content[:40]]


def nexus_scripts(variant: str) -> list[HostFile]:
    return [f for f in render_nexus.host_files(NEXUS_VARIANTS[variant](), "disk-abc12345") if f.path.endswith(".sh")]


def database_scripts() -> list[HostFile]:
    return [*render_database.database_files(database_settings(), "10.0.0.5", 5432, create_database=True),
            *render_nexus.container_files(database_settings())]


def bundle_wrapper() -> list[HostFile]:
    return [HostFile("/bundle.sh", bundle_script([HostFile("/etc/example/a.conf", "x = 1\n")], "/bin/true"))]


RENDERED_SCRIPTS: dict[str, Callable[[], list[HostFile]]] = {
    **{f"stack-{stack}": (lambda stack=stack: scripts_of(stack)) for stack in STACKS},
    **{f"nexus-{variant}": (lambda variant=variant: nexus_scripts(variant)) for variant in NEXUS_VARIANTS},
    "database": database_scripts,
    "bundle-wrapper": bundle_wrapper,
}


def write_under(root: Path, files: list[HostFile]) -> list[str]:
    paths = []
    for host_file in files:
        target = root / host_file.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(host_file.content)
        paths.append(str(target))
    return paths


@pytest.mark.parametrize("scripts", RENDERED_SCRIPTS)
def test_every_rendered_script_passes_shellcheck(scripts, tmp_path):
    paths = write_under(tmp_path, RENDERED_SCRIPTS[scripts]())
    result = subprocess.run([require_tool("shellcheck"), "--severity=style", *paths], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("stack", STACKS)
def test_host_scripts_are_strict_and_executable(stack):
    scripts = scripts_of(stack)
    assert len(scripts) >= 3, [s.path for s in scripts]
    for script in scripts:
        assert "set -euo pipefail" in script.content, script.path
        assert script.mode in ("0700", "0750", "0755"), (script.path, script.mode)


@pytest.mark.parametrize("variant", NEXUS_VARIANTS)
def test_every_nexus_script_is_strict_and_executable(variant):
    scripts = nexus_scripts(variant)
    assert {Path(f.path).name for f in scripts} == NEXUS_SCRIPTS
    for host_file in scripts:
        assert host_file.content.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in host_file.content
        assert host_file.mode == "0755"


def test_a_bundle_installs_files_atomically_with_modes_and_runs_its_entrypoint(tmp_path):
    target = tmp_path / "etc" / "secret.txt"
    content = "line with 'quotes' and $dollars and \\ backslash\nNEXUS_REGISTRY_B64\n"
    entry = tmp_path / "bin" / "show.sh"
    script = bundle_script([HostFile(str(target), content, "0600"),
                            HostFile(str(entry), f"#!/bin/sh\ncat '{target}'\n", "0755")], str(entry))
    result = subprocess.run(["bash", "-s"], input=script, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == content and target.read_text() == content
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert list(target.parent.iterdir()) == [target]  # no temp file left behind


@pytest.mark.parametrize("path", ["/etc/a b", "/etc/a'b", "/etc/$(touch x)", "/etc/`id`", "/etc/a;b", "/etc/a\nb",
                                  "/etc/é", "relative", "/etc/../x", "/etc/./x", "/etc//x"])
def test_a_bundle_refuses_a_path_that_is_not_plain(path):
    with pytest.raises(ValueError, match="absolute, normalised and plain"):
        HostFile(path, "x")


def test_bundle_paths_and_entrypoint_are_single_quoted_words(tmp_path):
    # Even a path that passed the check reaches bash as one quoted word, never as code.
    target = tmp_path / "a=b@c+d:e"
    script = bundle_script([HostFile(str(target), "x\n")], "/bin/true")
    assert f"_nr_put '{target}' 0644" in script and "exec /bin/true" in script
    with pytest.raises(ValueError, match="entrypoint"):
        bundle_script([], "/bin/true; touch x")
    result = subprocess.run(["bash", "-s"], input=script, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr and target.read_text() == "x\n"


@pytest.mark.parametrize("stack", STACKS)
def test_every_apt_call_waits_for_the_package_lock(stack):
    # cloud-init and unattended-upgrades hold the dpkg lock for minutes after a CVM boots.
    for script in scripts_of(stack):
        for line in script.content.splitlines():
            code = line.split("#", 1)[0]
            if re.search(r"\bapt-get\s+(-|update|install|upgrade|\"\$@\")", code):
                assert "DPkg::Lock::Timeout" in code, (script.path, line)
