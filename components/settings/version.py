"""Nexus versions: the one place a sonatype/nexus3 version text is parsed and compared.

``NexusVersion.parse`` reads a tag (``3.93.2``, ``3.93.2-java17-ubi``) or a download
name (``3.90.3-01``); settings check a tag with ``NexusVersion.is_image_tag``; the
upgrade guard, the render layer (digest label, migrator download) and the settings'
own release thresholds all use the parsed value instead of splitting the text again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# 3.98.0: by the CVE records, the first release outside every advisory in components.upgrade.ADVISORIES
# that touches what a stack deploys: the 2026-08-07 wave fixed in 3.95.0 (CVE-2026-17603, arbitrary
# SQL through DataStore connection-pool properties, CVE-2026-17594 and nine more), CVE-2026-113369 (OCI attestation
# XSS, 3.94.0-3.97.x) and CVE-2026-113370 (SQL injection in the "Reindex Search by Pattern" task,
# 3.90.0-3.97.x).  Still open in it: CVE-2026-136957 (3.96.0-3.98.x), HuggingFace proxies only, which
# this stack never creates.  No source here confirms its image yet: the newest release commit of
# sonatype/docker-nexus3 seen is release-3.95.2-01 (2026-08-21); make preflight checks the tag.
# requirements-dev.txt pins nexus-api-client to this release once PyPI has it (see its comment).
DEFAULT_NEXUS_VERSION = "3.98.0"

# Exactly the tags sonatype/docker-nexus3's release pipeline (Jenkinsfile-Release) has pushed
# for sonatype/nexus3: <release>, <release>-ubi, <release>-alpine, and, from the Java 8/11/17
# years, <release>-java{8,11,17}, <release>-java{8,11,17}-ubi, <release>-java{11,17}-alpine.
# Build suffixes (3.x.y-01) name downloads, never image tags.
IMAGE_TAG_VARIANTS = (
    "", "-ubi", "-alpine", "-java8", "-java11", "-java17", "-java8-ubi", "-java11-ubi", "-java17-ubi",
    "-java11-alpine", "-java17-alpine",
)
# Applied with ``fullmatch``: Python's ``$`` also matches before a trailing newline.
_IMAGE_TAG = re.compile(
    r"3\.(0|[1-9]\d*)\.(0|[1-9]\d*)(" + "|".join(re.escape(v) for v in IMAGE_TAG_VARIANTS if v) + ")?"
)
# Any text that starts with a release: <major>.<minor>.<patch>, an optional build number
# (-01, as Sonatype's downloads carry), then whatever variant follows.
# Sonatype's migrator jars are nexus-db-migrator-<version>-<build>.jar (3.70.1-03, 3.91.1-04).
MIGRATOR_VERSION = re.compile(r"3\.(0|[1-9]\d*)\.(0|[1-9]\d*)-\d{2}")
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)(?:-(\d+)(?=-|\Z))?(.*)", re.DOTALL)


@dataclass(frozen=True)
class NexusVersion:
    """A sonatype/nexus3 version as written, parsed once.

    ``release`` is the numeric release, (3, 90, 3); ``build`` Sonatype's build number of a
    download ("01"; image tags carry none); ``variant`` the image's JDK/base suffix
    ("-java17-ubi").  Versions order by release alone: a variant repackages the same
    release with the same database format, so it is never an upgrade or a downgrade.
    """

    tag: str
    release: tuple[int, int, int]
    build: str = ""
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> NexusVersion:
        """``text`` parsed; text that names no release has release (0, 0, 0) (settings refuse such
        a tag with ``is_image_tag``; this only keeps rendering and comparing total)."""
        match = _VERSION.match(text)
        if match is None:
            return cls(text, (0, 0, 0))
        major, minor, patch, build, variant = match.groups()
        return cls(text, (int(major), int(minor), int(patch)), build or "", variant)

    @staticmethod
    def is_image_tag(text: str) -> bool:
        """Whether ``text`` is exactly a tag sonatype/nexus3 publishes: a 3.x release and an ``IMAGE_TAG_VARIANTS``."""
        return _IMAGE_TAG.fullmatch(text) is not None

    @property
    def dotted(self) -> str:
        """The release alone, ``3.90.3``: what an image's ``release`` label says."""
        return ".".join(str(part) for part in self.release)

    @property
    def download_name(self) -> str:
        """``3.90.3-01`` (or ``3.90.3`` without a build): how Sonatype names a per-release download."""
        return f"{self.dotted}-{self.build}" if self.build else self.dotted

    def __str__(self) -> str:
        return self.tag

    def __lt__(self, other: object) -> bool:
        return self.release < other.release if isinstance(other, NexusVersion) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.release <= other.release if isinstance(other, NexusVersion) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.release > other.release if isinstance(other, NexusVersion) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.release >= other.release if isinstance(other, NexusVersion) else NotImplemented


# Releases where something this stack depends on changed.
FIRST_H2_RELEASE = NexusVersion.parse("3.71.0")  # OrientDB before it; H2 or PostgreSQL from it
# Community Edition runs on PostgreSQL from 3.77 (database.engine: postgresql needs it).
FIRST_POSTGRESQL_RELEASE = NexusVersion.parse("3.77.0")
# 3.87 lowered the Community Edition caps (nexus-public #883): crossing it needs nexus.acceptCommunityCaps.
LOWER_CAPS_RELEASE = NexusVersion.parse("3.87.0")
# Sonatype's SSRF protection (GET/PUT /v1/security/ssrf-protection), the CVE-2026-0600 mitigation.
FIRST_SSRF_PROTECTION_RELEASE = NexusVersion.parse("3.92.0")


def release_of(version: str) -> tuple[int, int, int]:
    """The release of a sonatype/nexus3 tag: '3.93.2-java17-ubi' -> (3, 93, 2) (``NexusVersion.release``)."""
    return NexusVersion.parse(version).release
