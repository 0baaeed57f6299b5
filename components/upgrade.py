"""Guard a Nexus version change before anything on the host changes.

Two changes are refused unless the stack acknowledges them:

- a downgrade: Nexus migrates its database forward on start and cannot read it
  back with an older release, so a lower ``nexus.version`` than the deployed one
  would leave the registry unable to start (``nexus.allowDowngrade``);
- crossing 3.87 upwards: Sonatype lowered the Community Edition caps there, from
  100,000 components and 200,000 requests a day to 40,000 and 100,000, with only
  a few days' grace once over (nexus-public #883), so a registry that was fine
  on 3.86 can stop accepting new components after the upgrade
  (``nexus.acceptCommunityCaps``).

The deployed version is the ``nexusVersion`` output of this very stack's last
update, read through ``components.deployed``.  Known advisories of the chosen release
are logged as warnings on every run.
"""

from __future__ import annotations

from typing import NamedTuple

import pulumi

from components.deployed import VERSION_OUTPUT, own_stack_reference
from components.settings import FIRST_SSRF_PROTECTION_RELEASE, LOWER_CAPS_RELEASE, NexusVersion

_v = NexusVersion.parse


class Advisory(NamedTuple):
    """One of Sonatype's advisories; affected releases are [first, fixed)."""

    cve: str
    first: NexusVersion
    fixed: NexusVersion
    what: str
    only: str | None = None
    """A feature the advisory needs that this program never deploys: logged, not warned about."""


# First affected release of the 2026-08-07 wave where the issue cites none: taken as 3.0.0, so that
# every release before the fix is warned about.
_ALL = _v("3.0.0")
_WAVE = "one of Sonatype's advisories of 2026-08-07"
# Every advisory a stack can still pin (CVE records, as cited in the issue that added them).
ADVISORIES: tuple[Advisory, ...] = (
    Advisory("CVE-2026-3199", _v("3.22.1"), _v("3.91.0"), "authenticated remote code execution through task creation"),
    Advisory("CVE-2026-7308", _v("3.6.0"), _v("3.92.0"), "stored cross-site scripting on the HTML browse page"),
    Advisory("CVE-2026-17603", _ALL, _v("3.95.0"),
             "arbitrary SQL through DataStore connection-pool properties, CVSS 8.7, low privileges"),
    Advisory("CVE-2026-17594", _v("3.0.0"), _v("3.95.0"), "privilege escalation by delegated repository admins"),
    *(Advisory(f"CVE-2026-{number}", _ALL, _v("3.95.0"), _WAVE)
      for number in (17601, 17600, 17599, 17593, 17595, 17596, 17597, 17598, 14644)),
    Advisory("CVE-2026-113369", _v("3.94.0"), _v("3.98.0"), "stored cross-site scripting in the OCI attestations tab"),
    Advisory("CVE-2026-113370", _v("3.90.0"), _v("3.98.0"), 'SQL injection in the "Reindex Search by Pattern" task'),
    Advisory("CVE-2026-136957", _v("3.96.0"), _v("3.99.0"), "a flaw in HuggingFace proxy repositories",
             only="HuggingFace proxies, which this stack never creates"),
)


def version_key(version: str) -> NexusVersion:
    """A sonatype/nexus3 tag as its ordered value: '3.86.2-java17' ranks as release 3.86.2.

    JDK/base variants (``-java17``, ``-alpine``) repackage the same release and share
    its database format, so they never count as a downgrade (``NexusVersion`` orders by release).
    """
    return NexusVersion.parse(version)


def check_version_change(
    deployed: str | None, desired: str, allow_downgrade: bool = False, accept_community_caps: bool = False
) -> str:
    """Return ``desired`` if the change from ``deployed`` is safe or acknowledged; raise otherwise."""
    if not deployed:
        return desired  # a new stack: nothing to migrate, no caps to lose
    if not allow_downgrade and version_key(desired) < version_key(deployed):
        raise ValueError(
            f"nexus-registry:nexus.version: {desired!r} is older than the deployed {deployed!r}; "
            "Nexus databases do not downgrade. Keep the version, or restore the data disk from the "
            "snapshot taken before the upgrade and set nexus.allowDowngrade: true for that one run (README: Runbook)."
        )
    if (version_key(deployed) < LOWER_CAPS_RELEASE <= version_key(desired)) and not accept_community_caps:
        raise ValueError(
            f"nexus-registry:nexus.version: {desired!r} crosses {LOWER_CAPS_RELEASE.dotted} from the deployed "
            f"{deployed!r}, where Community Edition caps drop to 40,000 components and 100,000 requests a day "
            "(from 100,000 and 200,000); check usage (make status), then set nexus.acceptCommunityCaps: true "
            "(README: Usage caps and health)."
        )
    return desired


def advisories(version: str, applicable: bool = True) -> list[str]:
    """One line per known advisory or missing mitigation of ``version``, for a loud warning;
    with ``applicable=False``, those that need a feature this program never deploys (for the log)."""
    release = version_key(version)
    lines = [
        f"nexus.version {version!r} is affected by {advisory.cve} ({advisory.what}), fixed in "
        f"{advisory.fixed.dotted}" + (f"; it concerns {advisory.only}" if advisory.only else "")
        for advisory in ADVISORIES
        if advisory.first <= release < advisory.fixed and (advisory.only is None) == applicable
    ]
    if applicable and release < FIRST_SSRF_PROTECTION_RELEASE:
        lines.append(
            f"nexus.version {version!r} has no SSRF protection API (from {FIRST_SSRF_PROTECTION_RELEASE.dotted}): "
            "CVE-2026-0600 stays open beyond the upstream URL checks of this stack"
        )
    return lines


def guarded_version(
    desired: str,
    allow_downgrade: bool = False,
    opts: pulumi.ResourceOptions | None = None,
    accept_community_caps: bool = False,
) -> pulumi.Output[str]:
    """``desired`` once checked against the version this stack last deployed."""
    for line in advisories(desired):
        pulumi.log.warn(f"nexus-registry: {line}; see README: Choosing a version")
    for line in advisories(desired, applicable=False):
        pulumi.log.info(f"nexus-registry: {line}")
    return own_stack_reference(opts).get_output(VERSION_OUTPUT).apply(
        lambda deployed: check_version_change(deployed, desired, allow_downgrade, accept_community_caps)
    )
