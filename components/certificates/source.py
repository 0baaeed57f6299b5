"""What a certificate source is given and hands back: the contract between ``Certificates`` and its sources.

Each source module (``tencent``, ``acme``, ``self_signed``, ``ssl_console``) has
``build(component, name, args) -> SourceResult`` and imports only this module of the
package, so the package (which imports every source) and its sources form no cycle.
``component`` is the ``Certificates`` resource, the parent of whatever a source registers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.pem import PemPair
from components.settings import Settings

# certificate: tencent: how long one run waits for Tencent to issue, and how often it looks.
DEFAULT_ISSUANCE_TIMEOUT_SECONDS = 20 * 60
DEFAULT_POLL_INTERVAL_SECONDS = 30


@dataclass(frozen=True)
class CertificatesArgs:
    """The whole ``Settings``: each source reads its own part of it (``certificate``, ``acme``,
    ``sslConsole``, ``certificateValidation``, the hostnames, ``renewBeforeDays``), and the
    ``ssl-console`` answer is kept per settings object (``ssl_console.resolve``)."""

    settings: Settings
    public_ip: pulumi.Input[str]
    acme_provider: pulumi.ProviderResource | None = None
    # Tencent only, dnspod-record: a tencentcloud provider for the account that holds the zone.
    dnspod_provider: pulumi.ProviderResource | None = None
    issuance_timeout_seconds: float = DEFAULT_ISSUANCE_TIMEOUT_SECONDS
    poll_interval_seconds: float = DEFAULT_POLL_INTERVAL_SECONDS


@dataclass
class SourceResult:
    """What one certificate source hands back to the component."""

    web: PemPair
    registry: PemPair
    ca_cert_pem: pulumi.Output[str] | None = None
    validation_records: dict[str, pulumi.Output[dict[str, str]]] = field(default_factory=dict)
    # Values the next update needs to read back (stack outputs, see components.deployed).
    outputs: dict[str, pulumi.Output[Any]] = field(default_factory=dict)


Source = Callable[[pulumi.ComponentResource, str, CertificatesArgs], SourceResult]
"""``build(component, name, args)`` of one source module."""
