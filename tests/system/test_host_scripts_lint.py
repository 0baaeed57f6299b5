"""Every shell script any stack puts on its host passes shellcheck, with strict mode on."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from components.render.bundle import HostFile, bundle_script
from components.render.stack import stack_files
from tests import harness

STACKS = ["dev", "prod", "lab"]


def shellcheck() -> str:
    path = shutil.which("shellcheck")
    assert path, "shellcheck is not installed (apt-get install shellcheck); this test never skips"
    return path


def scripts_of(stack: str) -> list[HostFile]:
    settings = harness.stack_settings(stack)
    return [f for f in stack_files(settings).host_files if f.content.startswith("#!") and "bash" in f.content[:40]]


@pytest.mark.parametrize("stack", STACKS)
def test_host_scripts_pass_shellcheck(stack, tmp_path):
    scripts = scripts_of(stack)
    assert len(scripts) >= 3, [s.path for s in scripts]
    paths = []
    for script in scripts:
        target = tmp_path / script.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(script.content)
        paths.append(str(target))
    result = subprocess.run([shellcheck(), "--severity=style", *paths], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("stack", STACKS)
def test_host_scripts_are_strict_and_executable(stack):
    for script in scripts_of(stack):
        assert "set -euo pipefail" in script.content, script.path
        assert script.mode in ("0700", "0750", "0755"), (script.path, script.mode)


def test_the_bundle_wrapper_itself_passes_shellcheck(tmp_path):
    bundle = tmp_path / "bundle.sh"
    bundle.write_text(bundle_script([HostFile("/etc/example/a.conf", "x = 1\n")], "/bin/true"))
    result = subprocess.run([shellcheck(), "--severity=style", str(bundle)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


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
