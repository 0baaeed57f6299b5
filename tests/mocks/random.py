"""pulumi-random: ``RandomPassword.result`` is computed (and sensitive)."""

from __future__ import annotations

from typing import Any

RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"


def outputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    if type_ == RANDOM_PASSWORD:
        return {"result": "Generated_pw-" + "a1B2" * 5}
    return {}
