"""A password the settings accept is one the host accepts, and the other way round.

The host scripts read every secret file with the library's ``read_line`` (one line, at
most ``SECRET_MAX_BYTES``, no control character).  Settings used to accept a tab or an
ESC in ``adminPassword`` or ``userPasswords.*``; the bootstrap then refused the file on
the host, after the cloud resources existed.  Here the real rendered ``read_line`` runs
in bash on each candidate and must give the same verdict as ``settings.fields``.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from components.render.templating import render_template
from components.settings.fields import HOST_SECRET_MAX_BYTES, check_password, host_line_problem

BASE = "Correct-Horse-Battery-9"
CANDIDATES = [
    *(f"{BASE}{chr(code)}x" for code in range(0x80)),  # every ASCII character, in the middle of a password
    f"{BASE}\u00e9\u4e2d\u6587",  # UTF-8 beyond ASCII: accepted by both
    "\u00e9" * (HOST_SECRET_MAX_BYTES // 2),  # 4096 bytes exactly
    "\u00e9" * (HOST_SECRET_MAX_BYTES // 2) + "x",  # 4097 bytes
    "p" * HOST_SECRET_MAX_BYTES + "q",
]


@pytest.fixture(scope="module")
def library() -> str:
    return render_template("host/lib/common.sh.j2", log_tag="agreement", needs=["api"])


def host_verdicts(library: str, tmp_path) -> list[str]:
    """read_line's verdict on each candidate written as a secret file (with its final newline)."""
    paths = []
    for index, candidate in enumerate(CANDIDATES):
        path = tmp_path / f"secret-{index}"
        path.write_bytes(candidate.encode() + b"\n")
        paths.append(str(path))
    script = (f"set -euo pipefail\n{library}\nWORK=$(mktemp -d)\n"
              'for file in "$@"; do if read_line "$file" "$SECRET_MAX_BYTES"; then echo ok; '
              'else echo "refused: $REFUSED"; fi; done\n')
    run = subprocess.run(["bash", "-c", script, "agreement", *paths], capture_output=True, text=True, check=True)
    return run.stdout.splitlines()


def test_the_library_and_the_settings_agree_on_the_size_limit(library):
    assert re.search(r"^SECRET_MAX_BYTES=(\d+)$", library, re.M).group(1) == str(HOST_SECRET_MAX_BYTES)


def test_settings_accept_exactly_the_passwords_the_host_reads(library, tmp_path):
    verdicts = host_verdicts(library, tmp_path)
    assert len(verdicts) == len(CANDIDATES)
    disagreements = [(candidate[:40], verdict, host_line_problem(candidate))
                     for candidate, verdict in zip(CANDIDATES, verdicts, strict=True)
                     if (verdict == "ok") != (host_line_problem(candidate) is None)]
    assert disagreements == []
    assert verdicts.count("ok") == 0x80 - 33 + 2  # printable ASCII, UTF-8, 4096 bytes


@pytest.mark.parametrize(("password", "words"), [
    (f"{BASE}\tx", "without control characters"),
    (f"{BASE}\x1b[2J", "without control characters"),
    ("p" * (HOST_SECRET_MAX_BYTES + 1), f"at most {HOST_SECRET_MAX_BYTES} bytes"),
])
def test_a_password_the_host_would_refuse_is_refused_by_the_settings(password, words):
    with pytest.raises(ValueError, match=words):
        check_password(password)
