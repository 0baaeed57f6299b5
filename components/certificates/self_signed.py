"""``certificate: self-signed``: a private CA and one server certificate for both hostnames.

A pulumi-tls CA and a server certificate for both hostnames (plus the host
address when known) with ``early_renewal_hours`` derived from
``renewBeforeDays``; the CA certificate is exposed for a stack output so
clients can trust it (``/etc/docker/certs.d/<host>/ca.crt``).
"""

from __future__ import annotations

import pulumi
import pulumi_tls as tls

from components.certificates.pem_text import normalise_pem, split_host_address
from components.certificates.source import CertificatesArgs, SourceResult
from components.pem import PemPair

CA_VALIDITY_HOURS = 10 * 365 * 24
SERVER_VALIDITY_HOURS = 365 * 24


def build(component: pulumi.ComponentResource, name: str, args: CertificatesArgs) -> SourceResult:
    settings = args.settings
    child = pulumi.ResourceOptions(parent=component)
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
    pair = PemPair(
        # The CA is the trust anchor clients install; the served chain is the leaf alone.
        cert_pem=server.cert_pem.apply(normalise_pem),
        key_pem=pulumi.Output.secret(server_key.private_key_pem.apply(normalise_pem)),
        expires_at=server.validity_end_time,
    )
    return SourceResult(web=pair, registry=pair, ca_cert_pem=ca.cert_pem.apply(normalise_pem))
