"""What a host step receives under Pulumi mocks: its stdin (a bundle script, usually secret on the wire)
and the files that bundle installs."""

from __future__ import annotations

import base64
import re

SECRET_SIG = "4dabf18193072939515e22adb298388d"  # how the engine marks a secret value on the wire


def stdin(result, step: str) -> tuple[bool, str]:
    """(secret?, text) of a step's stdin as the engine received it."""
    value = result.named(step).inputs["stdin"]
    if isinstance(value, dict) and value.get(SECRET_SIG):
        return True, value["value"]
    assert isinstance(value, str), value
    return False, value


def bundle_files(text: str) -> dict[str, str]:
    """Decode a bundle script back into {path: content}."""
    files = {}
    for match in re.finditer(r"^_nr_put '([^']+)' (\d{4}) <<'NEXUS_REGISTRY_B64'\n(.*?)^NEXUS_REGISTRY_B64$",
                             text, re.S | re.M):
        files[match.group(1)] = base64.b64decode(match.group(3)).decode()
    return files
