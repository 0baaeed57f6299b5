"""The preflight's command line: which checks a stack needs, in which order, and how the answer is printed.

Prints one line per problem on stderr (``preflight: <setting or cam:action>:
<what to do>``), warnings marked as such, and exits 2 when any problem is an
error.  The Tencent Cloud API comes first: if it cannot be reached at all, or
the key is refused, that is the one line printed, in seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from components import settings as stack_settings
from components.i18n import N_, _
from components.preflight import Finding, Unreachable, account, artifacts, backend, compute, server
from components.preflight.tencent import DEFAULT_TIMEOUT, Api, ApiError, Rejected, credentials_from
from components.stack_check import StackFileError, read_config, stack_name

SKIP_HINT = N_("skip the preflight with PREFLIGHT=0 make up")  # translated where printed: _(SKIP_HINT)


def cloud_checks(api: Api, settings: stack_settings.Settings, region: str, out: TextIO) -> list[Finding]:
    """Everything asked of the Tencent Cloud API; raises Unreachable or Rejected."""
    who, findings = account.identity(api)
    print(_("==> preflight: Tencent Cloud key of {who} (account {account}), region {region}").format(
        who=who.arn or who.user_id, account=who.account_id, region=region), file=out)
    hourly = None
    if settings.server.is_cvm:
        creation: list[Finding] = []  # what only a new CVM needs
        spec, problems = compute.cvm_spec(api, settings)
        creation += problems
        if spec is not None:
            subnet, problems = compute.first_subnet(api, spec.zone)
            findings += problems
            creation += compute.dry_run(api, settings.server, spec, subnet)
            hourly, problems = compute.hourly_price(api, spec, subnet)
            creation += problems
            if settings.database.postgresql:
                findings += compute.postgresql_spec(api, settings, spec.zone)
        creation += account.balance(api, hourly)
        deployed = compute.deployed_instance(api, settings)
        findings += compute.for_a_deployed_stack(creation, deployed) if deployed else creation
        findings += compute.permissions(api, settings, region)
    elif settings.dns == "dnspod" or settings.certificate == "ssl-console":
        findings += compute.permissions(api, settings, region)
    if settings.dns == "dnspod":
        findings += account.dnspod_zone(api, settings)
    if settings.certificate == "tencent":
        findings += account.free_certificate_quota(api, settings)
    return findings


def run(stack_file: Path, env: Mapping[str, str], *, auto: bool = False, backend_url: str | None = None,
        api_endpoint: str | None = None, api_scheme: str = "https", registry: str = artifacts.DOCKER_HUB,
        migrator_url: str | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        config = read_config(stack_file)
        settings = stack_settings.from_mapping(stack_name(stack_file), config, secret_placeholders=True)
    except StackFileError as problem:
        for line in problem.problems:
            print(line, file=err)
        return 2
    except stack_settings.SettingsError as problem:
        for line in problem.problems:
            print(line, file=err)
        return 2
    cloud = stack_settings.uses_tencent_provider(settings)
    if auto and not cloud:
        return 0
    findings: list[Finding] = []
    try:
        if cloud:
            findings += _tencent(settings, config, env, api_endpoint, api_scheme, out)
        findings += artifacts.nexus_image(settings, registry)
        findings += artifacts.migrator(settings, migrator_url)
        findings += server.check(settings, env)
        findings += backend.check(env, backend_url if backend_url is not None else env.get("PULUMI_BACKEND_URL"))
    except Unreachable as failure:
        print(_("preflight: {what} could not be reached: {reason}; check the network (or the proxy in HTTPS_PROXY), "
                "or {skip}").format(what=failure.what, reason=failure.reason, skip=_(SKIP_HINT)), file=err)
        return 2
    for finding in findings:
        print(finding.line(), file=err)
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        print(_("preflight: {count} problem(s) above; fix them and re-run, or {skip}").format(
            count=len(errors), skip=_(SKIP_HINT)), file=err)
        return 2
    warnings = len(findings) - len(errors)
    if warnings:
        print(_("==> preflight: passed ({count} warning(s))").format(count=warnings), file=out)
    else:
        print(_("==> preflight: passed"), file=out)
    return 0


def _tencent(settings: stack_settings.Settings, config: Mapping[str, Any], env: Mapping[str, str],
             api_endpoint: str | None, api_scheme: str, out: TextIO) -> list[Finding]:
    credentials, missing = credentials_from(env, config)
    if credentials is None:
        return missing
    region = config.get(stack_settings.REGION_KEY) or env.get("TENCENTCLOUD_REGION")
    domain = config.get("tencentcloud:domain")
    api = Api(credentials, str(region), endpoint=api_endpoint, scheme=api_scheme,
              timeout=DEFAULT_TIMEOUT, root_domain=str(domain) if domain else None)
    try:
        return cloud_checks(api, settings, str(region), out)
    except Rejected as rejected:
        return [rejected.finding]
    except ApiError as failure:  # an answer no check expected (InternalError, RequestLimitExceeded ...)
        return [Finding("tencentcloud", _("the API answered {code}: {message}; re-run the preflight, or {skip}").format(
            code=failure.code, message=failure.message, skip=_(SKIP_HINT)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m components.preflight",
        description="Check that the account, the network and the host let this stack deploy (README: Preflight).")
    parser.add_argument("stack_file", type=Path)
    parser.add_argument("--auto", action="store_true",
                        help="as make up runs it: do nothing for a stack that uses no Tencent Cloud resource")
    parser.add_argument("--backend", help="the state backend URL (default: PULUMI_BACKEND_URL)")
    parser.add_argument("--api-endpoint", help="host[:port] answering every Tencent Cloud API product "
                        "(a private endpoint or a test double; default <product>.tencentcloudapi.com)")
    parser.add_argument("--api-scheme", default="https", choices=("https", "http"))
    parser.add_argument("--registry", default=artifacts.DOCKER_HUB, help="the registry the host pulls Nexus from")
    args = parser.parse_args(argv)
    return run(args.stack_file, os.environ, auto=args.auto, backend_url=args.backend,
               api_endpoint=args.api_endpoint, api_scheme=args.api_scheme, registry=args.registry)
