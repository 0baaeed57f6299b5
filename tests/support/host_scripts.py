"""Running a rendered host script for real: written to a temporary directory, run with bash, stub tools
first on PATH (``stub``), the jq library it ships with beside it (``NEXUS_LIB_DIR``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from components.render.templating import JQ_LIBRARY_SOURCE


def write_script(tmp_path: Path, host_file) -> Path:
    target = tmp_path / Path(host_file.path).name
    target.write_text(host_file.content)
    target.chmod(0o755)
    return target


def stub(bin_dir: Path, name: str, body: str) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / name
    path.write_text("#!/usr/bin/env bash\nset -euo pipefail\n" + body)
    path.chmod(0o755)


def run(script: Path, env: dict[str, str], bin_dir: Path | None = None, timeout: float = 60):
    # The scripts run from tmp_path, not beside their lib/: point them at the jq library they ship with.
    environment = {"NEXUS_LIB_DIR": str(JQ_LIBRARY_SOURCE.parent), **os.environ, **env}
    if bin_dir is not None:
        environment["PATH"] = f"{bin_dir}:{os.environ['PATH']}"
    return subprocess.run(["bash", str(script)], env=environment, capture_output=True, text=True, timeout=timeout)
