"""Account-wide checks: whose key it is, the DNSPod zone, the free-certificate quota, the balance.

Each function takes an ``Api`` (``components.preflight.tencent``) and returns
findings; a ``Rejected`` key or an ``Unreachable`` API propagates (the run stops).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from components.i18n import _
from components.preflight import Finding, error, warning
from components.preflight.tencent import Api, ApiError, Denied, denied_finding
from components.settings import NAMESPACE, Settings

# ApplyCertificate answers FailedOperation.ExceedsFreeLimit past the free-certificate quota; Tencent's
# SSL console states 50 free DV certificates per account (SSL Certificates, "Notice on Adjustment of
# Free SSL Certificates Policy").  The API exposes no counter, so the preflight counts the account's
# live free certificates (package types 2 "TrustAsia TLS RSA CA" and 83 "TrustAsia C1 DV Free",
# ssl DescribeCertificates) against it.
FREE_CERTIFICATE_LIMIT = 50
FREE_PACKAGE_TYPES = frozenset({"2", "83"})
# DescribeCertificates Status: 0 pending review, 1 issued, 4 DNS record added, 11 reissuing,
# 13 free certificate awaiting details: the ones that hold a quota slot.  Expired (3), cancelled
# (7), revoked (10) and refunded (14) ones do not count here.
LIVE_CERTIFICATE_STATUSES = frozenset({0, 1, 4, 11, 13})
CERTIFICATE_PAGE = 1000  # DescribeCertificates' largest Limit


@dataclass(frozen=True)
class Identity:
    arn: str
    account_id: str
    user_id: str
    principal_id: str
    type: str

    @property
    def is_root(self) -> bool:
        """The main account's own key: its user, principal and account uin are one (sts GetCallerIdentity)."""
        if self.type.lower() in ("rootaccount", "root"):
            return True
        return (bool(self.account_id) and self.user_id == self.account_id == self.principal_id
                and "assumed-role" not in self.arn and "federated" not in self.arn)


def identity(api: Api) -> tuple[Identity, list[Finding]]:
    """Whose key this is (no CAM permission needed for GetCallerIdentity); a warning for the root account."""
    answer = api.call("sts", "GetCallerIdentity", {})
    who = Identity(str(answer.get("Arn") or ""), str(answer.get("AccountId") or ""), str(answer.get("UserId") or ""),
                   str(answer.get("PrincipalId") or ""), str(answer.get("Type") or ""))
    findings = []
    if who.is_root:
        findings.append(warning(
            "TENCENTCLOUD_SECRET_ID",
            _("is the root account's own key (account {account}): anyone holding it can do anything on the "
              "account; use a sub-account key with the README's CAM policy (README: A sub-account key)").format(
                account=who.account_id)))
    return who, findings


def dnspod_zone(api: Api, settings: Settings) -> list[Finding]:
    """``dns: dnspod`` (and the certificates' DNS validation) need ``domain`` as a DNSPod zone of this account."""
    key = f"{NAMESPACE}:domain"
    try:
        answer = api.call("dnspod", "DescribeDomain", {"Domain": settings.domain})
    except Denied as denied:
        return [denied_finding(denied, _("reading the DNSPod zone {domain}").format(domain=settings.domain))]
    except ApiError as failure:
        if failure.code in ("ResourceNotFound.NoDataOfDomain", "InvalidParameterValue.DomainNotExists",
                            "InvalidParameter.DomainInvalid"):
            return [error(key, _("{domain!r} is not a DNSPod zone of this account ({code}); add it in the DNSPod "
                                 "console (and point its NS records there), or set {namespace}:dns none and create "
                                 "the records yourself").format(domain=settings.domain, code=failure.code,
                                                                namespace=NAMESPACE))]
        if failure.code == "FailedOperation.DomainOwnedByOtherUser":
            return [error(key, _("{domain!r} is a DNSPod zone of another account ({code}); use that account's key, "
                                 "or set dns: none").format(domain=settings.domain, code=failure.code))]
        raise
    info = answer.get("DomainInfo") or {}
    status = info.get("Status")
    if status and status != "ENABLE":
        return [error(key, _("the DNSPod zone {domain} is {status} (not ENABLE): records in it do not resolve; "
                             "enable it in the DNSPod console").format(domain=settings.domain, status=status))]
    if info.get("DnsStatus") == "dnserror":
        return [warning(key, _("the NS records of {domain} do not point to DNSPod (DnsStatus dnserror): the A "
                               "records and certificate validation records will not be seen; fix the NS records at "
                               "your registrar").format(domain=settings.domain))]
    return []


