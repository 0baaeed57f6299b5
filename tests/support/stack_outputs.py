"""What a stack's own earlier update left behind, for runs under mocks (``run_stack(extra_outputs=...)``)."""

from __future__ import annotations

SNAPSHOT = "tencentcloud:Cbs/snapshot:Snapshot"


def deployed(version):
    """Mock the stack's own last update having exported ``nexusVersion``."""
    def outputs(type_, _name, _inputs):
        if type_ == "pulumi:pulumi:StackReference":
            return {"outputs": {"nexusVersion": version}}
        return {}
    return outputs
