"""``certificate: tencent``: one Tencent free DV certificate (``ssl.FreeCertificate``) per hostname.

Tencent's free DV certificates name one domain and last 90 days.  Issuance is
asynchronous: the provider's Create calls ``ApplyCertificate`` and reads the
certificate back at once, so its PEM outputs are empty on the first ``pulumi
up`` (DESIGN pitfall 12).  The source therefore waits inside the run, bounded
(20 minutes by default, progress in the log).  Preview never waits.

What the provider lets a program see (terraform-provider-tencentcloud v1.82.42,
``tencentcloud/services/ssl``):

- ``resource_tc_ssl_free_certificate.go``: the resource's own ``status`` comes
  from ``DescribeCertificateDetail`` on Create and on every refresh; Read also
  copies ``package_type`` and ``validity_period`` back (Optional, not Computed)
  and Update refuses any change to them, to ``dv_auth_method`` and to the
  contact/CSR fields ("cannot update argument").  So this module sends the
  values the API stores (``FREE_PACKAGE_TYPE``, ``FREE_VALIDITY_MONTHS``),
  ignores drift in them, and replaces the certificate when ``dv_auth_method``
  must change.
- ``data_source_tc_ssl_certificates.go`` (``ssl.getCertificates``) skips every
  certificate whose alias, begin or end time is null: a pending or rejected
  application is *not listed*.  Being listed means "issued at some point" and
  carries the PEMs; not being listed means nothing more than "not issued".
- ``data_source_tc_ssl_describe_certificate.go`` (``ssl.getDescribeCertificate``)
  reports the status of any certificate id, pending ones included, except that
  its ``d.Set`` of ``dv_auth_detail.dv_auths`` nests a list one level too deep:
  whenever Tencent returns DV auth records the whole ``result`` comes back
  empty.  An empty answer is therefore "status unknown", never a status.

The wait reads the status from the FreeCertificate itself and from
``getDescribeCertificate`` when it answers: a rejected application (``DEAD_STATUSES``)
fails the run at once instead of waiting out the timeout.  Issuance (status 1
and both PEMs) is read from ``getCertificates(id)``.

Domain validation (``validation_mode``):

- ``dns-auto`` (default with ``dns: dnspod``): ``DNS_AUTO``, Tencent adds the
  TXT record itself; this needs the zone in DNSPod on the same account.
- ``dnspod-record``: ``DNS``, and this stack creates the TXT record from
  ``dv_auths`` with ``dnspod.Record`` (optionally through another account's
  provider, ``CertificatesArgs.dnspod_provider``).
- ``manual`` (default with ``dns: none``: the zone is then not ours to write):
  ``DNS``; the TXT record to add is logged, exported as ``validation_records``
  and repeated while waiting.

Renewal: before registering a certificate the source picks a *generation*
(``choose_generation``) from two views: Tencent's list of issued certificates
for the hostname, and the certificate this stack held at its last successful
update (exported as ``tencentCertificates`` and read back through
``components.deployed``) with its status read afresh.  The newest generation
(alias ``nexus-registry-<stack>-<role>-g<N>``) is kept unless it is within
``renewBeforeDays`` of expiry (``needs_renewal``) or dead, in which case N+1
is used.  The alias carries N and the resource has
``replace_on_changes=["alias", ...]``, so a new generation replaces the
FreeCertificate (created first, the old one deleted at the end of the update)
and nginx receives the new PEMs in the same run.

``certificate_private_key`` is not marked secret by the SDK:
``additional_secret_outputs`` encrypts it in state and every key leaves as a
secret Output.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pulumi
from pulumi.output import UNKNOWN
from tencentcloud_iac_pulumi import dnspod, ssl

from components.certificates.pem_text import normalise_pem, rfc3339
from components.certificates.source import CertificatesArgs, SourceResult
from components.certificates.tencent_decisions import (
    DEAD_STATUSES,
    ISSUED,
    TencentCertificate,
    ValidationRecord,
    answer_field,
    as_int,
    certificate_alias,
    choose_generation,
    held_certificates,
    merge_views,
    parse_tencent_time,
    still_valid_predecessor,
    to_described_certificate,
    to_tencent_certificate,
    validation_mode,
    validation_record,
)
from components.deployed import previous_output
from components.pem import PemPair

# ApplyCertificate (ssl/v20191205): "PackageType: currently only 83 = TrustAsia C1 DV Free";
# "ValidityPeriod: default 3 (months), only 3 supported".  DescribeCertificateDetail returns them
# and the provider's Read stores them, so sending anything else (or nothing) makes the next
# update try to change them, which the provider's Update refuses.
FREE_PACKAGE_TYPE = "83"
FREE_VALIDITY_MONTHS = "3"
# Update refuses these; a change must be a new application.
REPLACE_ON_CHANGES = ["alias", "dvAuthMethod"]
# Read overwrites these with what the API stores; drift there is Tencent's spelling, not ours.
IGNORED_DRIFT = ["packageType", "validityPeriod"]

# The stack output that records the certificate held per role (components.deployed).
CERTIFICATES_OUTPUT = "tencentCertificates"

# dv_auths usually come back with the application; allow a short wait if they lag.
DV_AUTH_TIMEOUT_SECONDS = 120
VALIDATION_RECORD_TTL_SECONDS = 600


# --- the Tencent wait ---------------------------------------------------------------------


class CertificateIssuanceError(RuntimeError):
    """A Tencent free certificate was not issued in time (or was rejected)."""


async def wait_for_issuance(read: Callable[[], Awaitable[TencentCertificate | None]], *, fqdn: str, cert_id: str,
                            timeout_seconds: float, interval_seconds: float, progress: Callable[[str], None],
                            next_steps: str, replace_hint: str,
                            sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                            clock: Callable[[], float] = time.monotonic) -> TencentCertificate:
    """Poll ``read`` until the certificate is issued; bounded by ``timeout_seconds``.

    Raises ``CertificateIssuanceError`` at once for a dead application and after
    the timeout otherwise, with what to do next in the message.
    """
    started = clock()
    polls = 0
    while True:
        current = await read()
        polls += 1
        if current is not None and current.issued:
            if polls > 1:
                progress(f"{fqdn}: certificate {cert_id} issued after {_duration(clock() - started)}")
            return current
        if current is not None and current.status in DEAD_STATUSES:
            raise CertificateIssuanceError(
                f"Tencent will not issue the free certificate {cert_id} for {fqdn}: status {current.status} "
                f"({current.status_name}). Apply for a new one: {replace_hint}"
            )
        elapsed = clock() - started
        status = (f"status {current.status} ({current.status_name})" if current and current.status is not None
                  else "not issued yet")
        if elapsed >= timeout_seconds:
            raise CertificateIssuanceError(
                f"Tencent has not issued the free certificate {cert_id} for {fqdn} within "
                f"{_duration(timeout_seconds)} ({status}). The application is kept in Tencent Cloud and in this "
                f"stack, so nothing is lost. Next: {next_steps} Then run `pulumi up` again: it resumes waiting for "
                f"this same certificate instead of applying for a new one. "
                f"Details: https://console.cloud.tencent.com/ssl/detail/{cert_id}"
            )
        progress(f"{fqdn}: waiting for Tencent to issue certificate {cert_id}, {status}, "
                 f"{_duration(elapsed)} of at most {_duration(timeout_seconds)}")
        await sleep(max(0.0, min(interval_seconds, timeout_seconds - elapsed)))


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds:.1f} s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


# --- the source ----------------------------------------------------------------------------


class TencentReader:
    """Reads one certificate's current state through the provider's data sources."""

    def __init__(self, parent: pulumi.Resource):
        self.parent = parent

    async def listed(self, cert_id: str) -> TencentCertificate | None:
        result = await ssl.get_certificates_output(
            id=cert_id, opts=pulumi.InvokeOutputOptions(parent=self.parent)).future()
        listed = answer_field(result, "certificates")
        if listed is None:
            # The provider always answers with a (possibly empty) list; anything else would
            # otherwise look like "not issued yet" for the whole timeout.
            raise CertificateIssuanceError(
                f"ssl.getCertificates(id={cert_id!r}) answered without a 'certificates' list; the Tencent "
                "provider plugin does not match tencentcloud-iac-pulumi (reinstall requirements.txt)")
        found = [to_tencent_certificate(raw) for raw in listed]
        return next((c for c in found if c.id == cert_id), None)

    async def described(self, cert_id: str) -> TencentCertificate | None:
        try:
            result = await ssl.get_describe_certificate_output(
                certificate_id=cert_id, opts=pulumi.InvokeOutputOptions(parent=self.parent)).future()
        except Exception as error:  # noqa: BLE001  a deleted id is an API error, and only "unknown" here
            pulumi.log.debug(f"ssl.getDescribeCertificate({cert_id}) failed: {error}", resource=self.parent)
            return None
        return to_described_certificate(result)

    async def current(self, cert_id: str) -> TencentCertificate | None:
        """Everything Tencent lets us see about ``cert_id`` now; None when nothing answers for it."""
        listed, described = await asyncio.gather(self.listed(cert_id), self.described(cert_id))
        return merge_views(listed, described)


def build(component: pulumi.ComponentResource, name: str, args: CertificatesArgs) -> SourceResult:
    settings = args.settings
    reader = TencentReader(component)
    held = previous_output(CERTIFICATES_OUTPUT).apply(held_certificates)
    validation_records: dict[str, pulumi.Output[dict[str, str]]] = {}
    records: dict[str, pulumi.Output[dict[str, Any]]] = {}
    pairs: dict[str, PemPair] = {}
    for role, fqdn in (("web", settings.web_fqdn), ("registry", settings.registry_fqdn)):
        pairs[role], records[role] = _one_hostname(
            component, name, args, reader, held, role, fqdn, validation_records)
    return SourceResult(
        web=pairs["web"], registry=pairs["registry"], validation_records=validation_records,
        # What this update holds, for the next one's generation choice (components.deployed).
        outputs={CERTIFICATES_OUTPUT: pulumi.Output.all(**records)},
    )


def _one_hostname(component: pulumi.ComponentResource, name: str, args: CertificatesArgs, reader: TencentReader,
                  held: pulumi.Output[dict[str, tuple[int, str]]], role: str, fqdn: str,
                  validation_records: dict[str, pulumi.Output[dict[str, str]]],
                  ) -> tuple[PemPair, pulumi.Output[dict[str, Any]]]:
    """The FreeCertificate for one hostname, the wait for it, and what to record about it."""
    settings = args.settings
    mode = validation_mode(settings)

    # The renewal decision reads Tencent's own list (the source of truth for expiry;
    # DescribeCertificates' SearchKey matches the domain) and what this stack held last time.
    now = datetime.now(UTC)
    listing = ssl.get_certificates_output(name=fqdn, opts=pulumi.InvokeOutputOptions(parent=component))

    async def decide(values: list[Any]) -> tuple[int, TencentCertificate | None]:
        listed, held_by_role = values
        existing = [to_tencent_certificate(raw) for raw in (answer_field(listed, "certificates") or [])]
        previous = held_by_role.get(role)
        held_view = None
        if previous is not None:
            held_view = (previous[0], await reader.current(previous[1]))
        chosen = choose_generation(existing, stack=settings.stack, role=role, fqdn=fqdn, now=now,
                                   renew_before_days=settings.renew_before_days, held=held_view)
        return chosen, still_valid_predecessor(existing, stack=settings.stack, role=role, fqdn=fqdn,
                                               generation=chosen, now=now)

    decision = pulumi.Output.all(listing, held).apply(decide)
    generation = decision.apply(lambda d: d[0])
    predecessor = decision.apply(lambda d: d[1])

    cert = ssl.FreeCertificate(
        f"{name}-{role}",
        domain=fqdn,
        dv_auth_method="DNS_AUTO" if mode == "dns-auto" else "DNS",
        alias=generation.apply(lambda n: certificate_alias(settings.stack, role, n)),
        package_type=FREE_PACKAGE_TYPE,
        validity_period=FREE_VALIDITY_MONTHS,
        opts=pulumi.ResourceOptions(
            parent=component,
            # A new generation is a new certificate (the provider would only rename this one), and
            # the provider's Update refuses a new validation method.
            replace_on_changes=REPLACE_ON_CHANGES,
            ignore_changes=IGNORED_DRIFT,
            # The SDK leaves the key in plain text in state; make the engine encrypt it.
            additional_secret_outputs=["certificatePrivateKey"],
        ),
    )

    wait_on: list[pulumi.Output[Any]] = []
    next_steps = (f"check that the zone {settings.domain} is in DNSPod (Cloud DNS) on the same Tencent Cloud "
                  "account as TENCENTCLOUD_SECRET_ID: with DNS_AUTO Tencent adds the TXT record itself.")
    if mode != "dns-auto":
        auth = pulumi.Output.all(cert.id, cert.dv_auths).apply(
            lambda values: _validation(reader, values[0], values[1], fqdn, settings.domain, args))
        validation_records[role] = auth.apply(
            lambda r: {"name": r.fqdn(settings.domain), "type": r.record_type, "value": r.value})
        if mode == "dnspod-record":
            txt = dnspod.Record(
                f"{name}-{role}-validation",
                domain=settings.domain,
                sub_domain=auth.apply(lambda r: r.sub_domain),
                record_type=auth.apply(lambda r: r.record_type),
                record_line="默认",  # DNSPod's default line; the API accepts no other spelling
                value=auth.apply(lambda r: r.value),
                ttl=VALIDATION_RECORD_TTL_SECONDS,
                opts=pulumi.ResourceOptions(parent=component, provider=args.dnspod_provider),
            )
            wait_on.append(txt.id)
            next_steps = "check that the validation record created by this stack resolves: {record}."
        else:
            auth.apply(lambda r: pulumi.log.warn(
                f"{fqdn}: add this DNS record at the DNS host of {settings.domain} so Tencent can issue the "
                f"certificate: {r.fqdn(settings.domain)} {r.record_type} {r.value!r}", resource=component))
            next_steps = "add the DNS record {record} at the DNS host of " + settings.domain + "."
        wait_on.append(auth)

    has_key = pulumi.Output.unsecret(cert.certificate_private_key.apply(lambda key: bool(key)))
    state = pulumi.Output.all(
        cert.id, cert.urn, cert.status, cert.certificate_public_key, cert.cert_end_time, has_key, predecessor,
        *wait_on,
    ).apply(lambda values: _await_issued(component, reader, values, fqdn, next_steps, mode, args))

    cert_pem = state.apply(lambda current: current.cert_pem)
    # The fast path (state already issued) leaves key_pem empty: take the resource's own key then.
    key_pem = pulumi.Output.secret(
        pulumi.Output.all(state, cert.certificate_private_key).apply(
            lambda values: values[0].key_pem or normalise_pem(values[1]))
    )
    expires_at = state.apply(lambda current: rfc3339(current.end_time))
    record = pulumi.Output.all(generation, cert.id, state).apply(
        lambda values: {"generation": values[0], "id": values[1]})
    return PemPair(cert_pem=cert_pem, key_pem=key_pem, expires_at=expires_at), record


async def _validation(reader: TencentReader, cert_id: str, dv_auths: Sequence[Any] | None, fqdn: str, zone: str,
                      args: CertificatesArgs) -> ValidationRecord:
    """The record that proves ``fqdn``: from the application itself, or read back shortly after."""
    auths = [(answer_field(a, "dv_auth_key", "dvAuthKey"), answer_field(a, "dv_auth_value", "dvAuthValue"),
              answer_field(a, "dv_auth_verify_type", "dvAuthVerifyType")) for a in (dv_auths or [])]
    if not any(key and value for key, value, _ in auths) and not pulumi.runtime.is_dry_run():
        deadline = time.monotonic() + DV_AUTH_TIMEOUT_SECONDS
        while True:
            # Only the listing carries dv_auths after Create; a pending application is not listed,
            # so this only helps once Tencent lists it.  The resource's own dv_auths come first.
            current = await reader.listed(cert_id)
            auths = list(current.dv_auths) if current else []
            if any(key and value for key, value, _ in auths) or time.monotonic() >= deadline:
                break
            await asyncio.sleep(min(args.poll_interval_seconds, 10))
    for key, value, verify_type in auths:
        if key and value:
            return validation_record(key, value, verify_type, fqdn=fqdn, zone=zone)
    if pulumi.runtime.is_dry_run():
        return UNKNOWN  # type: ignore[return-value]  # known once the application exists
    raise CertificateIssuanceError(
        f"Tencent returned no DNS validation record for certificate {cert_id} ({fqdn}) within "
        f"{_duration(DV_AUTH_TIMEOUT_SECONDS)}. Run `pulumi up --refresh` (the certificate's own record is "
        f"read again); if it persists, open https://console.cloud.tencent.com/ssl/detail/{cert_id} and check "
        "the application."
    )


async def _await_issued(component: pulumi.ComponentResource, reader: TencentReader, values: list[Any], fqdn: str,
                        next_steps: str, mode: str, args: CertificatesArgs) -> TencentCertificate:
    cert_id, urn, status, public_key, end_time, has_key, predecessor = values[:7]
    extra = values[7:]
    if mode != "dns-auto":
        validation: ValidationRecord = extra[-1]
        next_steps = next_steps.format(
            record=f"{validation.fqdn(args.settings.domain)} {validation.record_type} {validation.value!r}")
    # The FreeCertificate's own status (read on Create and on every refresh).
    status = as_int(status)
    own = TencentCertificate(id=cert_id, status=status, end_time=parse_tencent_time(end_time),
                             cert_pem=normalise_pem(public_key))
    if status == ISSUED and own.cert_pem and has_key:
        return _checked(component, own, fqdn)
    replace_hint = (f"the next `pulumi up` applies for a new one once this stack has recorded the rejection; "
                    f"to apply now: pulumi up --replace '{urn}'")
    if status in DEAD_STATUSES:
        return _fall_back(component, predecessor, CertificateIssuanceError(
            f"Tencent will not issue the free certificate {cert_id} for {fqdn}: status {status} "
            f"({own.status_name}). Apply for a new one: {replace_hint}"), fqdn)
    if pulumi.runtime.is_dry_run():
        current = await reader.current(cert_id)
        if current is not None and current.issued:
            return _checked(component, current, fqdn)
        pulumi.log.info(f"{fqdn}: certificate not issued yet; `pulumi up` waits for it (at most "
                        f"{_duration(args.issuance_timeout_seconds)})", resource=component)
        return UNKNOWN  # type: ignore[return-value]
    try:
        issued = await wait_for_issuance(
            lambda: reader.current(cert_id), fqdn=fqdn, cert_id=cert_id,
            timeout_seconds=args.issuance_timeout_seconds, interval_seconds=args.poll_interval_seconds,
            progress=lambda message: pulumi.log.info(message, resource=component),
            next_steps=next_steps, replace_hint=replace_hint,
        )
    except CertificateIssuanceError as error:
        return _fall_back(component, predecessor, error, fqdn)
    return _checked(component, issued, fqdn)


def _fall_back(component: pulumi.ComponentResource, predecessor: TencentCertificate | None,
               error: CertificateIssuanceError, fqdn: str) -> TencentCertificate:
    """A renewal that is rejected or late leaves the still-valid previous generation in service.

    The run then succeeds, so it records the new application (``tencentCertificates``):
    the next update sees its status and, if Tencent rejected it, applies for the
    generation after it.  With nothing valid to serve, the error stands.
    """
    if predecessor is None:
        raise error
    pulumi.log.warn(f"{error} Until then nginx keeps the previous certificate {predecessor.id} "
                    f"({predecessor.alias}, valid until {rfc3339(predecessor.end_time)}).", resource=component)
    return _checked(component, predecessor, fqdn)


def _checked(component: pulumi.ComponentResource, current: TencentCertificate, fqdn: str) -> TencentCertificate:
    # Nginx needs the intermediate too; say so loudly if Tencent handed back the leaf alone.
    if current.cert_pem.count("BEGIN CERTIFICATE") < 2:
        pulumi.log.warn(f"{fqdn}: Tencent returned a certificate without its intermediate chain; "
                        "clients that lack the TrustAsia intermediate will reject it", resource=component)
    return current
