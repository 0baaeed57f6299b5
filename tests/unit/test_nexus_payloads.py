"""Nexus REST payloads: valid for Nexus's own API models, and our own invariants hold.

``nexus-api-client`` is generated from Nexus's OpenAPI spec.  Its ``from_dict``
ignores unknown keys, so every payload must also round-trip through the model
unchanged: a misspelt key would otherwise pass here and be dropped by Nexus.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest
from nexus_api_client.models.anonymous_access_settings_xo import AnonymousAccessSettingsXO
from nexus_api_client.models.api_create_user import ApiCreateUser
from nexus_api_client.models.docker_group_repository_api_request import DockerGroupRepositoryApiRequest
from nexus_api_client.models.docker_hosted_repository_api_request import DockerHostedRepositoryApiRequest
from nexus_api_client.models.docker_proxy_repository_api_request import DockerProxyRepositoryApiRequest
from nexus_api_client.models.pypi_proxy_repository_api_request import PypiProxyRepositoryApiRequest
from nexus_api_client.models.role_xo_request import RoleXORequest
from nexus_api_client.models.ssrf_protection_configuration_xo import SsrfProtectionConfigurationXO
from nexus_api_client.models.yum_proxy_repository_api_request import YumProxyRepositoryApiRequest

from components import settings as stack_settings
from components.render import nexus as render
from components.render import nexus_security
from components.render.nexus_repositories import (
    DockerAttributes,
    DockerGroupRepository,
    DockerHostedRepository,
    GroupAttributes,
    Storage,
    check,
    repositories,
)
from tests.harness import ROOT
from tests.support.settings import DOCKER_HUB_TOKEN, make_settings

MODELS = {
    "docker/proxy": DockerProxyRepositoryApiRequest,
    "docker/hosted": DockerHostedRepositoryApiRequest,
    "docker/group": DockerGroupRepositoryApiRequest,
    "pypi/proxy": PypiProxyRepositoryApiRequest,
    "yum/proxy": YumProxyRepositoryApiRequest,
}

VARIANTS = {
    "dev": lambda: make_settings("dev"),
    "prod": lambda: make_settings("prod"),
    "lab": lambda: make_settings("lab"),
    "private": lambda: make_settings("lab", {"anonymousPull": False}),
    "docker-hub-login": lambda: make_settings("dev", token=True),
    "mirror-upstream": lambda: make_settings("dev", {"dockerHubRemote": "https://mirror.ccs.tencentyun.com"}),
    "docker-only": lambda: make_settings("lab", {"pypiProxy": False, "yumProxy": False}),
}


def strictly_valid(model: type, payload: dict) -> None:
    parsed = model.from_dict(payload)  # raises on a missing field, a wrong type or an enum value Nexus refuses
    assert parsed.to_dict() == payload, f"{model.__name__} drops or changes keys of {payload}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_payload_is_valid_for_the_nexus_api(variant):
    settings = VARIANTS[variant]()
    repos = repositories(settings)
    assert repos, "no repositories"
    for repo in repos:
        payload = repo.payload()
        strictly_valid(MODELS[repo.endpoint], payload)
        if repo.name == "docker-proxy" and settings.docker_hub_token is not None:
            # What the bootstrap sends after adding the token on the host must be valid too.
            with_token = copy.deepcopy(payload)
            with_token["httpClient"]["authentication"]["password"] = DOCKER_HUB_TOKEN
            strictly_valid(DockerProxyRepositoryApiRequest, with_token)


@pytest.mark.parametrize("variant", VARIANTS)
def test_anonymous_access_payload_is_valid(variant):
    settings = VARIANTS[variant]()
    payload = render.anonymous_payload(settings)
    strictly_valid(AnonymousAccessSettingsXO, payload)
    assert payload["enabled"] is settings.nexus.anonymous_pull


@pytest.mark.parametrize("variant", VARIANTS)
def test_ssrf_protection_payload_is_valid_and_lets_only_our_upstreams_through(variant):
    settings = VARIANTS[variant]()
    payload = render.ssrf_protection_payload(settings)
    strictly_valid(SsrfProtectionConfigurationXO, payload)
    assert payload["enabled"] is True
    hosts = {re.match(r"^https?://([^/:]+)", u.remote_url).group(1) for u in render.upstreams(settings)}
    assert set(payload["allowedDomains"]) | set(payload["allowedIPs"]) == hosts
    assert not any("metadata" in host or host.startswith("169.254.") for host in hosts)


def _pinned_client() -> str:
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        if line.startswith("nexus-api-client"):
            return line.split("#")[0].strip()
    raise AssertionError("requirements-dev.txt does not list nexus-api-client")


def test_the_pinned_client_is_the_release_the_stacks_deploy():
    """nexus-api-client releases follow Nexus releases: pin the one the stacks deploy, or, while PyPI has
    none for it yet, an older one, with requirements-dev.txt saying so."""
    deployed = stack_settings.release_of(stack_settings.DEFAULT_NEXUS_VERSION)
    release = ".".join(map(str, deployed))
    pinned = _pinned_client().removeprefix("nexus-api-client==")
    if pinned != release:
        assert stack_settings.release_of(pinned) < deployed, f"nexus-api-client {pinned} is newer than {release}"
        assert f"no nexus-api-client {release} on PyPI" in (ROOT / "requirements-dev.txt").read_text(), \
            f"pin nexus-api-client=={release}, or say in requirements-dev.txt that PyPI has no such release"
    for stack in ("dev", "prod", "lab"):
        assert make_settings(stack).nexus.release == stack_settings.release_of(stack_settings.DEFAULT_NEXUS_VERSION)


def _pinned_models() -> Path:
    """The pinned release's package, unpacked once into the CI cache (pip download, no install)."""
    pinned = _pinned_client().split("==")[1]
    cache = Path(os.environ.get("NEXUS_REGISTRY_CACHE", "/var/cache/nexus-registry-ci")) / f"nexus-api-client-{pinned}"
    if not (cache / "nexus_api_client" / "__init__.py").is_file():
        with tempfile.TemporaryDirectory() as download:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                            f"nexus-api-client=={pinned}", "-d", download], check=True, timeout=300)
            (wheel,) = Path(download).glob("nexus_api_client-*.whl")
            staging = Path(tempfile.mkdtemp(dir=cache.parent if cache.parent.is_dir() else None))
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(staging)
            cache.parent.mkdir(parents=True, exist_ok=True)
            staging.replace(cache)
    return cache


