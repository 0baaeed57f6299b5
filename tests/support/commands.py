"""Running things in tests: a command that must succeed, a tool that must be installed."""

from __future__ import annotations

import shutil
import subprocess


def ok(result: subprocess.CompletedProcess) -> str:
    """The command's stdout; a failed command fails the test with its exit status, stdout and stderr."""
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout


def require_tool(name: str) -> str:
    """The path of an installed tool; a missing one fails the test (tests never skip)."""
    path = shutil.which(name)
    assert path, f"{name} is not installed (apt-get install {name}); this test never skips"
    return path
