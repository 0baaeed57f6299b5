"""Certificates: a PEM full chain, its private key (secret) and its expiry for each served hostname.

Nginx serves ``<webHost>.<domain>`` and ``<registryHost>.<domain>``; this component
yields one ``PemPair`` for each (``web``, ``registry``) from the source that the
``certificate`` setting selects, so the proxy never cares where a certificate
came from:

``tencent``  One ``ssl.FreeCertificate`` per hostname (Tencent's free DV
    certificates name one domain and last 90 days).  Issuance is asynchronous:
    the provider's Create calls ``ApplyCertificate`` and reads the certificate
    back at once, so its PEM outputs are empty on the first ``pulumi up``
    (DESIGN pitfall 12).  The component therefore waits inside the run, bounded
    (20 minutes by default, progress in the log), by polling the
    ``ssl.getCertificates`` data source, which calls ``DescribeCertificateDetail``
    and returns ``cert``/``key`` once the CA has issued; on timeout it fails with
    a message that says what to check and that ``pulumi up`` resumes the wait.
    Preview never waits.  Domain validation (``validation_mode``):

    - ``dns-auto`` (default with ``dns: dnspod``): ``DNS_AUTO``, Tencent adds the
      TXT record itself; this needs the zone in DNSPod on the same account.
    - ``dnspod-record``: ``DNS``, and this stack creates the TXT record from
      ``dv_auths`` with ``dnspod.Record`` (optionally through another account's
      provider, ``CertificatesArgs.dnspod_provider``).
    - ``manual`` (default with ``dns: none``: the zone is then not ours to
      write): ``DNS``; the TXT record to add is logged, exported as
      ``validation_records`` and repeated while waiting.

    Renewal: before registering a certificate the component lists Tencent's
    certificates for the hostname and picks a *generation* (``choose_generation``):
    the newest certificate whose alias is ``nexus-registry-<stack>-<role>-g<N>``
    is kept unless it is within ``renewBeforeDays`` of expiry (``needs_renewal``)
    or failed, in which case N+1 is used.  The alias carries N and the resource
    has ``replace_on_changes=["alias"]``, so a new generation replaces the
    FreeCertificate (created first, the old one deleted at the end of the update)
    and nginx receives the new PEMs in the same run.

``acme``  pulumiverse-acme ``Registration`` (account key from pulumi-tls) and one
    ``Certificate`` with both hostnames as SANs, solved with lego's
    ``tencentcloud`` DNS-01 provider.  lego reads ``TENCENTCLOUD_SECRET_ID`` /
    ``TENCENTCLOUD_SECRET_KEY`` (and optional ``TENCENTCLOUD_SESSION_TOKEN``,
    ``TENCENTCLOUD_REGION``) from the provider process's environment, the same
    variables the Tencent provider uses, so no credential enters config or
    state.  ``min_days_remaining = renewBeforeDays`` makes a ``pulumi up`` inside
    the window renew.  The ACME provider (``server_url = acme_server_url(settings)``)
    is built by the caller and passed in.

``self-signed``  A pulumi-tls CA and a server certificate for both hostnames
    (plus the host address when known) with ``early_renewal_hours`` derived from
    ``renewBeforeDays``; the CA certificate is exposed for a stack output so
    clients can trust it (``/etc/docker/certs.d/<host>/ca.crt``).

Every private key leaves this component as a secret Output, including
``certificate_private_key`` which the Tencent SDK does not mark secret
(``additional_secret_outputs`` also encrypts it in state).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pulumi
import pulumi_tls as tls
import pulumiverse_acme as acme
from pulumi.output import UNKNOWN
from tencentcloud_iac_pulumi import dnspod, ssl

from components.pem import PemPair
from components.settings import CertificateValidation, Settings

# Tencent certificate status codes (provider schema of tencentcloud_ssl_free_certificate).
STATUS_NAMES = {
    0: "approving", 1: "issued", 2: "approval failed", 3: "expired", 4: "DNS record added",
    5: "confirmation letter needed", 6: "order being cancelled", 7: "order cancelled",
    8: "submitted, confirmation letter needed", 9: "being revoked", 10: "revoked", 11: "re-applying",
    12: "revocation letter needed", 13: "free certificate confirmation letter needed",
}
ISSUED = 1
# States a certificate never leaves towards "issued": waiting on them is pointless.
DEAD_STATUSES = frozenset({2, 3, 6, 7, 9, 10})

# Tencent's API reports times as "YYYY-MM-DD HH:MM:SS" in Beijing time, without an offset.
TENCENT_TIMEZONE = timezone(timedelta(hours=8), "CST")

DEFAULT_ISSUANCE_TIMEOUT_SECONDS = 20 * 60
DEFAULT_POLL_INTERVAL_SECONDS = 30
# dv_auths usually come back with the application; allow a short wait if they lag.
DV_AUTH_TIMEOUT_SECONDS = 120
VALIDATION_RECORD_TTL_SECONDS = 600

CA_VALIDITY_HOURS = 10 * 365 * 24
SERVER_VALIDITY_HOURS = 365 * 24


# --- pure decisions (unit-tested directly) ----------------------------------------------


def acme_server_url(settings: Settings) -> str:
    """The ACME directory the caller's ``pulumiverse_acme.Provider(server_url=...)`` must use."""
    return settings.acme.server


