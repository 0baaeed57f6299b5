"""Refuse a Nexus downgrade before anything on the host changes.

Nexus migrates its database forward on start and cannot read it back with an
older release, so a lower ``nexus.version`` than the deployed one would leave
the registry unable to start.  The deployed version is the ``nexusVersion``
output of this very stack's last update, read through ``components.deployed``.
"""

from __future__ import annotations

import re

import pulumi

from components.deployed import own_stack_reference

VERSION_OUTPUT = "nexusVersion"


def version_key(version: str) -> tuple[int, int, int]:
    """The release of a sonatype/nexus3 tag: '3.86.2-01-java17' -> (3, 86, 2).

    Build suffixes (``-01``) and JDK/base variants (``-java17``) repackage the
    same release and share its database format, so they never count as a downgrade.
    """
    major, minor, patch = (int(part) for part in re.match(r"^(\d+)\.(\d+)\.(\d+)", version).groups())
    return major, minor, patch


def check_version_change(deployed: str | None, desired: str, allow_downgrade: bool = False) -> str:
    """Return ``desired`` if it is not older than ``deployed`` (or a downgrade is allowed); raise otherwise."""
    if deployed and not allow_downgrade and version_key(desired) < version_key(deployed):
        raise ValueError(
            f"nexus-registry:nexus.version: {desired!r} is older than the deployed {deployed!r}; "
            "Nexus databases do not downgrade. Keep the version, or restore the data disk from the "
            "snapshot taken before the upgrade and set nexus.allowDowngrade: true for that one run (README: Runbook)."
        )
    return desired


def guarded_version(
    desired: str, allow_downgrade: bool = False, opts: pulumi.ResourceOptions | None = None
) -> pulumi.Output[str]:
    """``desired`` once checked against the version this stack last deployed."""
    return own_stack_reference(opts).get_output(VERSION_OUTPUT).apply(
        lambda deployed: check_version_change(deployed, desired, allow_downgrade)
    )
