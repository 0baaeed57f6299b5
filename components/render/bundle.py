"""Turn a set of host files plus an entrypoint into one shell script for stdin.

Every remote step of the program is ``bash -s`` fed with such a bundle: it
writes its files (base64, so any content survives), then runs the entrypoint.
Nothing travels on the command line, so secrets placed in root-only files never
show up in ``ps``, in shell history or in pulumi-command's logged command, and
the step re-runs exactly when one of its files changes (its stdin changes).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

# Where files may land: plain path characters only, so a path is one inert shell word even before quoting.
_SAFE_PATH = re.compile(r"(/[A-Za-z0-9._@+:=-]+)+")


@dataclass(frozen=True)
class HostFile:
    """A file as it lands on the host: absolute path, text, octal mode."""

    path: str
    content: str
    mode: str = "0644"

    def __post_init__(self) -> None:
        if not _SAFE_PATH.fullmatch(self.path) or {".", ".."} & set(self.path.split("/")):
            raise ValueError(f"host file path must be absolute, normalised and plain (A-Z a-z 0-9 ._@+:=-): "
                             f"{self.path!r}")
        if len(self.mode) != 4 or not set(self.mode) <= set("01234567"):
            raise ValueError(f"file mode must be four octal digits: {self.mode!r}")


def bundle_script(files: list[HostFile] | tuple[HostFile, ...], entrypoint: str) -> str:
    """A bash script that installs ``files`` atomically and then execs ``entrypoint``."""
    lines = [
        "#!/usr/bin/env bash",
        "set -euo pipefail",
        "umask 077",
        "_nr_put() { local dest=$1 mode=$2 tmp; mkdir -p \"$(dirname \"$dest\")\";"
        " tmp=$(mktemp \"$dest.XXXXXX\"); base64 -d > \"$tmp\"; chmod \"$mode\" \"$tmp\"; mv -f \"$tmp\" \"$dest\"; }",
    ]
    for item in files:
        encoded = base64.encodebytes(item.content.encode()).decode()
        # Single quotes suffice: HostFile admits no quote (or any other special character) in a path.
        lines.append(f"_nr_put '{item.path}' {item.mode} <<'NEXUS_REGISTRY_B64'")
        lines.append(encoded.rstrip("\n"))
        lines.append("NEXUS_REGISTRY_B64")
    if not _SAFE_PATH.fullmatch(entrypoint):
        raise ValueError(f"entrypoint must be the absolute, plain path of a script: {entrypoint!r}")
    lines.append(f"exec {entrypoint}")  # a plain path: one inert word
    return "\n".join(lines) + "\n"


def unique(files: list[HostFile]) -> list[HostFile]:
    """``files`` with each path once: several scripts ship the same library, which must be the same file."""
    seen: dict[str, HostFile] = {}
    for item in files:
        if seen.setdefault(item.path, item) != item:
            raise ValueError(f"two different files for {item.path}")
    return list(seen.values())