def validation_mode(settings: Settings) -> CertificateValidation:
    """How Tencent free certificates prove domain control (see the module docstring):
    the ``certificateValidation`` setting, else what ``dns`` implies."""
    if settings.certificate_validation is not None:
        return settings.certificate_validation
    return "dns-auto" if settings.dns == "dnspod" else "manual"


def needs_renewal(expires_at: datetime, now: datetime, renew_before_days: int) -> bool:
    """True when ``expires_at`` is at most ``renew_before_days`` away from ``now`` (or past)."""
    return expires_at - now <= timedelta(days=renew_before_days)


def parse_tencent_time(value: str | None) -> datetime | None:
    """Tencent's ``2025-03-01 07:59:59`` (Beijing time), or an RFC 3339 string, as an aware datetime."""
    if not value:
        return None
    text = value.strip()
    for layout in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, layout).replace(tzinfo=TENCENT_TIMEZONE)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=TENCENT_TIMEZONE)


def rfc3339(moment: datetime | None) -> str:
    """UTC RFC 3339 (``2025-03-01T00:00:00Z``), or "" when unknown."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def certificate_alias(stack: str, role: str, generation: int) -> str:
    return f"nexus-registry-{stack}-{role}-g{generation}"


def alias_generation(alias: str | None, stack: str, role: str) -> int | None:
    """N from ``nexus-registry-<stack>-<role>-g<N>``; None for anyone else's certificate."""
    match = re.fullmatch(rf"nexus-registry-{re.escape(stack)}-{re.escape(role)}-g(\d+)", alias or "")
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class TencentCertificate:
    """What Tencent reports about one certificate (``ssl.getCertificates``)."""

    id: str
    alias: str = ""
    domain: str = ""
    status: int | None = None
    end_time: datetime | None = None
    cert_pem: str = ""
    key_pem: str = ""
    dv_auths: tuple[tuple[str, str, str], ...] = ()  # (key, value, verify type)

    @property
    def issued(self) -> bool:
        return self.status == ISSUED and "BEGIN CERTIFICATE" in self.cert_pem and "PRIVATE KEY" in self.key_pem

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, "unknown") if self.status is not None else "not reported yet"


def choose_generation(existing: Iterable[TencentCertificate], *, stack: str, role: str, fqdn: str,
                      now: datetime, renew_before_days: int) -> int:
    """The certificate generation this run should hold for ``fqdn``.

    Keep the newest generation while it is pending or valid beyond the renewal
    window; move to the next one when it is inside the window, expired or failed.
    Deterministic for a given list and ``now``, so re-running changes nothing.
    """
    ours = [(alias_generation(cert.alias, stack, role), cert) for cert in existing if cert.domain in ("", fqdn)]
    ours = [(generation, cert) for generation, cert in ours if generation is not None]
    if not ours:
        return 1
    generation, newest = max(ours, key=lambda pair: pair[0])
    if newest.status in DEAD_STATUSES:
        return generation + 1
    if newest.status == ISSUED and newest.end_time is not None and needs_renewal(
        newest.end_time, now, renew_before_days
    ):
        return generation + 1
    return generation


