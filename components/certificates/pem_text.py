"""PEM and time helpers shared by every certificate source."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime


def normalise_pem(text: str | None) -> str:
    """PEM text with Unix line endings and exactly one trailing newline ("" stays "")."""
    if not text:
        return ""
    return text.replace("\r\n", "\n").strip() + "\n"


def full_chain(*pems: str | None) -> str:
    return "".join(normalise_pem(pem) for pem in pems if pem)


def rfc3339(moment: datetime | None) -> str:
    """UTC RFC 3339 (``2025-03-01T00:00:00Z``), or "" when unknown."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def split_host_address(address: str | None) -> tuple[list[str], list[str]]:
    """The host address as SAN entries: ``([dns names], [ip addresses])``."""
    if not address:
        return [], []
    try:
        return [], [str(ipaddress.ip_address(address))]
    except ValueError:
        return [address.lower().rstrip(".")], []
