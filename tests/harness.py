"""Run the Pulumi program (or one component) under mocks and record what it registers.

``run_stack("dev")`` loads ``stacks/Pulumi.dev.yaml`` plus test secrets into the
mock config, executes ``__main__.py`` with ``runpy`` exactly as the Pulumi
language host would, and returns every registered resource (type, name,
inputs, options) and every stack output with its secretness resolved.
Resources are the real SDK classes; the mocks only stand in for the engine.

The shipped stack files keep placeholders the user must edit (``example.com``,
documentation addresses, the lab host key), which settings refuse.  Tests read the real files with
one clearly named test override, ``TEST_STAND_INS``: realistic, non-reserved
values in place of exactly those placeholders (``with_test_stand_ins``).
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.resource
import pulumi.runtime
import yaml
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from components.settings import is_secret_setting
from tests.mocks import acme as acme_mocks
from tests.mocks import random as random_mocks
from tests.mocks import tls as tls_mocks
from tests.mocks.pulumi_builtins import STACK_REFERENCE, stack_reference_outputs
from tests.mocks.tencentcloud import FAKE_PUBLIC_IP, ProviderError, TencentCloud
from tests.provider_rules import Step, plan

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "nexus-registry"
TEST_SECRETS = {
    f"{PROJECT}:adminPassword": "Correct-Horse-Battery-9",
    f"{PROJECT}:userPasswords": {"ci": "Ci-Push-Password-17"},
    f"{PROJECT}:sshPrivateKey": (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    ),
}
# What a user's edited stack file holds where the shipped one has a placeholder.
# The tests' own SSH host key: the stand-in for the lab stack file's hostKey placeholder.
LAB_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMN+7+CmE5Z9m+P1xhMhAjSpeJ3biMmsB515DBVF3aaR"
TEST_STAND_INS = {"domain": "widgets-inc.cn", "server.address": "10.0.8.15", "server.sshAllowedCidrs": "58.246.10.0/24",
                  "server.hostKey": LAB_HOST_KEY}
__all__ = ["FAKE_PUBLIC_IP", "LAB_HOST_KEY", "ROOT", "TEST_SECRETS", "TEST_STAND_INS", "PriorState", "ProgramRun",
           "RecordingMocks", "TencentCloud", "is_secret", "resolve", "run_program", "run_stack", "stack_config",
           "stack_file_config", "stack_settings", "with_test_stand_ins", "write_stack_file"]


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    opts: pulumi.ResourceOptions | None = None
    resource: Any = None


@dataclass
class ProgramRun:
    resources: list[Registered] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    invokes: list[tuple[str, dict]] = field(default_factory=list)
    states: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    """What the engine stores per (type, name) after this run: id and outputs."""
    cloud: TencentCloud | None = None
    steps: list[Step] = field(default_factory=list)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    """With a prior state: every input change the engine would plan (tests.provider_rules.plan)."""

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Registered:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> Registered:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
        return found[0]

    def types(self) -> set[str]:
        return {r.type for r in self.resources}


def _fake_outputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Computed outputs of the non-Tencent providers (tests.mocks.tls / .acme / .random)."""
    return {**tls_mocks.outputs(type_, name, inputs), **acme_mocks.outputs(type_, name, inputs),
            **random_mocks.outputs(type_, name, inputs)}


@dataclass
class PriorState:
    """What the engine holds from an earlier update: resource ids and outputs by (type, name), stack outputs."""

    resources: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    stack_outputs: dict[str, Any] = field(default_factory=dict)


