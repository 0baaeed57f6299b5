"""``make converge``: every host step runs again, nothing else changes (README: Runbook, "Re-converge a host").

``scripts/up.sh converge`` is ``pulumi up`` with ``NEXUS_REGISTRY_CONVERGE`` set to a
new value (``components.remote.CONVERGE_ENV``), which every host step carries as its
``triggers``; pulumi-command replaces (re-runs) a Command whose triggers change
(``tests.provider_rules``).  Under mocks, with the first run's state as the engine's:
a converge run replaces every host step and no cloud resource, and changes no other
input; a plain ``make up`` after it re-runs nothing.
"""

from __future__ import annotations

import pytest

from components.remote import CONVERGE_ENV
from tests.harness import run_program, stack_config
from tests.two_runs import prior_of

COMMAND = "command:remote:Command"


def deploy(monkeypatch, stack: str, converge: str | None, prior=None, cloud=None):
    if converge is None:
        monkeypatch.delenv(CONVERGE_ENV, raising=False)
    else:
        monkeypatch.setenv(CONVERGE_ENV, converge)
    return run_program(stack, stack_config(stack), cloud=cloud, prior=prior)


def inputs_by_key(run) -> dict[tuple[str, str], dict]:
    return {(r.type, r.name): r.inputs for r in run.resources}


@pytest.mark.parametrize("stack", ["dev", "lab"])
def test_drift_converge_re_runs_every_host_step_and_replaces_nothing_else(monkeypatch, stack):
    first = deploy(monkeypatch, stack, None)
    steps = {r.name for r in first.of_type(COMMAND)}
    assert len(steps) >= 5, steps  # prepare, data disk, container, bootstrap, nginx deploy, smoke check
    assert all("triggers" not in r.inputs for r in first.of_type(COMMAND))

    converged = deploy(monkeypatch, stack, "20261207T210000Z", prior=prior_of(first), cloud=first.cloud)
    replaced = {(step.type, step.name) for step in converged.steps if step.kind == "replace"}
    assert replaced == {(COMMAND, name) for name in steps}
    assert {step.key for step in converged.steps if step.type == COMMAND} == {"triggers"}
    assert not [step for step in converged.steps if step.type != COMMAND and step.kind != "update"]
    before, after = inputs_by_key(first), inputs_by_key(converged)
    assert before.keys() == after.keys()
    for key, inputs in after.items():
        if key[0] == COMMAND:
            assert inputs["triggers"] == ["20261207T210000Z"], key
            assert {k: v for k, v in inputs.items() if k != "triggers"} == before[key], key
        else:
            assert inputs == before[key], f"{key} changed in a converge run"

    # The next plain make up keeps the stored triggers (ignore_changes): nothing runs again.
    plain = deploy(monkeypatch, stack, None, prior=prior_of(converged), cloud=first.cloud)
    assert not [step for step in plain.steps if step.type == COMMAND]
    assert all(r.opts is not None and "triggers" in (r.opts.ignore_changes or []) for r in plain.of_type(COMMAND))
    # A second converge is a new value: everything runs again.
    again = deploy(monkeypatch, stack, "20261208T090000Z", prior=prior_of(plain), cloud=first.cloud)
    assert {step.name for step in again.steps if step.kind == "replace"} == steps


def test_drift_a_plain_second_up_re_runs_no_host_step(monkeypatch):
    first = deploy(monkeypatch, "dev", None)
    second = deploy(monkeypatch, "dev", None, prior=prior_of(first), cloud=first.cloud)
    assert not [step for step in second.steps if step.type == COMMAND]
