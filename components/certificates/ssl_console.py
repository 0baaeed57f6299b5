"""``certificate: ssl-console``: certificates already in Tencent's SSL console, deployed as they are.

The tutorial's own workflow: a certificate is issued (or uploaded) in Tencent's
SSL certificate console, then copied to the server.  This source does the copy.
For each hostname the stack names the certificate by id
(``sslConsole.webCertificateId`` / ``sslConsole.registryCertificateId``; one id
in both for a certificate that covers both names), or leaves it unset and gets
the newest issued, unexpired certificate in the console that covers the
hostname and has its private key there.

What the provider lets a program see (terraform-provider-tencentcloud v1.82.42,
``tencentcloud/services/ssl/data_source_tc_ssl_certificates.go``,
``ssl.getCertificates``): ``DescribeCertificates`` with ``SearchKey`` = the
``id`` or the ``name`` argument (only server certificates with ``type: SVR``),
an entry skipped when its alias, type, project, product, domain, status, begin,
end or insert time is null, then ``DescribeCertificateDetail`` per entry:
``cert`` is ``CertificatePublicKey`` (the chain), ``key`` is
``CertificatePrivateKey``, empty when the CSR was made outside Tencent (then
there is nothing this program could deploy), ``subject_names`` only when the
certificate has SANs (else the primary ``domain`` is the only name).  The search
is a search, not a lookup: every answer is filtered here by exact id and by
the names the certificate covers.  Times are Beijing time.  A pending or
rejected application has no begin and end time, so the data source leaves it
out: a named id it does not list is asked about with ``ssl.getDescribeCertificate``
(any status; an unknown id is an API error, ``CertificateNotFound``), so the
error says "not issued" rather than "not there".

The lookups run on every update, before any resource is registered
(``components.settings_loader.load_settings`` calls ``resolve``), so a certificate
that does not cover its hostname, has expired, is not issued or has no key
stops the run with one line naming the setting; and a renewal done in the
console (a new certificate for the same name) is deployed by the next
``pulumi up`` with no change to the stack, unless a certificate id pins the
old one.  The key is not marked secret by the provider: it leaves here as a
secret Output and reaches the host only inside the deploy step's secret stdin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pulumi
from tencentcloud_iac_pulumi import ssl

from components.certificates.pem_text import normalise_pem, rfc3339
from components.certificates.source import CertificatesArgs, SourceResult
from components.certificates.tencent_decisions import ISSUED, STATUS_NAMES, parse_tencent_time, to_described_certificate
from components.pem import PemPair
from components.settings import NAMESPACE, Settings, SettingsError

SERVER_CERTIFICATE = "SVR"  # getCertificates ``type``: server certificates, not uploaded CAs
ROLE_SETTINGS = {"web": "sslConsole.webCertificateId", "registry": "sslConsole.registryCertificateId"}


@dataclass(frozen=True)
class ConsoleCertificate:
    """One certificate of the SSL console, as ``ssl.getCertificates`` reports it."""

    id: str
    domain: str
    names: tuple[str, ...]
    status: int | None
    begin: datetime | None
    end: datetime | None
    cert_pem: str
    key_pem: str

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, "unknown") if self.status is not None else "unknown"


def _field(raw: Any, *names: str) -> Any:
    for name in names:
        value = raw.get(name) if isinstance(raw, dict) else getattr(raw, name, None)
        if value is not None:
            return value
    return None


def to_console_certificate(raw: Any) -> ConsoleCertificate:
    """One ``certificates`` entry of ``ssl.getCertificates``."""
    domain = str(_field(raw, "domain") or "").lower().rstrip(".")
    names = tuple(str(name).lower().rstrip(".") for name in (_field(raw, "subject_names", "subjectNames") or []))
    status = _field(raw, "status")
    return ConsoleCertificate(
        id=str(_field(raw, "id") or ""),
        domain=domain,
        names=names or (domain,),
        status=int(status) if status is not None else None,
        begin=parse_tencent_time(_field(raw, "begin_time", "beginTime")),
        end=parse_tencent_time(_field(raw, "end_time", "endTime")),
        cert_pem=normalise_pem(_field(raw, "cert")),
        key_pem=normalise_pem(_field(raw, "key")),
    )


def covers(certificate: ConsoleCertificate, fqdn: str) -> bool:
    """RFC 6125: a name matches itself; ``*.zone`` matches exactly one more label."""
    fqdn = fqdn.lower()
    for name in certificate.names:
        if name == fqdn:
            return True
        if name.startswith("*.") and "." in fqdn and fqdn.split(".", 1)[1] == name[2:]:
            return True
    return False


def problem(certificate: ConsoleCertificate, fqdn: str, now: datetime) -> str | None:
    """Why ``certificate`` cannot serve ``fqdn`` now, or None."""
    if not covers(certificate, fqdn):
        return f"covers {', '.join(certificate.names)}, not {fqdn}"
    if certificate.end is None or certificate.end <= now:
        return f"expired at {rfc3339(certificate.end) or 'an unknown time'}"
    if certificate.status != ISSUED:
        return f"is not issued (status {certificate.status}: {certificate.status_name})"
    if "BEGIN CERTIFICATE" not in certificate.cert_pem:
        return "has no certificate text in the SSL console"
    if "PRIVATE KEY" not in certificate.key_pem:
        return ("has no private key in the SSL console (its CSR was made elsewhere); "
                "upload the certificate with its key, or pick another")
    return None


def choose(role: str, fqdn: str, pinned: str | None, found: list[ConsoleCertificate],
           now: datetime, unlisted_status: Callable[[str], int | None] = lambda cert_id: None,
           ) -> ConsoleCertificate | str:
    """The certificate for one hostname, or the one-line problem (naming its setting).

    ``unlisted_status`` reports the status of a named certificate the list left out
    (None: no such certificate).
    """
    if pinned is not None:
        matches = [c for c in found if c.id == pinned]
        key = f"{NAMESPACE}:{ROLE_SETTINGS[role]}"
        if not matches:
            status = unlisted_status(pinned)
            if status is None:
                return f"{key}: certificate {pinned!r} is not in the SSL console of this account"
            if status < 0:
                return f"{key}: certificate {pinned!r} is not issued (the SSL console does not list it as issued)"
            return (f"{key}: certificate {pinned!r} is not issued "
                    f"(status {status}: {STATUS_NAMES.get(status, 'unknown')})")
        why = problem(matches[0], fqdn, now)
        return f"{key}: certificate {pinned!r} {why}" if why else matches[0]
    usable = [c for c in found if problem(c, fqdn, now) is None]
    if usable:
        # Newest: the latest expiry, then the latest start (a renewal in the console).
        epoch = datetime.min.replace(tzinfo=UTC)
        return max(usable, key=lambda c: (c.end or epoch, c.begin or epoch, c.id))
    others = [f"{c.id} {problem(c, fqdn, now)}" for c in found if covers(c, fqdn)]
    detail = f" ({'; '.join(others)})" if others else ""
    return (f"{NAMESPACE}:certificate: ssl-console: no issued, unexpired certificate with its private key in "
            f"the SSL console covers {fqdn}{detail}; issue or upload one there, or set {ROLE_SETTINGS[role]}")


def search_keys(settings: Settings) -> list[dict[str, str]]:
    """The ``ssl.getCertificates`` arguments that find every candidate for both hostnames."""
    searches: list[dict[str, str]] = []
    for role, fqdn in (("web", settings.web_fqdn), ("registry", settings.registry_fqdn)):
        pinned = _pinned(settings, role)
        wanted = [{"id": pinned}] if pinned else [{"name": fqdn}, {"name": f"*.{fqdn.split('.', 1)[1]}"}]
        searches += [args for args in wanted if args not in searches]
    return searches


def _pinned(settings: Settings, role: str) -> str | None:
    console = settings.ssl_console
    return console.web_certificate_id if role == "web" else console.registry_certificate_id


def unlisted_status(cert_id: str) -> int | None:
    """The status of a certificate ``getCertificates`` does not list; None when the id does not exist."""
    try:
        result = ssl.get_describe_certificate(certificate_id=cert_id)
    except Exception as error:
        if "CertificateNotFound" in str(error):
            return None
        raise
    described = to_described_certificate(result)
    # An empty answer is the provider's d.Set bug (dv_auths present): it exists, status unknown.
    return described.status if described is not None and described.status is not None else -1


def lookup(settings: Settings) -> list[ConsoleCertificate]:
    """Every certificate the searches return, once each (blocking invokes: this runs before any resource)."""
    found: dict[str, ConsoleCertificate] = {}
    for args in search_keys(settings):
        result = ssl.get_certificates(type=SERVER_CERTIFICATE, **args)
        for raw in result.certificates or []:
            certificate = to_console_certificate(raw)
            found.setdefault(certificate.id, certificate)
    return list(found.values())


_resolved: tuple[Settings, dict[str, ConsoleCertificate]] | None = None


def resolve(settings: Settings, now: datetime | None = None) -> dict[str, ConsoleCertificate]:
    """The certificate for each role; SettingsError with one line per hostname that has none.

    The answer is kept for the same ``settings`` object, so the check before any resource
    and the source's ``build`` read the console once per run.
    """
    global _resolved
    if _resolved is not None and _resolved[0] is settings:
        return _resolved[1]
    now = now or datetime.now(UTC)
    found = lookup(settings)
    chosen: dict[str, ConsoleCertificate] = {}
    problems: list[str] = []
    for role, fqdn in (("web", settings.web_fqdn), ("registry", settings.registry_fqdn)):
        outcome = choose(role, fqdn, _pinned(settings, role), found, now, unlisted_status)
        if isinstance(outcome, str):
            problems.append(outcome)
        else:
            chosen[role] = outcome
    if problems:
        raise SettingsError(problems)
    _resolved = (settings, chosen)
    return chosen


def build(component: pulumi.ComponentResource, name: str, args: CertificatesArgs) -> SourceResult:
    settings = args.settings
    chosen = resolve(settings)
    pairs = {}
    for role, certificate in chosen.items():
        fqdn = settings.web_fqdn if role == "web" else settings.registry_fqdn
        days_left = (certificate.end - datetime.now(UTC)).days if certificate.end else 0
        if days_left < settings.renew_before_days:
            pinned = _pinned(settings, role)
            advice = (f"renew it in the SSL console, then set {ROLE_SETTINGS[role]} to the new id" if pinned
                      else "renew it in the SSL console; the next pulumi up deploys the new one")
            pulumi.log.warn(f"{fqdn}: SSL console certificate {certificate.id} expires in {days_left} days; {advice}",
                            resource=component)
        pulumi.log.info(f"{fqdn}: SSL console certificate {certificate.id} (expires {rfc3339(certificate.end)})",
                        resource=component)
        pairs[role] = PemPair(
            cert_pem=pulumi.Output.from_input(certificate.cert_pem),
            key_pem=pulumi.Output.secret(certificate.key_pem),
            expires_at=pulumi.Output.from_input(rfc3339(certificate.end)),
        )
    return SourceResult(web=pairs["web"], registry=pairs["registry"])
