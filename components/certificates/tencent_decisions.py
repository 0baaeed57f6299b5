"""What the ``tencent`` certificate source decides, as pure functions of Tencent's answers (unit-tested directly).

- status codes, and which of them never lead to issuance;
- the generation to use for each hostname (``choose_generation``, ``needs_renewal``) and its alias;
- how a certificate proves its domain (``validation_mode``) and the DNS record that does it;
- one view of a certificate from the provider's two data sources (``to_tencent_certificate``,
  ``to_described_certificate``, ``merge_views``) and what the last update held (``held_certificates``).

``certificates.tencent`` registers the resources and waits for issuance with these;
``certificates.ssl_console`` reads the same status codes and times.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from components.certificates.pem_text import normalise_pem
from components.settings import CertificateValidation, Settings

# Certificate status codes: DescribeCertificateDetail / DescribeCertificates ``Status``
# (tencentcloud-sdk-go ssl/v20191205 models.go; 14 and 15 were added after the provider's
# schema text, which stops at 13).
STATUS_NAMES = {
    0: "approving", 1: "issued", 2: "approval failed", 3: "expired", 4: "DNS record added",
    5: "confirmation letter needed", 6: "order being cancelled", 7: "order cancelled",
    8: "submitted, confirmation letter needed", 9: "being revoked", 10: "revoked", 11: "re-applying",
    12: "revocation letter needed", 13: "free certificate confirmation letter needed",
    14: "refunded", 15: "being migrated",
}
ISSUED = 1
# States a certificate never leaves towards "issued": waiting on them is pointless.
DEAD_STATUSES = frozenset({2, 3, 6, 7, 9, 10, 14})

# Tencent's API reports times as "YYYY-MM-DD HH:MM:SS" in Beijing time, without an offset.
TENCENT_TIMEZONE = timezone(timedelta(hours=8), "CST")


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


def certificate_alias(stack: str, role: str, generation: int) -> str:
    return f"nexus-registry-{stack}-{role}-g{generation}"


def alias_generation(alias: str | None, stack: str, role: str) -> int | None:
    """N from ``nexus-registry-<stack>-<role>-g<N>``; None for anyone else's certificate."""
    match = re.fullmatch(rf"nexus-registry-{re.escape(stack)}-{re.escape(role)}-g(\d+)", alias or "")
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class TencentCertificate:
    """What Tencent reports about one certificate (``ssl.getCertificates`` / ``ssl.getDescribeCertificate``)."""

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
                      now: datetime, renew_before_days: int,
                      held: tuple[int, TencentCertificate | None] | None = None) -> int:
    """The certificate generation this run should hold for ``fqdn``.

    ``existing`` is Tencent's list for the hostname (issued certificates only:
    pending and rejected applications are not listed).  ``held`` is the
    generation this stack held at its last successful update with what Tencent
    says about that certificate now (``None`` when nothing answers for it).
    Keep the newest generation while it is pending or valid beyond the renewal
    window; move to the next one when it is inside the window or dead.
    Deterministic for given answers and ``now``, so re-running changes nothing.
    """
    ours: dict[int, TencentCertificate | None] = {}
    for cert in existing:
        generation = alias_generation(cert.alias, stack, role)
        if generation is not None and cert.domain in ("", fqdn):
            ours[generation] = cert
    if held is not None:
        generation, seen = held
        # A fresh status of the held certificate says more than the list (which omits the dead).
        if seen is not None and (seen.status is not None or generation not in ours):
            ours[generation] = seen
        else:
            ours.setdefault(generation, None)
    if not ours:
        return 1
    generation = max(ours)
    newest = ours[generation]
    if newest is None:  # held, not seen anywhere: a pending application (or one Tencent will not show)
        return generation
    if newest.status in DEAD_STATUSES:
        return generation + 1
    if newest.status == ISSUED and newest.end_time is not None and needs_renewal(
        newest.end_time, now, renew_before_days
    ):
        return generation + 1
    return generation


def still_valid_predecessor(existing: Iterable[TencentCertificate], *, stack: str, role: str, fqdn: str,
                            generation: int, now: datetime) -> TencentCertificate | None:
    """The newest issued, unexpired certificate of an earlier generation than ``generation``, with its PEMs."""
    older = [(alias_generation(cert.alias, stack, role), cert) for cert in existing
             if cert.domain in ("", fqdn) and cert.issued and cert.end_time is not None and cert.end_time > now]
    older = [(g, cert) for g, cert in older if g is not None and g < generation]
    return max(older, key=lambda pair: pair[0])[1] if older else None


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


# --- views of Tencent's answers -----------------------------------------------------------


def answer_field(obj: Any, name: str, camel: str | None = None) -> Any:
    """A field of an SDK output object or of a plain dict (mocks and old SDKs hand back either)."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name, obj.get(camel) if camel else None)
    return getattr(obj, name, None)


def as_int(value: Any) -> int | None:
    """Engine numbers arrive as floats (protobuf Struct); the SDK's ints as ints."""
    try:
        return int(float(value)) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def to_tencent_certificate(raw: Any) -> TencentCertificate:
    """One ``ssl.getCertificates`` entry as a ``TencentCertificate``."""
    auths = tuple(
        (answer_field(a, "dv_auth_key", "dvAuthKey") or "", answer_field(a, "dv_auth_value", "dvAuthValue") or "",
         answer_field(a, "dv_auth_verify_type", "dvAuthVerifyType") or "")
        for a in (answer_field(raw, "dv_auths", "dvAuths") or [])
    )
    status = as_int(answer_field(raw, "status"))
    return TencentCertificate(
        id=str(answer_field(raw, "id") or ""),
        alias=answer_field(raw, "name") or "",
        domain=(answer_field(raw, "domain") or "").lower(),
        status=status,
        end_time=parse_tencent_time(answer_field(raw, "end_time", "endTime")),
        cert_pem=normalise_pem(answer_field(raw, "cert")),
        key_pem=normalise_pem(answer_field(raw, "key")),
        dv_auths=auths,
    )


def to_described_certificate(raw: Any) -> TencentCertificate | None:
    """The first ``result`` of ``ssl.getDescribeCertificate``; None when the provider returned none."""
    results = answer_field(raw, "results") or []
    if not results:
        return None
    first = results[0]
    return TencentCertificate(
        id=str(answer_field(raw, "certificate_id", "certificateId") or ""),
        alias=answer_field(first, "alias") or "",
        domain=(answer_field(first, "domain") or "").lower(),
        status=as_int(answer_field(first, "status")),
        end_time=parse_tencent_time(answer_field(first, "cert_end_time", "certEndTime")),
    )


def merge_views(listed: TencentCertificate | None, described: TencentCertificate | None) -> TencentCertificate | None:
    """One view of a certificate: the described status where known, the listed PEMs and dates otherwise."""
    if listed is None:
        return described
    if described is None or described.status is None:
        return listed
    return replace(listed, status=described.status)


def held_certificates(recorded: Any) -> dict[str, tuple[int, str]]:
    """``{role: (generation, certificate id)}`` from the ``tencentCertificates`` output of the last update."""
    held: dict[str, tuple[int, str]] = {}
    if not isinstance(recorded, Mapping):
        return held
    for role, entry in recorded.items():
        if isinstance(entry, Mapping):
            generation, cert_id = as_int(entry.get("generation")), entry.get("id")
            if generation is not None and generation > 0 and isinstance(cert_id, str) and cert_id:
                held[str(role)] = (generation, cert_id)
    return held
