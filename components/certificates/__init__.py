"""Certificates: a PEM full chain, its private key (secret) and its expiry for each served hostname.

Nginx serves ``<webHost>.<domain>`` and ``<registryHost>.<domain>``; this component
yields one ``PemPair`` for each (``web``, ``registry``) from the source that the
``certificate`` setting selects, so the proxy never cares where a certificate
came from.  Each source lives in its own module, with its rules in its docstring:

``tencent``      ``components.certificates.tencent``: one Tencent free DV certificate per hostname
                 (its pure decisions in ``components.certificates.tencent_decisions``).
``acme``         ``components.certificates.acme``: one SAN certificate from an ACME CA (DNS-01).
``self-signed``  ``components.certificates.self_signed``: a private CA and one server certificate.
``ssl-console``  ``components.certificates.ssl_console``: certificates already in Tencent's SSL console.

A source is a module with ``build(component, name, args) -> SourceResult``
(``certificates.source``, the one module of this package a source imports);
``SOURCES`` maps the setting's value to it.  Every resource a source registers
is a child of this component and named ``<name>-...``, as before the split,
so no URN moved.  Every private key leaves as a secret Output.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.certificates import acme as acme_source
from components.certificates import self_signed as self_signed_source
from components.certificates import ssl_console as ssl_console_source
from components.certificates import tencent as tencent_source
from components.certificates.acme import acme_server_url
from components.certificates.pem_text import full_chain, normalise_pem, rfc3339, split_host_address
from components.certificates.source import CertificatesArgs, Source, SourceResult
from components.certificates.tencent import CertificateIssuanceError, wait_for_issuance
from components.certificates.tencent_decisions import (
    DEAD_STATUSES,
    STATUS_NAMES,
    TENCENT_TIMEZONE,
    TencentCertificate,
    alias_generation,
    certificate_alias,
    choose_generation,
    needs_renewal,
    parse_tencent_time,
    to_tencent_certificate,
    validation_mode,
    validation_record,
)
from components.pem import PemPair

__all__ = [
    "DEAD_STATUSES", "SOURCES", "STATUS_NAMES", "TENCENT_TIMEZONE", "CertificateIssuanceError", "Certificates",
    "CertificatesArgs", "SourceResult", "TencentCertificate", "acme_server_url", "alias_generation",
    "certificate_alias", "choose_generation", "full_chain", "needs_renewal", "normalise_pem", "parse_tencent_time",
    "rfc3339", "split_host_address", "to_tencent_certificate", "validation_mode", "validation_record",
    "wait_for_issuance",
]


SOURCES: dict[str, Source] = {
    "tencent": tencent_source.build,
    "acme": acme_source.build,
    "self-signed": self_signed_source.build,
    "ssl-console": ssl_console_source.build,
}


class Certificates(pulumi.ComponentResource):
    """Served certificates for the web and registry hostnames, from the configured source."""

    web: PemPair
    registry: PemPair
    ca_cert_pem: pulumi.Output[str] | None
    expires_at: dict[str, pulumi.Output[str]]
    validation_records: dict[str, pulumi.Output[dict[str, str]]]
    """Tencent ``manual``/``dnspod-record``: the record that proves each hostname (for a stack output)."""
    decisions: dict[str, pulumi.Output[Any]]
    """Stack outputs the next update reads back (``components.deployed``); export each under its key."""

    def __init__(self, name: str, args: CertificatesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nexus-registry:certificates:Certificates", name, None, opts)
        source = SOURCES.get(args.settings.certificate)
        if source is None:  # Settings only admits known sources; this guards a new one without a module.
            raise ValueError(f"nexus-registry:certificate: {args.settings.certificate!r} has no implementation")
        result = source(self, name, args)
        self.web, self.registry = result.web, result.registry
        self.ca_cert_pem = result.ca_cert_pem
        self.validation_records = result.validation_records
        self.decisions = result.outputs
        self.expires_at = {"web": self.web.expires_at, "registry": self.registry.expires_at}
        outputs: dict[str, Any] = {"webExpiresAt": self.web.expires_at, "registryExpiresAt": self.registry.expires_at}
        if self.ca_cert_pem is not None:
            outputs["caCertPem"] = self.ca_cert_pem
        self.register_outputs(outputs)
