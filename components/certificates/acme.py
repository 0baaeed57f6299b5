"""``certificate: acme``: one SAN certificate for both hostnames from an ACME CA over Tencent DNS-01.

pulumiverse-acme ``Registration`` (account key from pulumi-tls) and one
``Certificate`` with both hostnames as SANs, solved with lego's
``tencentcloud`` DNS-01 provider.  lego reads ``TENCENTCLOUD_SECRET_ID`` /
``TENCENTCLOUD_SECRET_KEY`` (and optional ``TENCENTCLOUD_SESSION_TOKEN``,
``TENCENTCLOUD_REGION``) from the provider process's environment, the same
variables the Tencent provider uses, so no credential enters config or state.
``min_days_remaining = renewBeforeDays`` makes a ``pulumi up`` inside the
window renew.  The ACME provider (``server_url = acme_server_url(settings)``)
is built by the caller and passed in.
"""

from __future__ import annotations

import pulumi
import pulumi_tls as tls
import pulumiverse_acme as acme

from components.certificates.pem_text import full_chain, normalise_pem
from components.certificates.source import CertificatesArgs, SourceResult
from components.pem import PemPair
from components.settings import Settings


def acme_server_url(settings: Settings) -> str:
    """The ACME directory the caller's ``pulumiverse_acme.Provider(server_url=...)`` must use."""
    return settings.acme.server


def build(component: pulumi.ComponentResource, name: str, args: CertificatesArgs) -> SourceResult:
    settings = args.settings
    assert settings.acme.email is not None  # Settings rejects certificate: acme without acme.email
    child = pulumi.ResourceOptions(parent=component)
    with_acme = pulumi.ResourceOptions(parent=component, provider=args.acme_provider)
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
    pair = PemPair(
        cert_pem=pulumi.Output.all(certificate.certificate_pem, certificate.issuer_pem).apply(
            lambda pems: full_chain(*pems)),
        key_pem=pulumi.Output.secret(certificate.private_key_pem.apply(normalise_pem)),
        expires_at=certificate.certificate_not_after,
    )
    return SourceResult(web=pair, registry=pair)