def certificate_hostnames(settings: Settings) -> list[str]:
    return [settings.web_fqdn, settings.registry_fqdn]


def free_certificate_quota(api: Api, settings: Settings) -> list[Finding]:
    """``certificate: tencent`` applies for one free certificate per hostname that has none yet."""
    certificates: list[dict[str, Any]] = []
    offset = 0
    try:
        while True:
            answer = api.call("ssl", "DescribeCertificates", {"Offset": offset, "Limit": CERTIFICATE_PAGE,
                                                              "CertificateType": "SVR"})
            page = answer.get("Certificates") or []
            certificates += page
            offset += len(page)
            if not page or offset >= int(answer.get("TotalCount") or 0):
                break
    except Denied as denied:
        return [denied_finding(denied, _("finding and applying for the free certificates"))]
    live_free = [c for c in certificates if str(c.get("PackageType") or "") in FREE_PACKAGE_TYPES
                 and c.get("Status") in LIVE_CERTIFICATE_STATUSES]
    covered = {c.get("Domain") for c in live_free}
    needed = [name for name in certificate_hostnames(settings) if name not in covered]
    if len(live_free) + len(needed) > FREE_CERTIFICATE_LIMIT:
        left = max(FREE_CERTIFICATE_LIMIT - len(live_free), 0)
        return [error(f"{NAMESPACE}:certificate",
                      _("tencent needs {needed} new free certificate(s) ({names}) but only {left} of the account's "
                        "{limit} free certificates are left ({used} in use); delete unused free certificates in the "
                        "SSL console, or use certificate: acme").format(
                          needed=len(needed), names=", ".join(needed), left=left, limit=FREE_CERTIFICATE_LIMIT,
                          used=len(live_free)))]
    return []


def balance(api: Api, hourly_price_yuan: float | None) -> list[Finding]:
    """A pay-as-you-go CVM starts only when the balance covers its first hour (else RunInstances answers
    InvalidAccount.InsufficientBalance); ``hourly_price_yuan`` is from InquiryPrice*, None when unknown."""
    try:
        answer = api.call("billing", "DescribeAccountBalance", {})
    except Denied as denied:
        return [denied_finding(denied, _("the account balance"), needed=False)]
    available = answer.get("RealBalance")
    if available is None:
        available = answer.get("Balance")
    if available is None:
        return [warning("balance", _("DescribeAccountBalance reported no balance; check it in the billing console"))]
    available_fen = float(available)
    if answer.get("IsAllowArrears") and float(answer.get("RealCreditBalance") or 0) > 0:
        return []  # a credit line pays the first hours
    needed_fen = math.ceil(hourly_price_yuan * 100) if hourly_price_yuan else 1
    if available_fen < needed_fen:
        cost = (_("the first hour of the CVM and its data disk costs about {price:.2f} CNY").format(
            price=hourly_price_yuan) if hourly_price_yuan else _("a pay-as-you-go CVM needs a positive balance"))
        return [error("balance", _("the account's available balance is {balance:.2f} CNY and {cost}: top up in the "
                                   "billing console before make up (RunInstances would answer "
                                   "InvalidAccount.InsufficientBalance)").format(
            balance=available_fen / 100, cost=cost))]
    return []