def test_payloads_are_checked_against_the_models_of_the_deployed_release():
    """Where the environment has another nexus-api-client than the pinned one (a shared
    development venv), this file's payload checks run again with the pinned release's models."""
    pinned = _pinned_client().split("==")[1]
    if os.environ.get("NEXUS_API_CLIENT_PINNED_RUN") or version("nexus-api-client") == pinned:
        loaded = version("nexus-api-client")  # the first distribution on sys.path: the one imported
        assert loaded == pinned, f"the payload checks ran with nexus-api-client {loaded}, not {pinned}"
        return
    models = _pinned_models()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k", "not deployed_release"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": f"{models}{os.pathsep}{ROOT}", "NEXUS_API_CLIENT_PINNED_RUN": "1"},
    )
    assert result.returncode == 0, f"payloads fail with nexus-api-client {pinned}:\n{result.stdout[-3000:]}"
    assert "passed" in result.stdout and " failed" not in result.stdout


@pytest.mark.parametrize("variant", VARIANTS)
def test_our_own_invariants(variant):
    settings = VARIANTS[variant]()
    repos = repositories(settings)
    names = [repo.name for repo in repos]
    docker = [repo for repo in repos if repo.format == "docker"]
    assert [repo.name for repo in docker] == ["docker-proxy", "docker-hosted", "docker-group"]
    assert all(repo.name == repo.name.lower() for repo in docker)
    ports = [repo.docker.http_port for repo in docker]
    assert ports == [8001, 8002, 8003] and len(set(ports)) == len(ports)
    group = next(repo for repo in docker if repo.type == "group")
    assert group.group.member_names == ("docker-hosted", "docker-proxy")  # hosted first, then proxy
    for member in group.group.member_names:
        assert names.index(member) < names.index(group.name), "members are created before their group"
    # Pitfall 9: explicit, and the same on all three; off when anonymous pulls are on.
    assert {repo.payload()["docker"]["forceBasicAuth"] for repo in docker} == {not settings.nexus.anonymous_pull}
    hosted = next(repo for repo in docker if repo.type == "hosted")
    assert hosted.payload()["storage"]["writePolicy"] == "ALLOW"


def test_payloads_follow_the_settings():
    lab = make_settings("lab")
    assert list(render.api_payloads(lab)) == ["docker-proxy", "docker-hosted", "docker-group", "pypi-proxy",
                                              "yum-proxy"]
    proxy = render.api_payloads(lab)["docker-proxy"]
    assert proxy["proxy"]["remoteUrl"] == "https://registry-1.docker.io"
    assert proxy["dockerProxy"]["indexType"] == "HUB"
    assert "authentication" not in proxy["httpClient"]
    assert render.api_payloads(lab)["yum-proxy"]["proxy"]["remoteUrl"] == lab.nexus.yum_remote

    custom = make_settings("lab", {"dockerHubRemote": "https://hub.example.cn", "yumRemote": "https://yum.example.cn/",
                                   "pypiRemote": "https://pypi.example.cn/"})
    payloads = render.api_payloads(custom)
    assert payloads["docker-proxy"]["proxy"]["remoteUrl"] == "https://hub.example.cn"
    assert payloads["docker-proxy"]["dockerProxy"]["indexType"] == "REGISTRY"
    assert payloads["yum-proxy"]["proxy"]["remoteUrl"] == "https://yum.example.cn/"
    assert payloads["pypi-proxy"]["proxy"]["remoteUrl"] == "https://pypi.example.cn/"

    login = render.api_payloads(make_settings("lab", token=True))["docker-proxy"]
    assert login["httpClient"]["authentication"] == {"type": "username", "username": "team-bot"}  # no password
    assert set(render.api_payloads(make_settings("lab", {"pypiProxy": False}))) == {
        "docker-proxy", "docker-hosted", "docker-group", "yum-proxy"}


