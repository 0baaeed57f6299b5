"""The engine's built-in ``pulumi:pulumi:StackReference``: the outputs of a stack's last successful update.

A stack's first update reads nothing (``outputs: {}``); the two-run harness
hands the second run the first run's stack outputs, as the engine would.
"""

from __future__ import annotations

from typing import Any

STACK_REFERENCE = "pulumi:pulumi:StackReference"


def stack_reference_outputs(previous: dict[str, Any] | None = None,
                            secret_names: set[str] | None = None) -> dict[str, Any]:
    return {"outputs": dict(previous or {}), "secretOutputNames": sorted(secret_names or ())}
