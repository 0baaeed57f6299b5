"""benchmarks/registry_proxy.py runs in CI once, with a 1 MiB layer and one round, so it cannot rot again.

It once kept naming ``example.com`` (which the settings refuse) and starting the tutorial's
nginx on 8443, the mirror's port since; nothing noticed until someone ran it by hand.  The
numbers of such a small run mean nothing: what is checked is that every row ran (curl
through both nginx configs, containerd direct and through the mirror) and the ratios were
printed.  Real nginx, registries and containerd, as in the system tests: never skipped.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.harness import ROOT, stack_settings
from tests.support.registry_env import TOOLS, require_tools

BENCHMARK = ROOT / "benchmarks" / "registry_proxy.py"


def _benchmark_module():
    spec = importlib.util.spec_from_file_location("registry_proxy", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_runs_every_row_with_a_small_layer():
    require_tools(*TOOLS, "containerd", "ctr")
    # Its TLS-only nginx runs as www-data and serves the layer file: every directory above it must be
    # traversable, which pytest's tmp_path (under a 0700 directory) is not.
    workdir = Path(tempfile.mkdtemp(prefix="nexus-registry-bench-smoke-"))
    workdir.chmod(0o755)
    try:
        result = subprocess.run(
            [sys.executable, str(BENCHMARK), "--size-mib", "1", "--runs", "1", "--warmup", "0",
             "--workdir", str(workdir)],
            cwd=ROOT, capture_output=True, text=True, timeout=600)
        left = list(workdir.iterdir())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for row in ("direct", "ours", "tutorial", "tls-only", "containerd-direct", "containerd-mirror"):
        assert re.search(rf"^{row} +(\d+\.\d+s|-)", out, re.M), f"no {row} row:\n{out}"
    for ratio in (r"push: ours/direct \d+\.\d+", r"pull: ours/direct \d+\.\d+",
                  r"containerd pull: mirror/direct \d+\.\d+"):
        assert re.search(ratio, out), f"no {ratio}:\n{out}"
    assert left == []  # its namespace, daemons and files are gone


def test_the_benchmarks_own_ports_never_take_the_stacks():
    benchmark = _benchmark_module()
    settings = stack_settings("dev")
    tutorial = benchmark.render_tutorial(settings)
    assert "example.com" not in tutorial and settings.registry_fqdn in tutorial
    assert f"listen {benchmark.TUTORIAL_HTTPS_PORT} ssl;" in tutorial
    benchmark.check_ports(settings)
    clash = settings.model_copy(update={"registry_mirror_port": benchmark.TUTORIAL_HTTPS_PORT})
    with pytest.raises(SystemExit, match="collide"):
        benchmark.check_ports(clash)
