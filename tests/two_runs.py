"""Run the program twice under mocks: the second run sees the first run's state, as a second ``pulumi up`` does.

The first run creates everything in a ``TencentCloud`` account (tests.mocks.tencentcloud).
``between`` may then change what that account says (a zone stops selling, an
instance type sells out, a certificate is rejected).  The second run starts from
the engine state the first one left: every resource keeps its id and stored
outputs (including what the provider's Read copied back), and the StackReference
to the stack itself reads the first run's stack outputs.  Each input change the
second run makes is planned against ``tests.provider_rules`` (``run.steps``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.harness import PriorState, ProgramRun, TencentCloud, run_program, stack_config
from tests.provider_rules import Step

# Replacing one of these loses the host or its data (or, for the subnet, collides with its CIDR).
PRECIOUS = {
    "tencentcloud:Instance/instance:Instance",
    "tencentcloud:Cbs/storage:Storage",
    "tencentcloud:Subnet/instance:Instance",
}


@dataclass
class TwoRuns:
    first: ProgramRun
    second: ProgramRun
    cloud: TencentCloud

    @property
    def steps(self) -> list[Step]:
        return self.second.steps

    def of_kind(self, *kinds: str) -> list[Step]:
        return [step for step in self.steps if step.kind in kinds]

    def replaced(self) -> set[tuple[str, str]]:
        return {(step.type, step.name) for step in self.of_kind("replace")}


def prior_of(run: ProgramRun, stack_outputs: bool = True) -> PriorState:
    """The engine state ``run`` leaves: its resources, and its stack outputs if it succeeded."""
    return PriorState(resources=dict(run.states), stack_outputs=dict(run.outputs) if stack_outputs else {})


def run_twice(stack: str, overrides: dict[str, Any] | None = None, *, stack_name: str | None = None,
              between: Callable[[TencentCloud, ProgramRun], None] | None = None,
              second_overrides: dict[str, Any] | None = None, program: Callable[[], Any] | None = None,
              cloud: TencentCloud | None = None, **kwargs: Any) -> TwoRuns:
    """``stacks/Pulumi.<stack>.yaml`` (with overrides) deployed, then updated with the same (or changed) config."""
    cloud = cloud if cloud is not None else TencentCloud()
    name = stack_name or stack
    first = run_program(name, stack_config(stack, overrides), program=program, cloud=cloud, **kwargs)
    if between is not None:
        between(cloud, first)
    second_config = stack_config(stack, {**(overrides or {}), **(second_overrides or {})})
    second = run_program(name, second_config, program=program, cloud=cloud, prior=prior_of(first), **kwargs)
    return TwoRuns(first=first, second=second, cloud=cloud)