@dataclass(frozen=True)
class ValidationRecord:
    """A DNS record that proves control of a hostname: ``sub_domain`` is relative to the zone."""

    sub_domain: str
    record_type: str
    value: str

    def fqdn(self, zone: str) -> str:
        return zone if self.sub_domain == "@" else f"{self.sub_domain}.{zone}"


def validation_record(auth_key: str, auth_value: str, verify_type: str | None, *, fqdn: str,
                      zone: str) -> ValidationRecord:
    """Turn one Tencent ``dv_auths`` entry into a record in ``zone``.

    ``DvAuthKey`` has been seen as a full name (``_dnsauth.nexus.example.com``),
    as a name relative to the zone (``_dnsauth.nexus``) and as a bare label
    (``_dnsauth``, relative to the certificate's hostname); all three land on
    the same record.
    """
    name = auth_key.strip().rstrip(".").lower()
    zone = zone.lower().rstrip(".")
    host = fqdn.lower()[: -len(zone) - 1] if fqdn.lower().endswith("." + zone) else ""
    if name == zone:
        sub = "@"
    elif name.endswith("." + zone):
        sub = name[: -len(zone) - 1]
    elif "." not in name and host:
        sub = f"{name}.{host}"
    else:
        sub = name
    record_type = (verify_type or "TXT").strip().upper()
    if record_type not in ("TXT", "CNAME"):
        raise ValueError(f"Tencent asked for a {record_type!r} validation record for {fqdn}; only TXT and CNAME "
                         "can be created in DNS. Use certificate: acme or validate in the Tencent console.")
    if not sub or not auth_value.strip():
        raise ValueError(f"Tencent returned an empty validation record for {fqdn}: key={auth_key!r}")
    return ValidationRecord(sub_domain=sub, record_type=record_type, value=auth_value.strip())


def split_host_address(address: str | None) -> tuple[list[str], list[str]]:
    """The host address as SAN entries: ``([dns names], [ip addresses])``."""
    if not address:
        return [], []
    try:
        return [], [str(ipaddress.ip_address(address))]
    except ValueError:
        return [address.lower().rstrip(".")], []


def normalise_pem(text: str | None) -> str:
    """PEM text with Unix line endings and exactly one trailing newline ("" stays "")."""
    if not text:
        return ""
    return text.replace("\r\n", "\n").strip() + "\n"


def full_chain(*pems: str | None) -> str:
    return "".join(normalise_pem(pem) for pem in pems if pem)


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
        status = f"status {current.status} ({current.status_name})" if current else "not listed yet"
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


def _field(obj: Any, name: str, camel: str | None = None) -> Any:
    """A field of an SDK output object or of a plain dict (mocks and old SDKs hand back either)."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name, obj.get(camel) if camel else None)
    return getattr(obj, name, None)


def _as_int(value: Any) -> int | None:
    """Engine numbers arrive as floats (protobuf Struct); the SDK's ints as ints."""
    try:
        return int(float(value)) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def to_tencent_certificate(raw: Any) -> TencentCertificate:
    """One ``ssl.getCertificates`` entry as a ``TencentCertificate``."""
    auths = tuple(
        (_field(a, "dv_auth_key", "dvAuthKey") or "", _field(a, "dv_auth_value", "dvAuthValue") or "",
         _field(a, "dv_auth_verify_type", "dvAuthVerifyType") or "")
        for a in (_field(raw, "dv_auths", "dvAuths") or [])
    )
    status = _as_int(_field(raw, "status"))
    return TencentCertificate(
        id=str(_field(raw, "id") or ""),
        alias=_field(raw, "name") or "",
        domain=(_field(raw, "domain") or "").lower(),
        status=status,
        end_time=parse_tencent_time(_field(raw, "end_time", "endTime")),
        cert_pem=normalise_pem(_field(raw, "cert")),
        key_pem=normalise_pem(_field(raw, "key")),
        dv_auths=auths,
    )


