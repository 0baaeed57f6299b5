"""The certificate material nginx consumes, whatever source produced it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class PemPair:
    """One served certificate: full chain (leaf first), its private key (secret), expiry (RFC 3339)."""

    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]
    expires_at: pulumi.Output[str]
