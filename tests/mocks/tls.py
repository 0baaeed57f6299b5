"""pulumi-tls (terraform-provider-tls): computed PEMs and validity of keys and certificates."""

from __future__ import annotations

from typing import Any

PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert"


def outputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    if type_ == PRIVATE_KEY:
        return {
            "privateKeyOpenssh": f"-----BEGIN OPENSSH PRIVATE KEY-----\n{name}\n-----END OPENSSH PRIVATE KEY-----\n",
            "privateKeyPem": f"-----BEGIN PRIVATE KEY-----\n{name}\n-----END PRIVATE KEY-----\n",
            "publicKeyOpenssh": f"ssh-{'rsa' if inputs.get('algorithm') == 'RSA' else 'ed25519'} AAAA{name}",
            "publicKeyPem": f"-----BEGIN PUBLIC KEY-----\n{name}\n-----END PUBLIC KEY-----\n",
        }
    if type_ in (SELF_SIGNED, LOCALLY_SIGNED):
        return {"certPem": f"-----BEGIN CERTIFICATE-----\n{name}\n-----END CERTIFICATE-----\n",
                "validityEndTime": "2099-01-01T00:00:00Z"}
    return {}