def _hosted(name="docker-hosted", port=8002, basic=False):
    return DockerHostedRepository(name=name, storage=Storage(write_policy="ALLOW"),
                                  docker=DockerAttributes(force_basic_auth=basic, http_port=port))


def _group(members=("docker-hosted",), port=8003, basic=False):
    return DockerGroupRepository(name="docker-group", group=GroupAttributes(member_names=members),
                                 docker=DockerAttributes(force_basic_auth=basic, http_port=port))


@pytest.mark.parametrize("repos, message", [
    ([_hosted(name="Docker-Hosted")], "lowercase"),
    ([_hosted(), _group(port=8002)], "connector port 8002"),
    ([_hosted(), _group(members=("docker-hosted", "docker-proxy"))], "docker-proxy"),
    ([_group(), _hosted()], "created before"),
    ([_hosted(), _group(basic=True)], "forceBasicAuth"),
    ([_hosted(), _hosted()], "not unique"),
])
def test_the_invariant_checks_catch_broken_sets(repos, message):
    with pytest.raises(ValueError, match=message):
        check(repos)


def test_realms_are_the_two_we_need():
    assert render.realms_payload() == ["NexusAuthenticatingRealm", "DockerToken"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_role_and_user_payloads_are_valid_and_name_only_existing_privileges(variant):
    settings = VARIANTS[variant]()
    created = {(repo.format, repo.name) for repo in repositories(settings)}
    for role in nexus_security.roles(settings):
        strictly_valid(RoleXORequest, role)
        for privilege in role["privileges"]:
            if privilege == nexus_security.METRICS_PRIVILEGE:  # built in (MetricsSecurityContributor)
                continue
            # Every privilege is one Nexus creates with a repository this stack creates.
            assert any(privilege.startswith(f"nx-repository-view-{fmt}-{name}-") for fmt, name in created), privilege
    for user in nexus_security.users(settings):
        # What the bootstrap POSTs after adding the password on the host.
        strictly_valid(ApiCreateUser, {**user, "password": "Host-Added-Password-1"})
        assert user["lastName"] == nexus_security.MANAGED_MARKER


def test_roles_are_least_privilege_and_anonymous_never_reads_the_group_by_default():
    roles = {role["id"]: role["privileges"] for role in nexus_security.roles(make_settings("dev"))}
    assert roles[nexus_security.ROLE_PUSH] == [f"nx-repository-view-docker-docker-hosted-{action}"
                                               for action in ("add", "edit", "read", "browse")]
    # A pull is a read (nexus-public SecurityFacetSupport.action: GET/HEAD -> read); browse would
    # only let anonymous clients list and browse docker-proxy in the UI and REST API.
    assert roles[nexus_security.ROLE_ANONYMOUS] == ["nx-repository-view-docker-docker-proxy-read"]
    granted = [privilege for privileges in roles.values() for privilege in privileges]
    assert not any("delete" in privilege or "*" in privilege for privilege in granted)
    public = {role["id"]: role["privileges"]
              for role in nexus_security.roles(make_settings("dev", {"anonymousTeamImages": True}))}
    assert "nx-repository-view-docker-docker-group-read" in public[nexus_security.ROLE_ANONYMOUS]
    docker_only = {role["id"]: role["privileges"]
                   for role in nexus_security.roles(make_settings("lab", {"pypiProxy": False, "yumProxy": False}))}
    assert docker_only[nexus_security.ROLE_PULL] == ["nx-repository-view-docker-docker-group-read",
                                                     "nx-repository-view-docker-docker-group-browse"]


def test_push_users_also_pull_and_pull_users_only_pull():
    settings = make_settings("dev", users=[{"name": "ci", "role": "push"}, {"name": "bob", "role": "pull"}],
                             userPasswords='{"ci": "Ci-Push-Password-17", "bob": "Bob-Pull-Password-8"}')
    users = {user["userId"]: user["roles"] for user in nexus_security.users(settings)}
    assert users == {"ci": [nexus_security.ROLE_PUSH, nexus_security.ROLE_PULL], "bob": [nexus_security.ROLE_PULL]}
    shipped = "".join(f.content for f in render.bootstrap_files(settings))
    assert "Bob-Pull-Password-8" not in shipped and "Ci-Push-Password-17" not in shipped
