"""Security as Nexus models it: who is calling, users, roles, privileges, realms, anonymous access, SSRF.

- basic auth checked against the *current* admin password (401 otherwise); any active user with the
  right password authenticates; a wrong one is a 401 even where anonymous access would do; anonymous
  access uses the ``anonymous`` user's roles (``nx-anonymous`` at first: reads and browses everything);
- ``change-password`` demands ``Content-Type: text/plain``;
- roles (``RoleXORequest``) may name only privileges that exist (built-in ones, and the
  ``nx-repository-view-<format>-<repo>-<action>`` set each repository brings), users
  (``ApiCreateUser``/``ApiUser``) only roles that exist; ``GET /v1/security/users?userId=`` is a
  prefix search;
- SSRF protection (3.92+; ``ssrf_api=False`` plays an older Nexus) validated with
  ``SsrfProtectionConfigurationXO``.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass, field
from typing import Any

from nexus_api_client.models.anonymous_access_settings_xo import AnonymousAccessSettingsXO
from nexus_api_client.models.api_create_user import ApiCreateUser
from nexus_api_client.models.api_user import ApiUser
from nexus_api_client.models.role_xo_request import RoleXORequest
from nexus_api_client.models.ssrf_protection_configuration_xo import SsrfProtectionConfigurationXO

from tests.fakes.nexus.api import Answer, BadRequest, Recorder, Request, header, route, validated

AVAILABLE_REALMS = {
    "NexusAuthenticatingRealm", "DockerToken", "NpmToken", "NuGetApiKey", "LdapRealm", "rutauth-realm",
    "ConanToken", "User-Token-Realm",
}
BUILTIN_PRIVILEGES = {
    "nx-all", "nx-search-read", "nx-healthcheck-read", "nx-repository-view-*-*-*",
    "nx-repository-view-*-*-read", "nx-repository-view-*-*-browse",
    "nx-metrics-all",  # Nexus's application privilege for /service/metrics/*
}
REPOSITORY_ACTIONS = ("add", "browse", "delete", "edit", "read", "*")
BUILTIN_ROLES = {
    "nx-admin": {"id": "nx-admin", "name": "nx-admin", "description": "Administrator Role",
                 "privileges": ["nx-all"], "roles": [], "source": "default", "readOnly": True},
    # Nexus's own anonymous role: browse and read of every repository, and search.
    "nx-anonymous": {"id": "nx-anonymous", "name": "nx-anonymous", "description": "Anonymous Role",
                     "privileges": ["nx-healthcheck-read", "nx-search-read", "nx-repository-view-*-*-browse",
                                    "nx-repository-view-*-*-read"],
                     "roles": [], "source": "default", "readOnly": True},
}


@dataclass
class SecurityApi(Recorder):
    admin_password: str = "generated-0f3c"
    realms: list[str] = field(default_factory=lambda: ["NexusAuthenticatingRealm", "NpmToken"])
    anonymous: dict[str, Any] = field(
        default_factory=lambda: {"enabled": False, "userId": "anonymous", "realmName": "NexusAuthorizingRealm"}
    )
    roles: dict[str, dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(BUILTIN_ROLES))
    users: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        "anonymous": {"userId": "anonymous", "firstName": "Anonymous", "lastName": "User",
                      "emailAddress": "anonymous@example.org", "source": "default", "status": "active",
                      "readOnly": False, "roles": ["nx-anonymous"], "externalRoles": []},
    })
    passwords: dict[str, str] = field(default_factory=dict)  # users other than admin
    ssrf_api: bool = True
    # What Nexus 3.93 answers before anyone configured it: on, nothing allowed.
    ssrf_protection: dict[str, Any] = field(
        default_factory=lambda: {"enabled": True, "allowedDomains": [], "allowedIPs": []}
    )

    ROUTES = (
        route(r"/v1/security/users", "_list_users", "GET"),
        route(r"/v1/security/users", "_create_user", "POST"),
        route(r"/v1/security/users/([^/]+)(/change-password)?", "_user"),
        route(r"/v1/security/roles", "_create_role", "POST"),
        route(r"/v1/security/roles/([^/]+)", "_role"),
        route(r"/v1/security/realms/active", "_get_realms", "GET"),
        route(r"/v1/security/realms/active", "_put_realms", "PUT"),
        route(r"/v1/security/anonymous", "_get_anonymous", "GET"),
        route(r"/v1/security/anonymous", "_put_anonymous", "PUT"),
        route(r"/v1/security/ssrf-protection", "_get_ssrf", "GET"),
        route(r"/v1/security/ssrf-protection", "_put_ssrf", "PUT"),
    )

    # -- who is calling, and what they may do --------------------------------------

    def _caller(self, headers: dict[str, str]) -> str | None:
        """Who is asking: a user id, "anonymous" (no credentials, anonymous access on), or None (401)."""
        value = header(headers, "authorization")
        if not value:
            return "anonymous" if self.anonymous.get("enabled") else None
        if not value.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
        if user == "admin":
            return "admin" if password == self.admin_password else None
        known = self.users.get(user)
        if known is None or user == "anonymous" or known["status"] != "active" or self.passwords.get(user) != password:
            return None
        return user

    def privileges_of(self, user: str) -> set[str]:
        if user == "admin":
            return {"nx-all"}
        granted: set[str] = set()
        pending = list(self.users[user]["roles"])
        seen: set[str] = set()
        while pending:
            role = pending.pop()
            if role in seen or role not in self.roles:
                continue
            seen.add(role)
            granted |= set(self.roles[role]["privileges"])
            pending += self.roles[role]["roles"]
        return granted

    def can(self, user: str, repository: str, action: str) -> bool:
        """Whether ``user`` holds ``action`` (read, browse, add, edit, delete) on ``repository``."""
        granted = self.privileges_of(user)
        if "nx-all" in granted:
            return True
        format_ = self.repositories[repository][0]
        return any(f"nx-repository-view-{f}-{r}-{a}" in granted
                   for f in (format_, "*") for r in (repository, "*") for a in (action, "*"))

    def existing_privileges(self) -> set[str]:
        return BUILTIN_PRIVILEGES | {f"nx-repository-view-{fmt}-{name}-{action}"
                                     for name, (fmt, _, _) in self.repositories.items()
                                     for action in REPOSITORY_ACTIONS}

    # -- users ---------------------------------------------------------------------

    def _admin_user(self) -> dict[str, Any]:
        return {"userId": "admin", "firstName": "Administrator", "lastName": "User", "source": "default",
                "status": "active", "readOnly": False, "roles": ["nx-admin"], "externalRoles": [],
                "emailAddress": "admin@example.org"}

    def _list_users(self, request: Request) -> Answer:
        if request.param("source", "default") != "default":
            return 200, []
        prefix = request.param("userId")
        everyone = {"admin": self._admin_user(), **self.users}
        # Nexus matches userId as a prefix ("An optional term to search userids for").
        return 200, [copy.deepcopy(u) for uid, u in sorted(everyone.items()) if uid.startswith(prefix)]

    def _create_user(self, request: Request) -> Answer:
        user = validated(ApiCreateUser, request.json())
        if user["userId"] in self.users or user["userId"] == "admin":
            raise BadRequest(f"user {user['userId']} already exists")
        self._check_roles(user.get("roles") or [])
        password = user.pop("password")
        self.users[user["userId"]] = {**user, "source": "default", "readOnly": False, "externalRoles": []}
        self.passwords[user["userId"]] = password
        self._write(request.method, request.path)
        return 200, copy.deepcopy(self.users[user["userId"]])

    def _user(self, request: Request) -> Answer:
        method, path, body = request.method, request.path, request.body
        user_id, change_password = request.groups
        if change_password and method == "PUT":
            content_type = header(request.headers, "content-type")
            if not content_type.startswith("text/plain"):
                raise BadRequest(f"change-password needs Content-Type text/plain, got {content_type!r}")
            if not body:
                raise BadRequest("empty password")
            if user_id == "admin":
                self.admin_password = body.decode()
            elif user_id in self.users and user_id != "anonymous":
                self.passwords[user_id] = body.decode()
            else:
                return 404, None
            self._write(method, path)
            return 204, None
        if user_id not in self.users:
            return 404, None
        if method == "PUT" and not change_password:
            user = validated(ApiUser, request.json())
            if user["userId"] != user_id:
                raise BadRequest("the userId in the body does not match the path")
            self._check_roles(user.get("roles") or [])
            self.users[user_id] = {**self.users[user_id], **user}
            self._write(method, path)
            return 204, None
        if method == "DELETE" and not change_password:
            if user_id == "anonymous":
                raise BadRequest("the anonymous user cannot be deleted")
            del self.users[user_id]
            self.passwords.pop(user_id, None)
            self._write(method, path)
            return 204, None
        return 405, None

    # -- roles ---------------------------------------------------------------------

    def _check_roles(self, roles: list[str]) -> None:
        unknown = [role for role in roles if role not in self.roles]
        if unknown:
            raise BadRequest(f"unknown roles {unknown}")

    def _check_role(self, role: dict[str, Any]) -> None:
        unknown = sorted(set(role.get("privileges") or []) - self.existing_privileges())
        if unknown:
            raise BadRequest(f"privileges do not exist: {unknown}")
        self._check_roles(role.get("roles") or [])

    def _create_role(self, request: Request) -> Answer:
        role = validated(RoleXORequest, request.json())
        if role["id"] in self.roles:
            raise BadRequest(f"role {role['id']} already exists")
        self._check_role(role)
        self.roles[role["id"]] = {"roles": [], "privileges": [], **role, "source": "default", "readOnly": False}
        self._write(request.method, request.path)
        return 200, copy.deepcopy(self.roles[role["id"]])

    def _role(self, request: Request) -> Answer:
        (role_id,) = request.groups
        if role_id not in self.roles:
            return 404, None
        if request.method == "GET":
            return 200, copy.deepcopy(self.roles[role_id])
        if request.method == "PUT":
            role = validated(RoleXORequest, request.json())
            if role["id"] != role_id or self.roles[role_id]["readOnly"]:
                raise BadRequest(f"role {role_id} cannot be changed this way")
            self._check_role(role)
            self.roles[role_id] = {"roles": [], "privileges": [], **role, "source": "default", "readOnly": False}
            self._write(request.method, request.path)
            return 204, None
        return 404, None

    # -- realms, anonymous access, SSRF protection ---------------------------------

    def _get_realms(self, _request: Request) -> Answer:
        return 200, list(self.realms)

    def _put_realms(self, request: Request) -> Answer:
        realms = request.json()
        if not isinstance(realms, list) or not all(isinstance(r, str) for r in realms):
            raise BadRequest("realms must be a list of names")
        unknown = set(realms) - AVAILABLE_REALMS
        if unknown or len(set(realms)) != len(realms):
            raise BadRequest(f"unknown or duplicate realms: {realms}")
        self.realms = realms
        self._write(request.method, request.path)
        return 204, None

    def _get_anonymous(self, _request: Request) -> Answer:
        return 200, dict(self.anonymous)

    def _put_anonymous(self, request: Request) -> Answer:
        self.anonymous = validated(AnonymousAccessSettingsXO, request.json())
        self._write(request.method, request.path)
        return 200, dict(self.anonymous)

    def _get_ssrf(self, _request: Request) -> Answer:
        if not self.ssrf_api:
            return 404, None
        return 200, copy.deepcopy(self.ssrf_protection)

    def _put_ssrf(self, request: Request) -> Answer:
        if not self.ssrf_api:
            return 404, None
        self.ssrf_protection = validated(SsrfProtectionConfigurationXO, request.json())
        self._write(request.method, request.path)
        return 204, None