class RecordingMocks(pulumi.runtime.Mocks):
    """The engine and providers: Tencent answers come from a ``TencentCloud`` account (tests.mocks.tencentcloud).

    With ``prior`` the engine already holds a state: a resource registered again keeps
    its id and stored outputs (what an unchanged or updated resource reports), except
    one the plan replaces; the StackReference to this stack reads the prior stack outputs.
    """

    def __init__(self, run: ProgramRun, extra_outputs: Callable[[str, str, dict], dict] | None = None,
                 cloud: TencentCloud | None = None, prior: PriorState | None = None):
        self.run = run
        self.extra_outputs = extra_outputs
        self.cloud = cloud if cloud is not None else TencentCloud()
        self.prior = prior

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        key = (args.typ, args.name)
        kept = self.prior.resources.get(key) if self.prior is not None else None
        if args.typ == STACK_REFERENCE:
            resource_id = args.name
            outputs = stack_reference_outputs(self.prior.stack_outputs if self.prior else None)
        elif kept is not None and not self._replaced(args, kept[1]):
            resource_id = kept[0]
            # Update (if any) then Read: the stored state with the new inputs, except ignored ones
            # (the engine sends the provider the old value of an ignore_changes input).
            ignored = {_camel(k) for k in (self._opts(args).ignore_changes or [])}
            inputs = {k: v for k, v in args.inputs.items() if k not in ignored}
            outputs = {**kept[1], **inputs,
                       **self.cloud.outputs(args.typ, args.name, args.inputs, kept[0])}
        else:
            resource_id = args.resource_id or (f"{args.name}-id" if kept is None else _next_id(kept[0]))
            outputs = {**args.inputs, **_fake_outputs(args.typ, args.name, args.inputs),
                       **self.cloud.outputs(args.typ, args.name, args.inputs, resource_id)}
        if self.extra_outputs:
            outputs.update(self.extra_outputs(args.typ, args.name, args.inputs))
        self.run.states[key] = (resource_id, dict(outputs))
        # The engine marks a resource's additional_secret_outputs secret; the mock monitor does not.
        for registered in reversed(self.run.resources):
            if registered.type == args.typ and registered.name == args.name and registered.opts is not None:
                for output_key in registered.opts.additional_secret_outputs or []:
                    if output_key in outputs:
                        outputs[output_key] = {rpc._special_sig_key: rpc._special_secret_sig,
                                               "value": outputs[output_key]}
                break
        for registered in reversed(self.run.resources):
            if registered.type == args.typ and registered.name == args.name:
                registered.inputs = dict(args.inputs)
                break
        else:
            self.run.resources.append(Registered(args.typ, args.name, dict(args.inputs)))
        return resource_id, outputs

    def _opts(self, args: pulumi.runtime.MockResourceArgs) -> pulumi.ResourceOptions:
        return next((r.opts for r in reversed(self.run.resources)
                     if (r.type, r.name) == (args.typ, args.name) and r.opts is not None), pulumi.ResourceOptions())

    def _replaced(self, args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]) -> bool:
        """Plan the update against the stored state (tests.provider_rules); record every step."""
        opts = next((r.opts for r in reversed(self.run.resources)
                     if (r.type, r.name) == (args.typ, args.name) and r.opts is not None), None)
        steps = plan(args.typ, args.name, state, args.inputs,
                     ignore_changes=[_camel(k) for k in (opts.ignore_changes or [])] if opts else [],
                     replace_on_changes=[_camel(k) for k in (opts.replace_on_changes or [])] if opts else [])
        self.run.steps.extend(steps)
        replaced = any(step.kind == "replace" for step in steps)
        if replaced:  # create-before-delete: the old one goes at the end of the update
            self.run.deleted.append((args.typ, self.prior.resources[(args.typ, args.name)][0]))
        return replaced

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.run.invokes.append((args.token, dict(args.args)))
        try:
            answer = self.cloud.invoke(args.token, dict(args.args))
        except ProviderError as error:
            # The engine hands a data source's error to the program as that invoke's failure, which the
            # caller can catch; raised here it would crash the mock monitor's RPC instead.
            return {}, [("", str(error))]
        return answer if answer is not None else {}


def _next_id(previous: str) -> str:
    """A replacement's id: ``x-id`` -> ``x-id-2`` -> ``x-id-3``."""
    base, _, number = previous.rpartition("-")
    return f"{base}-{int(number) + 1}" if number.isdigit() else f"{previous}-2"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _is_placeholder(value: Any) -> bool:
    from components.settings import HOST_KEY_PLACEHOLDER, documentation_network_reason, reserved_name_reason

    return isinstance(value, str) and (value == HOST_KEY_PLACEHOLDER or bool(
        documentation_network_reason(value) or reserved_name_reason(value)))


