"""Preflight: what a real first ``make up`` needs from the account, the network and the host, checked in seconds.

``python -m components.preflight stacks/Pulumi.<stack>.yaml`` (``make preflight
STACK=<stack>``, and the first step of ``make up``/``make preview`` for cloud
stacks) asks the Tencent Cloud API, with the official SDK and the credentials
Pulumi will use, whether the deploy can succeed, before any question is asked or
any resource is registered.  Each problem is one line that names the setting or
the CAM action to add.  One module per concern:

- ``tencent``: SDK clients, the credentials from the environment, and what an
  API error means (unreachable, rejected key, denied CAM action);
- ``account``: whose key it is, the DNSPod zone, the free-certificate quota,
  the balance;
- ``compute``: the CVM the stack would create (zone, type, image), sold in the
  zone, ``RunInstances`` with ``DryRun``, the read-only calls of the provider,
  the PostgreSQL spec;
- ``artifacts``: the Nexus image tag (and digest) where the host pulls it, the
  H2-to-PostgreSQL migrator jar and its ``.sha256``;
- ``backend``: a probe object written, read and deleted in a COS state bucket
  with the settings Pulumi's S3 backend uses;
- ``server``: an existing server over SSH with its pinned host key, read-only;
- ``cli``: the command line and the order of the checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from components.i18n import _

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem: ``subject`` is the setting, variable or ``cam:<service>:<Action>`` to change."""

    subject: str
    message: str
    severity: Severity = "error"

    def line(self) -> str:
        prefix = "" if self.severity == "error" else _("warning: ")
        return f"preflight: {prefix}{self.subject}: {self.message}"


def error(subject: str, message: str) -> Finding:
    return Finding(subject, message, "error")


def warning(subject: str, message: str) -> Finding:
    return Finding(subject, message, "warning")


class Unreachable(Exception):
    """A service the preflight must ask could not be reached at all: the run stops with one line."""

    def __init__(self, what: str, reason: str):
        self.what = what
        self.reason = reason
        super().__init__(f"{what} could not be reached: {reason}")
