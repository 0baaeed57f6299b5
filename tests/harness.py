"""Run the Pulumi program (or one component) under mocks and record what it registers.

``run_stack("dev")`` loads ``stacks/Pulumi.dev.yaml`` plus test secrets into the
mock config, executes ``__main__.py`` with ``runpy`` exactly as the Pulumi
language host would, and returns every registered resource (type, name,
inputs, options) and every stack output with its secretness resolved.
Resources are the real SDK classes; the mocks only stand in for the engine.
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
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "nexus-registry"
TEST_SECRETS = {
    f"{PROJECT}:adminPassword": "Correct-Horse-Battery-9",
    f"{PROJECT}:sshPrivateKey": (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    ),
}
FAKE_PUBLIC_IP = "198.51.100.7"


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
    """Outputs the real providers compute, in the camelCase the engine returns."""
    if type_ == "tencentcloud:Instance/instance:Instance":
        return {"publicIp": FAKE_PUBLIC_IP, "privateIp": "10.70.1.8"}
    if type_ == "tencentcloud:Ssl/freeCertificate:FreeCertificate":
        # DNS-validated applications carry the TXT record Tencent asked for; DNS_AUTO ones need none.
        dv_auths = [] if inputs.get("dvAuthMethod") == "DNS_AUTO" else [{
            "dvAuthKey": f"_dnsauth.{inputs.get('domain', name).split('.')[0]}",
            "dvAuthValue": f"2026112700000000{len(name)}abcdef", "dvAuthVerifyType": "TXT"}]
        return {"status": 1, "certEndTime": "2099-01-01 08:00:00", "dvAuths": dv_auths,
                "certificatePublicKey": f"-----BEGIN CERTIFICATE-----\n{name}\n-----END CERTIFICATE-----\n"
                                        "-----BEGIN CERTIFICATE-----\nintermediate\n-----END CERTIFICATE-----\n",
                "certificatePrivateKey": f"-----BEGIN RSA PRIVATE KEY-----\n{name}\n-----END RSA PRIVATE KEY-----\n"}
    if type_ in ("tls:index/selfSignedCert:SelfSignedCert", "tls:index/locallySignedCert:LocallySignedCert"):
        return {"certPem": f"-----BEGIN CERTIFICATE-----\n{name}\n-----END CERTIFICATE-----\n",
                "validityEndTime": "2099-01-01T00:00:00Z"}
    if type_ == "acme:index/certificate:Certificate":
        return {"certificatePem": f"-----BEGIN CERTIFICATE-----\n{name}\n-----END CERTIFICATE-----\n",
                "issuerPem": "-----BEGIN CERTIFICATE-----\nR11\n-----END CERTIFICATE-----\n",
                "privateKeyPem": f"-----BEGIN RSA PRIVATE KEY-----\n{name}\n-----END RSA PRIVATE KEY-----\n",
                "certificateNotAfter": "2099-01-01T00:00:00Z"}
    if type_ == "tencentcloud:Postgresql/instance:Instance":
        # resource_tc_postgresql_instance.go Read (v1.82.42): the private address and port come from
        # DBInstanceNetInfo; engine and kernel versions, cpu and the backup plan are computed.
        return {"privateAccessIp": "10.70.1.20", "privateAccessPort": 5432, "engineVersion": "16.0",
                "dbKernelVersion": "v16.0_r1.0", "cpu": 2, "uid": 1234, "createTime": "2026-11-29 10:00:00",
                "publicAccessHost": "", "publicAccessPort": 0}
    if type_ == "tencentcloud:Postgresql/instanceSslConfig:InstanceSslConfig":
        return {"caUrl": "https://postgres-ssl.example.invalid/ca.pem"}
    if type_ == "random:index/randomPassword:RandomPassword":
        # pulumi-random: ``result`` is computed and sensitive.
        return {"result": "Generated_pw-" + "a1B2" * 5}
    if type_ == "pulumi:pulumi:StackReference":
        return {"outputs": {}, "secretOutputNames": []}  # a stack's first update: nothing deployed yet
    if type_ == "tls:index/privateKey:PrivateKey":
        return {
            "privateKeyOpenssh": f"-----BEGIN OPENSSH PRIVATE KEY-----\n{name}\n-----END OPENSSH PRIVATE KEY-----\n",
            "privateKeyPem": f"-----BEGIN PRIVATE KEY-----\n{name}\n-----END PRIVATE KEY-----\n",
            "publicKeyOpenssh": f"ssh-{'rsa' if inputs.get('algorithm') == 'RSA' else 'ed25519'} AAAA{name}",
            "publicKeyPem": f"-----BEGIN PUBLIC KEY-----\n{name}\n-----END PUBLIC KEY-----\n",
        }
    return {}


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, run: ProgramRun, extra_outputs: Callable[[str, str, dict], dict] | None = None):
        self.run = run
        self.extra_outputs = extra_outputs

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = {**args.inputs, **_fake_outputs(args.typ, args.name, args.inputs)}
        if self.extra_outputs:
            outputs.update(self.extra_outputs(args.typ, args.name, args.inputs))
        # The engine marks a resource's additional_secret_outputs secret; the mock monitor does not.
        for registered in reversed(self.run.resources):
            if registered.type == args.typ and registered.name == args.name and registered.opts is not None:
                for key in registered.opts.additional_secret_outputs or []:
                    if key in outputs:
                        outputs[key] = {rpc._special_sig_key: rpc._special_secret_sig, "value": outputs[key]}
                break
        for registered in reversed(self.run.resources):
            if registered.type == args.typ and registered.name == args.name:
                registered.inputs = dict(args.inputs)
                break
        else:
            self.run.resources.append(Registered(args.typ, args.name, dict(args.inputs)))
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.run.invokes.append((args.token, dict(args.args)))
        if args.token == "tencentcloud:Availability/getZonesByProduct:getZonesByProduct":
            return {"zones": [
                {"name": "ap-guangzhou-3", "state": "UNAVAILABLE", "id": "100003", "description": "Zone 3"},
                {"name": "ap-guangzhou-6", "state": "AVAILABLE", "id": "100006", "description": "Zone 6"},
            ]}
        if args.token == "tencentcloud:Ssl/getCertificates:getCertificates":
            # No earlier certificate for the hostname; a polled certificate is already issued.
            if not args.args.get("id"):
                return {"certificates": []}
            cert_id = args.args["id"]
            return {"certificates": [{
                "id": cert_id, "status": 1, "endTime": "2099-01-01 08:00:00",
                "cert": f"-----BEGIN CERTIFICATE-----\n{cert_id}\n-----END CERTIFICATE-----\n",
                "key": f"-----BEGIN RSA PRIVATE KEY-----\n{cert_id}\n-----END RSA PRIVATE KEY-----\n",
            }]}
        if args.token == "tencentcloud:Image/getInstance:getInstance":
            return {"imageId": "img-487zeit5", "imageName": "Ubuntu Server 22.04 LTS 64bit"}
        if args.token == "tencentcloud:Instance/getTypes:getTypes":
            cpu, memory = int(args.args["cpuCoreCount"]), int(args.args["memorySize"])
            return {"instanceTypes": [
                {"instanceType": f"SA2.MEDIUM{memory}", "family": "SA2", "cpuCoreCount": cpu, "memorySize": memory,
                 "availabilityZone": args.args.get("availabilityZone"), "gpuCoreCount": 0, "cbsConfigs": [],
                 "instanceChargeType": "POSTPAID_BY_HOUR", "status": "SELL"},
                {"instanceType": f"S5.MEDIUM{memory}", "family": "S5", "cpuCoreCount": cpu, "memorySize": memory,
                 "availabilityZone": args.args.get("availabilityZone"), "gpuCoreCount": 0, "cbsConfigs": [],
                 "instanceChargeType": "POSTPAID_BY_HOUR", "status": "SELL"},
            ]}
        return {}


def stack_config(stack: str, overrides: dict[str, Any] | None = None,
                 secrets: dict[str, str | None] | None = None) -> dict[str, str]:
    """A stack file's config as the engine passes it: JSON text for objects, plus test secrets."""
    document = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    config: dict[str, Any] = dict(document.get("config") or {})
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


def run_program(stack: str, config: dict[str, str], program: Callable[[], Any] | None = None,
                extra_outputs: Callable[[str, str, dict], dict] | None = None,
                preview: bool = False) -> ProgramRun:
    """Execute ``program`` (default: the project's ``__main__.py``) under mocks."""
    run = ProgramRun()
    mocks = RecordingMocks(run, extra_outputs)
    # set_mocks keeps an existing root Stack (and its exports): start each run from a fresh one.
    pulumi.runtime.settings.set_root_resource(None)
    # A run that fails on purpose leaves sibling Outputs holding the same error; asyncio would print
    # each one at interpreter exit ("Future exception was never retrieved"), after pytest's summary.
    _ensure_event_loop().set_exception_handler(_quiet_unretrieved)
    # Outputs still tracked from an earlier (possibly failed) run would leak their errors into this one.
    pulumi.runtime.settings.SETTINGS.outputs.clear()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview)
    secret_keys = [k for k in config if k in TEST_SECRETS or k.endswith(("Password", "Token", "PrivateKey"))]
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
