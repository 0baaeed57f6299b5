"""What the host downloads: the pinned Nexus image, and Sonatype's H2-to-PostgreSQL migrator when asked for.

The host's Docker pulls ``sonatype/nexus3:<nexus.version>`` (``@<nexus.imageDigest>``
when pinned) from Docker Hub, through the daemon's ``registry-mirrors``
(``server.dockerMirror``), which answers for Docker Hub's content; from here the
preflight asks Docker Hub itself with the registry API v2: ``HEAD
/v2/<repository>/manifests/<reference>``, after the anonymous bearer-token flow
that a ``401`` with ``WWW-Authenticate: Bearer realm=...,service=...`` asks for
(distribution spec, "Token Authentication Specification").  A ``404`` is an
error naming the setting; a registry that cannot be reached from here (mainland
networks often cannot reach Docker Hub) is only a warning, as the host pulls
through its mirror.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from components.i18n import _
from components.preflight import Finding, error, warning
from components.render import nexus_database
from components.render.nexus import NEXUS_IMAGE_REPOSITORY
from components.settings import NAMESPACE, Settings

DOCKER_HUB = "https://registry-1.docker.io"
TIMEOUT_SECONDS = 10
MANIFEST_TYPES = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
))
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Answer:
    status: int | None
    """HTTP status, or None when nothing answered (``reason`` says why)."""
    reason: str = ""
    body: bytes = b""


def _request(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[Answer, dict[str, str]]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (https URLs only)
            return Answer(response.status, body=response.read() if method == "GET" else b""), dict(response.headers)
    except urllib.error.HTTPError as failure:
        return Answer(failure.code, str(failure.reason)), dict(failure.headers or {})
    except (urllib.error.URLError, OSError) as failure:
        reason = getattr(failure, "reason", failure)
        return Answer(None, " ".join(str(reason).split())[:160]), {}


def _token(challenge: str, repository: str) -> str | None:
    """An anonymous pull token for ``repository`` from the realm a Bearer challenge names."""
    params = dict(_CHALLENGE_PARAM.findall(challenge))
    realm = params.get("realm")
    if not challenge.lower().startswith("bearer") or not realm:
        return None
    query = {"scope": f"repository:{repository}:pull"}
    if params.get("service"):
        query["service"] = params["service"]
    answer, _headers = _request(f"{realm}?{urllib.parse.urlencode(query)}")
    if answer.status != 200:
        return None
    try:
        document = json.loads(answer.body)
    except ValueError:
        return None
    return document.get("token") or document.get("access_token")


def manifest_status(registry: str, repository: str, reference: str) -> Answer:
    """``HEAD`` of a manifest, with the anonymous token when the registry asks for one."""
    url = f"{registry.rstrip('/')}/v2/{repository}/manifests/{reference}"
    headers = {"Accept": MANIFEST_TYPES}
    answer, response_headers = _request(url, "HEAD", headers)
    challenge = {k.lower(): v for k, v in response_headers.items()}.get("www-authenticate", "")
    if answer.status == 401 and challenge:
        token = _token(challenge, repository)
        if token is None:
            return Answer(401, _("the registry gave no anonymous pull token"))
        answer, _headers = _request(url, "HEAD", {**headers, "Authorization": f"Bearer {token}"})
    return answer


def nexus_image(settings: Settings, registry: str = DOCKER_HUB) -> list[Finding]:
    nexus = settings.nexus
    checks = [(f"{NAMESPACE}:nexus.version", nexus.version, "tag")]
    if nexus.image_digest:
        checks.append((f"{NAMESPACE}:nexus.imageDigest", nexus.image_digest, "digest"))
    findings = []
    for key, reference, kind in checks:
        answer = manifest_status(registry, NEXUS_IMAGE_REPOSITORY, reference)
        if answer.status == 200:
            continue
        image = f"{NEXUS_IMAGE_REPOSITORY}{'@' if kind == 'digest' else ':'}{reference}"
        if answer.status == 404:
            findings.append(error(key, _("{image} does not exist on Docker Hub ({registry}): the host cannot pull "
                                         "it; use a published release (README: Choosing a version)").format(
                image=image, registry=registry)))
        elif answer.status is None:
            findings.append(warning(key, _("{image} was not checked: {registry} could not be reached from here "
                                           "({reason}); the host pulls it through its own mirror").format(
                image=image, registry=registry, reason=answer.reason)))
        else:
            findings.append(warning(key, _("{image} was not checked: {registry} answered HTTP {status} {reason}")
                                    .format(image=image, registry=registry, status=answer.status,
                                            reason=answer.reason)))
    return findings


def migrator_release(settings: Settings) -> tuple[str, str]:
    """The migrator's ``<version>-<build>`` and the setting that decides it."""
    # Settings require database.migratorVersion with migrateFromH2 (its release equal to nexus.version's).
    return settings.database.migrator_version or "", f"{NAMESPACE}:database.migratorVersion"


def migrator(settings: Settings, url_template: str | None = None) -> list[Finding]:
    """With ``database.migrateFromH2``: the jar the host downloads exists, and its published
    ``.sha256`` is the ``database.migratorSha256`` the host will check it against."""
    if not (settings.database.postgresql and settings.database.migrate_from_h2):
        return []
    release, key = migrator_release(settings)
    url = (url_template or nexus_database.MIGRATOR_URL).format(version_build=release)
    jar, _headers = _request(url, "HEAD")
    if jar.status is None:
        return [warning(key, _("the migrator {url} was not checked: {reason}").format(url=url, reason=jar.reason))]
    if jar.status == 404:
        return [error(key, _("Sonatype publishes no {url} (HTTP 404): the migrator is named "
                             "nexus-db-migrator-<version>-<build>.jar and its build can differ from the image's "
                             "(README: Moving to PostgreSQL)").format(url=url))]
    if jar.status != 200:
        return [warning(key, _("the migrator {url} answered HTTP {status}").format(url=url, status=jar.status))]
    digest, _headers = _request(f"{url}.sha256")
    if digest.status != 200:
        return [error(key, _("{url}.sha256 is not published (HTTP {status}): the jar cannot be checked").format(
            url=url, status=digest.status))]
    published = (digest.body.decode("ascii", "replace").split() or [""])[0].lower()
    expected = settings.database.migrator_sha256
    if expected and published != expected:
        return [error(f"{NAMESPACE}:database.migratorSha256",
                      _("{expected} is not the SHA-256 Sonatype publishes for this jar ({published})").format(
                          expected=expected, published=published))]
    return []