# --- the component ------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificatesArgs:
    settings: Settings
    public_ip: pulumi.Input[str]
    acme_provider: pulumi.ProviderResource | None = None
    # Tencent only, dnspod-record: a tencentcloud provider for the account that holds the zone.
    dnspod_provider: pulumi.ProviderResource | None = None
    issuance_timeout_seconds: float = DEFAULT_ISSUANCE_TIMEOUT_SECONDS
    poll_interval_seconds: float = DEFAULT_POLL_INTERVAL_SECONDS


class Certificates(pulumi.ComponentResource):
    """Served certificates for the web and registry hostnames, from the configured source."""

    web: PemPair
    registry: PemPair
    ca_cert_pem: pulumi.Output[str] | None
    expires_at: dict[str, pulumi.Output[str]]
    validation_records: dict[str, pulumi.Output[dict[str, str]]]
    """Tencent ``manual``/``dnspod-record``: the record that proves each hostname (for a stack output)."""

    def __init__(self, name: str, args: CertificatesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nexus-registry:certificates:Certificates", name, None, opts)
        settings = args.settings
        self.ca_cert_pem = None
        self.validation_records = {}
        if settings.certificate == "tencent":
            self.web, self.registry = (self._tencent(name, args, role, fqdn) for role, fqdn in self._hosts(settings))
        elif settings.certificate == "acme":
            self.web = self.registry = self._acme(name, args)
        elif settings.certificate == "self-signed":
            self.web = self.registry = self._self_signed(name, args)
        else:  # Settings only admits the three sources; this guards a future fourth one.
            raise ValueError(f"nexus-registry:certificate: {settings.certificate!r} has no implementation")
        self.expires_at = {"web": self.web.expires_at, "registry": self.registry.expires_at}
        outputs: dict[str, Any] = {"webExpiresAt": self.web.expires_at, "registryExpiresAt": self.registry.expires_at}
        if self.ca_cert_pem is not None:
            outputs["caCertPem"] = self.ca_cert_pem
        self.register_outputs(outputs)

    @staticmethod
    def _hosts(settings: Settings) -> list[tuple[str, str]]:
        return [("web", settings.web_fqdn), ("registry", settings.registry_fqdn)]

    # --- tencent ----------------------------------------------------------------------

    def _tencent(self, name: str, args: CertificatesArgs, role: str, fqdn: str) -> PemPair:
        settings = args.settings
        mode = validation_mode(settings)

        # The renewal decision reads Tencent's own list (the source of truth for
        # expiry); DescribeCertificates' SearchKey matches the domain.
        now = datetime.now(UTC)
        listing = ssl.get_certificates_output(name=fqdn, opts=pulumi.InvokeOutputOptions(parent=self))
        alias = listing.apply(lambda result: certificate_alias(settings.stack, role, choose_generation(
            [to_tencent_certificate(raw) for raw in (_field(result, "certificates") or [])],
            stack=settings.stack, role=role, fqdn=fqdn, now=now, renew_before_days=settings.renew_before_days,
        )))

        cert = ssl.FreeCertificate(
            f"{name}-{role}",
            domain=fqdn,
            dv_auth_method="DNS_AUTO" if mode == "dns-auto" else "DNS",
            alias=alias,
            opts=pulumi.ResourceOptions(
                parent=self,
                # A new generation is a new certificate: the provider would only rename this one.
                replace_on_changes=["alias"],
                # The SDK leaves the key in plain text in state; make the engine encrypt it.
                additional_secret_outputs=["certificatePrivateKey"],
            ),
        )

        async def read(cert_id: str) -> TencentCertificate | None:
            result = await ssl.get_certificates_output(
                id=cert_id, opts=pulumi.InvokeOutputOptions(parent=self)).future()
            listed = _field(result, "certificates")
            if listed is None:
                # The provider always answers with a (possibly empty) list; anything else would
                # otherwise look like "not issued yet" for the whole timeout.
                raise CertificateIssuanceError(
                    f"ssl.getCertificates(id={cert_id!r}) answered without a 'certificates' list; the Tencent "
                    "provider plugin does not match tencentcloud-iac-pulumi (reinstall requirements.txt)")
            found = [to_tencent_certificate(raw) for raw in listed]
            return next((c for c in found if c.id == cert_id), None)

        wait_on: list[pulumi.Output[Any]] = []
        next_steps = (f"check that the zone {settings.domain} is in DNSPod (Cloud DNS) on the same Tencent Cloud "
                      "account as TENCENTCLOUD_SECRET_ID: with DNS_AUTO Tencent adds the TXT record itself.")
        if mode != "dns-auto":
            auth = pulumi.Output.all(cert.id, cert.dv_auths).apply(
                lambda values: self._validation(read, values[0], values[1], fqdn, settings.domain, args))
            self.validation_records[role] = auth.apply(
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
                    opts=pulumi.ResourceOptions(parent=self, provider=args.dnspod_provider),
                )
                wait_on.append(txt.id)
                next_steps = "check that the validation record created by this stack resolves: {record}."
            else:
                auth.apply(lambda r: pulumi.log.warn(
                    f"{fqdn}: add this DNS record at the DNS host of {settings.domain} so Tencent can issue the "
                    f"certificate: {r.fqdn(settings.domain)} {r.record_type} {r.value!r}", resource=self))
                next_steps = "add the DNS record {record} at the DNS host of " + settings.domain + "."
            wait_on.append(auth)

        has_key = pulumi.Output.unsecret(cert.certificate_private_key.apply(lambda key: bool(key)))
        state = pulumi.Output.all(
            cert.id, cert.urn, cert.status, cert.certificate_public_key, cert.cert_end_time, has_key, *wait_on
        ).apply(lambda values: self._await_issued(read, values, fqdn, next_steps, mode, args))

        cert_pem = state.apply(lambda current: current.cert_pem)
        # The fast path (state already issued) leaves key_pem empty: take the resource's own key then.
        key_pem = pulumi.Output.secret(
            pulumi.Output.all(state, cert.certificate_private_key).apply(
                lambda values: values[0].key_pem or normalise_pem(values[1]))
        )
        expires_at = state.apply(lambda current: rfc3339(current.end_time))
        return PemPair(cert_pem=cert_pem, key_pem=key_pem, expires_at=expires_at)

    async def _validation(self, read: Callable[[str], Awaitable[TencentCertificate | None]], cert_id: str,
                          dv_auths: Sequence[Any] | None, fqdn: str, zone: str,
                          args: CertificatesArgs) -> ValidationRecord:
        """The record that proves ``fqdn``: from the application itself, or read back shortly after."""
        auths = [(_field(a, "dv_auth_key", "dvAuthKey"), _field(a, "dv_auth_value", "dvAuthValue"),
                  _field(a, "dv_auth_verify_type", "dvAuthVerifyType")) for a in (dv_auths or [])]
        if not any(key and value for key, value, _ in auths) and not pulumi.runtime.is_dry_run():
            deadline = time.monotonic() + DV_AUTH_TIMEOUT_SECONDS
            while True:
                current = await read(cert_id)
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
            f"{_duration(DV_AUTH_TIMEOUT_SECONDS)}. Run `pulumi up` again; if it persists, open "
            f"https://console.cloud.tencent.com/ssl/detail/{cert_id} and check the application."
        )

    async def _await_issued(self, read: Callable[[str], Awaitable[TencentCertificate | None]], values: list[Any],
                            fqdn: str, next_steps: str, mode: str, args: CertificatesArgs) -> TencentCertificate:
        cert_id, urn, status, public_key, end_time, has_key = values[:6]
        extra = values[6:]
        if mode != "dns-auto":
            validation: ValidationRecord = extra[-1]
            next_steps = next_steps.format(
                record=f"{validation.fqdn(args.settings.domain)} {validation.record_type} {validation.value!r}")
        # State already holds the issued certificate (a later run, or after `pulumi refresh`).
        status = _as_int(status)
        known = TencentCertificate(id=cert_id, status=status, end_time=parse_tencent_time(end_time),
                                   cert_pem=normalise_pem(public_key))
        if status == ISSUED and known.cert_pem and has_key:
            return self._checked(known, fqdn)
        if pulumi.runtime.is_dry_run():
            current = await read(cert_id)
            if current is not None and current.issued:
                return self._checked(current, fqdn)
            pulumi.log.info(f"{fqdn}: certificate not issued yet; `pulumi up` waits for it (at most "
                            f"{_duration(args.issuance_timeout_seconds)})", resource=self)
            return UNKNOWN  # type: ignore[return-value]
        issued = await wait_for_issuance(
            lambda: read(cert_id), fqdn=fqdn, cert_id=cert_id,
            timeout_seconds=args.issuance_timeout_seconds, interval_seconds=args.poll_interval_seconds,
            progress=lambda message: pulumi.log.info(message, resource=self),
            next_steps=next_steps, replace_hint=f"pulumi up --replace '{urn}'",
        )
        return self._checked(issued, fqdn)

    def _checked(self, current: TencentCertificate, fqdn: str) -> TencentCertificate:
        # Nginx needs the intermediate too; say so loudly if Tencent handed back the leaf alone.
        if current.cert_pem.count("BEGIN CERTIFICATE") < 2:
            pulumi.log.warn(f"{fqdn}: Tencent returned a certificate without its intermediate chain; "
                            "clients that lack the TrustAsia intermediate will reject it", resource=self)
        return current

    # --- acme -------------------------------------------------------------------------

    def _acme(self, name: str, args: CertificatesArgs) -> PemPair:
        settings = args.settings
        assert settings.acme.email is not None  # Settings rejects certificate: acme without acme.email
        child = pulumi.ResourceOptions(parent=self)
        with_acme = pulumi.ResourceOptions(parent=self, provider=args.acme_provider)
        account_key = tls.PrivateKey(f"{name}-acme-account-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        registration = acme.Registration(
            f"{name}-acme-account",
            account_key_pem=account_key.private_key_pem,
            email_address=settings.acme.email,
            opts=with_acme,
        )
        certificate = acme.Certificate(
            f"{name}-acme",
            account_key_pem=registration.account_key_pem,
            common_name=settings.web_fqdn,
            subject_alternative_names=[settings.registry_fqdn],
            # No config: lego reads TENCENTCLOUD_SECRET_ID/KEY from the provider's environment,
            # which keeps the credentials out of config and state.
            dns_challenges=[acme.CertificateDnsChallengeArgs(provider="tencentcloud")],
            min_days_remaining=settings.renew_before_days,
            opts=with_acme,
        )
        return PemPair(
            cert_pem=pulumi.Output.all(certificate.certificate_pem, certificate.issuer_pem).apply(
                lambda pems: full_chain(*pems)),
            key_pem=pulumi.Output.secret(certificate.private_key_pem.apply(normalise_pem)),
            expires_at=certificate.certificate_not_after,
        )

    # --- self-signed ------------------------------------------------------------------

    def _self_signed(self, name: str, args: CertificatesArgs) -> PemPair:
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        renew_hours = settings.renew_before_days * 24
        ca_key = tls.PrivateKey(f"{name}-ca-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        ca = tls.SelfSignedCert(
            f"{name}-ca",
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(
                common_name=f"nexus-registry {settings.stack} CA", organization="nexus-registry"),
            validity_period_hours=CA_VALIDITY_HOURS,
            early_renewal_hours=renew_hours,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            opts=child,
        )
        server_key = tls.PrivateKey(f"{name}-server-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        hostnames = [settings.web_fqdn, settings.registry_fqdn]
        address = pulumi.Output.from_input(args.public_ip).apply(split_host_address)
        request = tls.CertRequest(
            f"{name}-server-csr",
            private_key_pem=server_key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(common_name=settings.web_fqdn, organization="nexus-registry"),
            dns_names=address.apply(lambda split: hostnames + [n for n in split[0] if n not in hostnames]),
            ip_addresses=address.apply(lambda split: split[1]),
            opts=child,
        )
        server = tls.LocallySignedCert(
            f"{name}-server",
            cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=ca_key.private_key_pem,
            ca_cert_pem=ca.cert_pem,
            validity_period_hours=SERVER_VALIDITY_HOURS,
            early_renewal_hours=renew_hours,
            allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
            opts=child,
        )
        self.ca_cert_pem = ca.cert_pem.apply(normalise_pem)
        return PemPair(
            # The CA is the trust anchor clients install; the served chain is the leaf alone.
            cert_pem=server.cert_pem.apply(normalise_pem),
            key_pem=pulumi.Output.secret(server_key.private_key_pem.apply(normalise_pem)),
            expires_at=server.validity_end_time,
        )
