"""Typed model of the Nexus repositories a stack creates, and their REST payloads.

The bootstrap script never contains hand-typed JSON: every repository is built
here from settings as a frozen pydantic model whose camelCase dump is exactly
the body of Nexus's ``POST /v1/repositories/<format>/<type>`` (and ``PUT .../<name>``).
The same dicts are shipped to the host as files, written by
``python -m components.render`` for review, and validated in the tests against
the models of ``nexus-api-client`` (generated from Nexus's own OpenAPI spec).

Only fields we mean to set are present: the script compares exactly these keys
with what Nexus returns, so defaults Nexus adds on its own never cause an update.
The Docker Hub token is never part of a payload: the script adds it on the host
from a root-only file (see ``docker_hub_credentials``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from components.host_layout import BLOB_STORE, DOCKER_GROUP_PORT, DOCKER_HOSTED_PORT, DOCKER_PROXY_PORT
from components.render.nexus_lifecycle import repository_cleanup
from components.settings import DEFAULT_DOCKER_HUB_REMOTE, Settings

DOCKER_PROXY = "docker-proxy"
DOCKER_HOSTED = "docker-hosted"
DOCKER_GROUP = "docker-group"
PYPI_PROXY = "pypi-proxy"
YUM_PROXY = "yum-proxy"
# The one repository that may authenticate upstream (Docker Hub rate limits).
DOCKER_HUB_AUTH_REPOSITORY = DOCKER_PROXY

ONE_DAY_MINUTES = 1440
_DOCKER_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")


class _Part(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class Storage(_Part):
    blob_store_name: str = BLOB_STORE
    strict_content_type_validation: bool = True
    # Upper case: Nexus accepts either, but answers GET with the enum name, and the bootstrap
    # compares our payload with that answer key by key.
    write_policy: Literal["ALLOW", "ALLOW_ONCE", "DENY"] | None = None


class DockerAttributes(_Part):
    v1_enabled: bool = False
    force_basic_auth: bool
    http_port: int = Field(ge=1, le=65535)


class ProxyAttributes(_Part):
    remote_url: str
    content_max_age: int = ONE_DAY_MINUTES
    metadata_max_age: int = ONE_DAY_MINUTES


class NegativeCache(_Part):
    enabled: bool = True
    time_to_live: int = ONE_DAY_MINUTES


class Authentication(_Part):
    type: Literal["username"] = "username"
    username: str


class HttpClient(_Part):
    blocked: bool = False
    auto_block: bool = True
    authentication: Authentication | None = None


class DockerProxyAttributes(_Part):
    index_type: Literal["HUB", "REGISTRY"]


class CleanupAttributes(_Part):
    policy_names: tuple[str, ...] = ()


class GroupAttributes(_Part):
    member_names: tuple[str, ...] = Field(min_length=1)


class Repository(_Part):
    """One repository; ``format``/``type`` select the REST endpoint."""

    format: ClassVar[str]
    type: ClassVar[str]

    name: str
    online: bool = True

    def payload(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")

    @property
    def endpoint(self) -> str:
        return f"{self.format}/{self.type}"


class ProxyRepository(Repository):
    """What every proxy repository has: an upstream, a negative cache, an HTTP client."""

    type: ClassVar[str] = "proxy"
    storage: Storage = Storage()
    proxy: ProxyAttributes
    negative_cache: NegativeCache = NegativeCache()
    http_client: HttpClient = HttpClient()
    cleanup: CleanupAttributes | None = None


class DockerProxyRepository(ProxyRepository):
    format: ClassVar[str] = "docker"
    docker: DockerAttributes
    docker_proxy: DockerProxyAttributes


class DockerHostedRepository(Repository):
    format: ClassVar[str] = "docker"
    type: ClassVar[str] = "hosted"
    storage: Storage
    docker: DockerAttributes
    cleanup: CleanupAttributes | None = None


class DockerGroupRepository(Repository):
    format: ClassVar[str] = "docker"
    type: ClassVar[str] = "group"
    storage: Storage = Storage()
    docker: DockerAttributes
    group: GroupAttributes


class PypiProxyRepository(ProxyRepository):
    format: ClassVar[str] = "pypi"


class YumProxyRepository(ProxyRepository):
    format: ClassVar[str] = "yum"


def force_basic_auth(settings: Settings) -> bool:
    """One value for every docker repository (Pitfall 9): off when anonymous pull is on,
    since anonymous docker pulls need the Docker Bearer Token realm, which forceBasicAuth bypasses."""
    return not settings.nexus.anonymous_pull


def docker_index_type(remote_url: str) -> Literal["HUB", "REGISTRY"]:
    """Docker Hub itself uses its index; any other upstream (a mirror, Harbor...) is a plain registry."""
    return "HUB" if remote_url.rstrip("/") == DEFAULT_DOCKER_HUB_REMOTE.rstrip("/") else "REGISTRY"


def repositories(settings: Settings) -> list[Repository]:
    """Every repository in creation order: group members come before their group."""
    nexus = settings.nexus
    basic = force_basic_auth(settings)
    credentials = (
        Authentication(username=nexus.docker_hub_username) if nexus.docker_hub_username is not None else None
    )
    repos: list[Repository] = [
        DockerProxyRepository(
            name=DOCKER_PROXY,
            docker=DockerAttributes(force_basic_auth=basic, http_port=DOCKER_PROXY_PORT),
            docker_proxy=DockerProxyAttributes(index_type=docker_index_type(nexus.docker_hub_remote)),
            proxy=ProxyAttributes(remote_url=nexus.docker_hub_remote),
            http_client=HttpClient(authentication=credentials),
        ),
        DockerHostedRepository(
            name=DOCKER_HOSTED,
            storage=Storage(write_policy="ALLOW"),
            docker=DockerAttributes(force_basic_auth=basic, http_port=DOCKER_HOSTED_PORT),
        ),
        DockerGroupRepository(
            name=DOCKER_GROUP,
            docker=DockerAttributes(force_basic_auth=basic, http_port=DOCKER_GROUP_PORT),
            # Hosted first: an image pushed here wins over a same-named upstream image.
            group=GroupAttributes(member_names=(DOCKER_HOSTED, DOCKER_PROXY)),
        ),
    ]
    if nexus.pypi_proxy:
        repos.append(PypiProxyRepository(name=PYPI_PROXY, proxy=ProxyAttributes(remote_url=nexus.pypi_remote)))
    if nexus.yum_proxy:
        repos.append(YumProxyRepository(name=YUM_PROXY, proxy=ProxyAttributes(remote_url=nexus.yum_remote)))
    repos = with_cleanup_policies(settings, repos)
    check(repos)
    return repos


def with_cleanup_policies(settings: Settings, repos: list[Repository]) -> list[Repository]:
    """Attach the storage-lifecycle policies (components.render.nexus_lifecycle) to each repository.

    Always explicit, also when empty: a repository PUT without ``cleanup`` detaches policies anyway.
    """
    cleanup = repository_cleanup(settings, repos)
    return [
        repo.model_copy(update={"cleanup": CleanupAttributes(policy_names=tuple(cleanup[repo.name]["policyNames"]))})
        if repo.name in cleanup else repo
        for repo in repos
    ]


def check(repos: list[Repository]) -> None:
    """Our own invariants, beyond what the Nexus API checks: raise ValueError on the first broken one."""
    names = [repo.name for repo in repos]
    if len(set(names)) != len(names):
        raise ValueError(f"repository names are not unique: {names}")
    ports: dict[int, str] = {}
    for position, repo in enumerate(repos):
        docker = getattr(repo, "docker", None)
        if docker is None:
            continue
        if not _DOCKER_NAME.fullmatch(repo.name):
            raise ValueError(f"docker repository name {repo.name!r} must be lowercase (Docker image paths are)")
        if docker.http_port in ports:
            raise ValueError(f"connector port {docker.http_port} is used by {ports[docker.http_port]} and {repo.name}")
        ports[docker.http_port] = repo.name
        group = getattr(repo, "group", None)
        if group is not None:
            for member in group.member_names:
                if member not in names[:position]:
                    raise ValueError(f"group {repo.name!r} member {member!r} is not a repository created before it")
    basic = {repo.docker.force_basic_auth for repo in repos if getattr(repo, "docker", None) is not None}
    if len(basic) > 1:
        raise ValueError("forceBasicAuth must be the same on every docker repository")


def docker_hub_credentials(settings: Settings) -> bool:
    """Whether docker-proxy authenticates upstream (its password is added on the host)."""
    return settings.nexus.docker_hub_username is not None


# --- upstreams ---------------------------------------------------------------------


@dataclass(frozen=True)
class Upstream:
    """A proxy repository's remote, the setting that chooses it, and a cheap URL that proves it answers."""

    repository: str
    setting: str
    remote_url: str
    probe_url: str


