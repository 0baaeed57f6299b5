"""pulumiverse-acme: the issued certificate, its issuer chain and key (all known after Create)."""

from __future__ import annotations

from typing import Any

CERTIFICATE = "acme:index/certificate:Certificate"


def outputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    if type_ == CERTIFICATE:
        return {"certificatePem": f"-----BEGIN CERTIFICATE-----\n{name}\n-----END CERTIFICATE-----\n",
                "issuerPem": "-----BEGIN CERTIFICATE-----\nR11\n-----END CERTIFICATE-----\n",
                "privateKeyPem": f"-----BEGIN RSA PRIVATE KEY-----\n{name}\n-----END RSA PRIVATE KEY-----\n",
                "certificateNotAfter": "2099-01-01T00:00:00Z"}
    return {}
