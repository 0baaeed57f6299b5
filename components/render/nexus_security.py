"""Who may do what in Nexus: the roles, users and anonymous access a stack sets up.

Pure functions of the settings; the bootstrap script applies them through the
REST API (``nexus-bootstrap.sh``: ``configure_roles``, ``configure_users``,
``configure_anonymous_user``), and the tests validate them with the models of
``nexus-api-client``.

Roles hold only the repository-view privileges Nexus creates with each
repository (``nx-repository-view-<format>-<repository>-<action>``):

- ``nexus-registry-push``: add, edit, read, browse on ``docker-hosted``, nothing else
  (no delete: a CI credential cannot erase what was released);
- ``nexus-registry-pull``: read and browse of what a team member pulls: ``docker-group``
  (team images and Docker Hub), ``pypi-proxy``, ``yum-proxy``;
- ``nexus-registry-anonymous``: read (not browse) of ``docker-proxy`` only, so the
  anonymous Docker Hub mirror works and nothing pushed is visible; plus
  ``docker-group`` when ``nexus.anonymousTeamImages`` opts in.  It replaces
  Nexus's own ``nx-anonymous`` on the ``anonymous`` user, which reads every
  repository and searches them all.

A pull needs ``read`` only.  Every repository request passes ``SecurityHandler``, which asks
``SecurityFacetSupport.ensurePermitted`` for the action of the HTTP method: GET and HEAD are
``read`` (nexus-public components/nexus-repository-services/.../security/SecurityFacetSupport.java,
``action()``); ``browse`` is asked only by the browse tree, search and repository listings
(``RepositoryBrowseResource``, ``BrowseNodeQueryServiceImpl``, ``SearchResultComponentGeneratorSupport``,
``RepositoryPermissionChecker.userCanBrowseRepositories``).  Sonatype's Docker Authentication page
says the same of Docker: "Anonymous user access to a Docker repository's content is determined
by their nx-view read privileges".  The Docker format itself is not in nexus-public, so the
anonymous mirror pull is the part that rests on the real Nexus behaving as documented.

A Nexus group reads whatever its members hold: read on ``docker-group`` is read
on ``docker-hosted``.  So the anonymous role never names the group unless team
images are meant to be public, and the mirror endpoint is served by the
``docker-proxy`` connector, not the group (README: Who can read and write).

Users come from ``users`` in the settings; a push user also holds the pull role
(a push reads manifests through the group, and a CI job pulls its base images).
Each managed user carries ``MANAGED_MARKER`` as its last name: the bootstrap
deletes a managed user that left the settings and never touches another user.
Passwords are not here: each arrives as a root-only file (``user_password_path``).
"""

from __future__ import annotations

from typing import Any

from components.host_layout import USER_PASSWORD_DIR_NAME
from components.render.nexus_repositories import (
    DOCKER_GROUP,
    DOCKER_HOSTED,
    DOCKER_PROXY,
    PYPI_PROXY,
    YUM_PROXY,
)
from components.settings import Settings, UserSettings

ROLE_PUSH = "nexus-registry-push"
ROLE_PULL = "nexus-registry-pull"
ROLE_ANONYMOUS = "nexus-registry-anonymous"
# Read-only metrics (users with role: metrics, for a Prometheus scraper): Nexus's own metrics privilege only.
ROLE_METRICS = "nexus-registry-metrics"
METRICS_PRIVILEGE = "nx-metrics-all"
ANONYMOUS_USER = "anonymous"
# Last name of every user this program manages: how the bootstrap tells them from the others.
MANAGED_MARKER = "managed-by-nexus-registry"

PUSH_ACTIONS = ("add", "edit", "read", "browse")
PULL_ACTIONS = ("read", "browse")
# Anonymous clients pull; they have no business listing, searching or browsing (see above).
ANONYMOUS_ACTIONS = ("read",)


def privilege(repository_format: str, repository: str, action: str) -> str:
    """The repository-view privilege Nexus creates for each repository and action."""
    return f"nx-repository-view-{repository_format}-{repository}-{action}"


def _privileges(repository_format: str, repository: str, actions: tuple[str, ...]) -> list[str]:
    return [privilege(repository_format, repository, action) for action in actions]


def pulled_repositories(settings: Settings) -> list[tuple[str, str]]:
    """(format, name) of what a team member pulls: docker-group and the enabled package proxies."""
    pulled = [("docker", DOCKER_GROUP)]
    if settings.nexus.pypi_proxy:
        pulled.append(("pypi", PYPI_PROXY))
    if settings.nexus.yum_proxy:
        pulled.append(("yum", YUM_PROXY))
    return pulled


def anonymous_repositories(settings: Settings) -> list[tuple[str, str]]:
    """(format, name) an anonymous client may read; docker-group only by explicit opt-in."""
    readable = [("docker", DOCKER_PROXY)]
    if settings.nexus.anonymous_team_images:
        readable.append(("docker", DOCKER_GROUP))
    return readable


def roles(settings: Settings) -> list[dict[str, Any]]:
    """Bodies of ``POST /v1/security/roles`` (RoleXORequest), one per role."""
    pull = [p for fmt, name in pulled_repositories(settings) for p in _privileges(fmt, name, PULL_ACTIONS)]
    anonymous = [p for fmt, name in anonymous_repositories(settings) for p in _privileges(fmt, name, ANONYMOUS_ACTIONS)]
    return [
        {"id": ROLE_PUSH, "name": ROLE_PUSH, "roles": [],
         "description": "nexus-registry: push to docker-hosted (add, edit, read, browse; no delete)",
         "privileges": _privileges("docker", DOCKER_HOSTED, PUSH_ACTIONS)},
        {"id": ROLE_PULL, "name": ROLE_PULL, "roles": [],
         "description": "nexus-registry: pull team images, Docker Hub and package proxies",
         "privileges": pull},
        {"id": ROLE_ANONYMOUS, "name": ROLE_ANONYMOUS, "roles": [],
         "description": "nexus-registry: anonymous reads (the Docker Hub mirror)",
         "privileges": anonymous},
        {"id": ROLE_METRICS, "name": ROLE_METRICS, "roles": [],
         "description": "nexus-registry: read Nexus's metrics (Prometheus), nothing else",
         "privileges": [METRICS_PRIVILEGE]},
    ]


def user_roles(user: UserSettings) -> list[str]:
    if user.role == "metrics":
        return [ROLE_METRICS]
    return [ROLE_PUSH, ROLE_PULL] if user.role == "push" else [ROLE_PULL]


def users(settings: Settings) -> list[dict[str, Any]]:
    """Each managed user as Nexus stores it (ApiUser fields we set); the password is added on the host."""
    return [
        {
            "userId": user.name,
            "firstName": user.name,
            "lastName": MANAGED_MARKER,
            # Nexus requires an address; .invalid (RFC 2606) never delivers mail anywhere.
            "emailAddress": f"{user.name}@nexus-registry.invalid",
            "status": "active",
            "roles": user_roles(user),
        }
        for user in settings.users
    ]


def anonymous_user_roles() -> list[str]:
    return [ROLE_ANONYMOUS]


def user_password_path(secrets_dir: str, name: str) -> str:
    return f"{secrets_dir}/{USER_PASSWORD_DIR_NAME}/{name}"