def upstreams(settings: Settings) -> list[Upstream]:
    """Every configured upstream, checked from the host on each bootstrap (warn-only)."""
    nexus = settings.nexus
    docker = nexus.docker_hub_remote.rstrip("/")
    found = [Upstream(DOCKER_PROXY, "nexus.dockerHubRemote", nexus.docker_hub_remote, f"{docker}/v2/")]
    if nexus.pypi_proxy:
        # One small project page: the whole /simple/ index of pypi.org is tens of megabytes.
        pypi = nexus.pypi_remote.rstrip("/")
        found.append(Upstream(PYPI_PROXY, "nexus.pypiRemote", nexus.pypi_remote, f"{pypi}/simple/pip/"))
    if nexus.yum_proxy:
        found.append(Upstream(YUM_PROXY, "nexus.yumRemote", nexus.yum_remote, nexus.yum_remote))
    return found


def ssrf_allowances(settings: Settings) -> tuple[list[str], list[str]]:
    """(domains, IPs) our own upstreams need past Nexus's SSRF protection.

    The operator chose these in the stack's config, where link-local, loopback and
    metadata targets are refused; an in-cloud mirror (``*.tencentyun.com``) or an
    upstream on a private network would otherwise be blocked like any other
    internal address.  Every other URL, such as one set later through the UI by a
    stolen admin session, stays subject to the protection (CVE-2026-0600).
    """
    domains: set[str] = set()
    addresses: set[str] = set()
    for upstream in upstreams(settings):
        host = (urlsplit(upstream.remote_url).hostname or "").lower()
        try:
            addresses.add(str(ipaddress.ip_address(host)))
        except ValueError:
            domains.add(host)
    return sorted(domains), sorted(addresses)