def with_test_stand_ins(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with each placeholder of a shipped stack file replaced by its ``TEST_STAND_INS`` value."""
    config = dict(config)
    if _is_placeholder(config.get(f"{PROJECT}:domain")):
        config[f"{PROJECT}:domain"] = TEST_STAND_INS["domain"]
    server = config.get(f"{PROJECT}:server")
    if isinstance(server, dict):
        server = dict(server)
        if _is_placeholder(server.get("address")):
            server["address"] = TEST_STAND_INS["server.address"]
        if _is_placeholder(server.get("hostKey")):
            server["hostKey"] = TEST_STAND_INS["server.hostKey"]
        if isinstance(server.get("sshAllowedCidrs"), list):
            server["sshAllowedCidrs"] = [TEST_STAND_INS["server.sshAllowedCidrs"] if _is_placeholder(c) else c
                                         for c in server["sshAllowedCidrs"]]
        config[f"{PROJECT}:server"] = server
    return config


def stack_file_config(stack: str) -> dict[str, Any]:
    """``stacks/Pulumi.<stack>.yaml``'s config section with the test stand-ins (YAML values, no secrets added)."""
    document = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    return with_test_stand_ins(dict(document.get("config") or {}))


def stack_settings(stack: str):
    """Settings of a shipped stack file as ``from_stack_file`` reads it, with the test stand-ins."""
    from components.settings import from_mapping

    return from_mapping(stack, stack_file_config(stack), secret_placeholders=True)


def write_stack_file(stack: str, directory: Path) -> Path:
    """A copy of ``stacks/Pulumi.<stack>.yaml`` with the test stand-ins, for tools that read a file."""
    path = Path(directory) / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": stack_file_config(stack)}, sort_keys=False, allow_unicode=True))
    return path


def stack_config(stack: str, overrides: dict[str, Any] | None = None,
                 secrets: dict[str, str | None] | None = None) -> dict[str, str]:
    """A stack file's config as the engine passes it: JSON text for objects, plus test secrets."""
    config = stack_file_config(stack)
    config.update({k: v for k, v in TEST_SECRETS.items()})
    for key, value in (secrets or {}).items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = value
    return {k: (json.dumps(v) if isinstance(v, (dict, list, bool, int)) else str(v)) for k, v in config.items()}


class StackMockMonitor(MockMonitor):
    """pulumi's MockMonitor, naming URNs after the stack and project the run was given.

    The SDK's monitor reads them from context variables, and some SDK releases (3.255)
    register resources from a worker thread that does not see them: URNs there say
    ``urn:pulumi:stack::project::`` while the engine would say ``urn:pulumi:dev::nexus-registry::``,
    and messages that print a URN (``pulumi up --replace '<urn>'``) would be tested against a
    name no real run produces.
    """

    def __init__(self, mocks: pulumi.runtime.Mocks, project: str, stack: str):
        super().__init__(mocks)
        self.project, self.stack = project, stack

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        generic = super().make_urn(parent, type_, name)
        qualified_type_and_name = generic.split("::", 2)[2]
        return f"urn:pulumi:{self.stack}::{self.project}::{qualified_type_and_name}"


def run_program(stack: str, config: dict[str, str], program: Callable[[], Any] | None = None,
                extra_outputs: Callable[[str, str, dict], dict] | None = None,
                preview: bool = False, cloud: TencentCloud | None = None,
                prior: PriorState | None = None, secret_keys: list[str] | None = None) -> ProgramRun:
    """Execute ``program`` (default: the project's ``__main__.py``) under mocks.

    ``cloud`` is the Tencent account the run sees (a fresh default one if not given);
    ``prior`` is the engine state of an earlier update (see ``tests.two_runs``);
    ``secret_keys`` the config keys the engine says were encrypted (default: every secret setting).
    """
    run = ProgramRun()
    mocks = RecordingMocks(run, extra_outputs, cloud=cloud, prior=prior)
    run.cloud = mocks.cloud
    # set_mocks keeps an existing root Stack (and its exports): start each run from a fresh one.
    pulumi.runtime.settings.set_root_resource(None)
    # A run that fails on purpose leaves sibling Outputs holding the same error; asyncio would print
    # each one at interpreter exit ("Future exception was never retrieved"), after pytest's summary.
    _ensure_event_loop().set_exception_handler(_quiet_unretrieved)
    # Outputs still tracked from an earlier (possibly failed) run would leak their errors into this one.
    pulumi.runtime.settings.SETTINGS.outputs.clear()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview,
                             monitor=StackMockMonitor(mocks, PROJECT, stack))
    if secret_keys is None:  # as if each secret had been set with `pulumi config set --secret`
        secret_keys = [k for k in config if k in TEST_SECRETS or is_secret_setting(k)]
    pulumi.runtime.set_all_config(config, secret_keys)

    original_init = pulumi.resource.Resource.__init__

    def recording_init(self, t, name, custom=False, props=None, opts=None, *a, **kw):
        run.resources.append(Registered(t, name, {}, opts, self))
        return original_init(self, t, name, custom, props, opts, *a, **kw)

    pulumi.resource.Resource.__init__ = recording_init
    try:
        def body():
            if program is None:
                runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
            else:
                program()
        try:
            _sync_await(run_pulumi_func(body))
        except Exception as error:
            error.program_run = run  # lets a test show nothing was registered before the failure
            raise
        for type_, resource_id in run.deleted:
            mocks.cloud.delete(type_, resource_id)
        stack_resource = pulumi.runtime.get_root_resource()
        for name, value in dict(stack_resource.outputs).items():
            output = pulumi.Output.from_input(value)
            run.outputs[name] = _sync_await(output.future())
            if _sync_await(output.is_secret()):
                run.secret_outputs.add(name)
    finally:
        pulumi.resource.Resource.__init__ = original_init
    # The ComponentResource base records itself too; keep one entry per (type, name).
    seen: dict[tuple[str, str], Registered] = {}
    for registered in run.resources:
        key = (registered.type, registered.name)
        if key in seen:
            seen[key].inputs = seen[key].inputs or registered.inputs
            seen[key].opts = seen[key].opts or registered.opts
            seen[key].resource = seen[key].resource or registered.resource
        else:
            seen[key] = registered
    run.resources = list(seen.values())
    return run


def _quiet_unretrieved(loop, context) -> None:
    if context.get("message") == "Future exception was never retrieved":
        return
    loop.default_exception_handler(context)


def run_stack(stack: str, overrides: dict[str, Any] | None = None,
              secrets: dict[str, str | None] | None = None, stack_name: str | None = None,
              **kwargs) -> ProgramRun:
    """Run ``stacks/Pulumi.<stack>.yaml`` (with overrides) as the stack ``stack_name`` (default: the same)."""
    return run_program(stack_name or stack, stack_config(stack, overrides, secrets), **kwargs)


def resolve(output: Any) -> Any:
    """Value of an Output produced during a run (call inside or after run_program)."""
    return _sync_await(pulumi.Output.from_input(output).future())


def is_secret(output: Any) -> bool:
    return bool(_sync_await(pulumi.Output.from_input(output).is_secret()))
