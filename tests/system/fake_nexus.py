"""A small fake Nexus 3 REST API for running the real bootstrap script against.

Implements only the endpoints ``nexus-bootstrap.sh`` and ``nexus-container.sh``
use, on 127.0.0.1 and a random port, with Nexus's behaviour where it matters:

- basic auth checked against the *current* admin password (401 otherwise);
- ``change-password`` demands ``Content-Type: text/plain``;
- every JSON body is validated with the models of ``nexus-api-client`` (generated
  from Nexus's OpenAPI spec) and, stricter than ``from_dict``, must round-trip
  through the model unchanged, so an unknown or misspelt key is a 400;
- the EULA can only be accepted by sending back Nexus's own disclaimer;
- repository GETs return what Nexus returns: the stored config plus fields we
  never send (``format``, ``url``, nulls) and without the upstream password;
- groups need existing members, and connector ports must be unique;
- security as Nexus models it: roles (``RoleXORequest``) may name only privileges
  that exist (built-in ones, and the ``nx-repository-view-<format>-<repo>-<action>``
  set each repository brings), users (``ApiCreateUser``/``ApiUser``) only roles
  that exist; ``GET /v1/security/users?userId=`` is a prefix search; any active user
  with the right password authenticates; a wrong one is a 401 even where
  anonymous access would do; anonymous access uses the ``anonymous`` user's roles
  (``nx-anonymous`` at first, which reads and browses every repository);
- ``GET /v1/repositories`` and ``GET /v1/search?repository=`` answer what the caller
  may browse (``GET /v1/repositories`` as ``RepositoryXO``: name, format, type, url,
  attributes), and a group shows what its members hold (``components`` seeds content);
- storage lifecycle as Nexus has it: ``/v1/cleanup-policies`` is Pro only (404 on the
  Community Edition unless ``cleanup_public_api``), ``/internal/cleanup-policies`` is
  what the CE UI uses; a repository may name a policy that does not exist (Nexus
  accepts it and silently cleans nothing, so the fake records it in ``errors``);
- tasks: ``GET /v1/tasks`` pages TaskXO, ``POST`` takes TaskTemplateXO of an exposed
  type only (``repository.cleanup`` is not: Nexus creates "Cleanup service" at boot,
  at ``0 0 1 * * ?``), ``PUT /v1/tasks/{id}`` UpdateTaskTemplateXO, ``run``; running
  ``h2.backup.task`` writes ``nexus-<timestamp>.zip`` under ``data_dir``;
- file blob stores with a soft quota (limit in bytes, as Nexus stores it), their usage
  and quota status; ``/v1/status/check`` and the usage history of 3.94+ (``usage_api``).
- a repository keeps the blob store it was created in;
- SSRF protection (3.92+; ``ssrf_api=False`` plays an older Nexus) validated with
  ``SsrfProtectionConfigurationXO``;
- ``/upstream/<name>`` (outside the REST API, no auth) plays the proxies' upstreams
  for the bootstrap's upstream check, answering ``upstream_status[name]`` (200 by
  default), so no test request ever leaves loopback.

Every write is recorded in ``writes`` so tests can assert "the second run writes
nothing"; every request body is kept in ``bodies``.

Also here, the test set-up shared by the Nexus script tests: settings variants
with test secrets, and ``BootstrapHost``, which lays the bootstrap's files under a
temporary root (the scripts take every location from the environment, so they
run unmodified with real bash, curl and jq) and wraps ``curl``/``jq`` to record
every argument vector, so tests can prove a secret never is on a command line.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from nexus_api_client.models.anonymous_access_settings_xo import AnonymousAccessSettingsXO
from nexus_api_client.models.api_create_user import ApiCreateUser
from nexus_api_client.models.api_user import ApiUser
from nexus_api_client.models.cleanup_policy_resource_xo import CleanupPolicyResourceXO
from nexus_api_client.models.docker_group_repository_api_request import DockerGroupRepositoryApiRequest
from nexus_api_client.models.docker_hosted_repository_api_request import DockerHostedRepositoryApiRequest
from nexus_api_client.models.docker_proxy_repository_api_request import DockerProxyRepositoryApiRequest
from nexus_api_client.models.eula_status import EulaStatus
from nexus_api_client.models.file_blob_store_api_update_request import FileBlobStoreApiUpdateRequest
from nexus_api_client.models.generic_blob_store_api_response import GenericBlobStoreApiResponse
from nexus_api_client.models.page_task_xo import PageTaskXO
from nexus_api_client.models.pypi_proxy_repository_api_request import PypiProxyRepositoryApiRequest
from nexus_api_client.models.repository_xo import RepositoryXO
from nexus_api_client.models.role_xo_request import RoleXORequest
from nexus_api_client.models.ssrf_protection_configuration_xo import SsrfProtectionConfigurationXO
from nexus_api_client.models.task_template_xo import TaskTemplateXO
from nexus_api_client.models.task_xo import TaskXO
from nexus_api_client.models.update_task_template_xo import UpdateTaskTemplateXO
from nexus_api_client.models.yum_proxy_repository_api_request import YumProxyRepositoryApiRequest

try:  # typed from nexus-api-client 3.94 on; 3.93 documents /v1/usage-history without a schema
    from nexus_api_client.models.usage_history_xo import UsageHistoryXO
except ImportError:  # pragma: no cover - depends on the pinned client
    UsageHistoryXO = None

from components import settings as stack_settings
from components.render import nexus as render
from components.render.bundle import HostFile
from tests.system.fake_nexus_components import DockerContent

REQUEST_MODELS = {
    ("docker", "proxy"): DockerProxyRepositoryApiRequest,
    ("docker", "hosted"): DockerHostedRepositoryApiRequest,
    ("docker", "group"): DockerGroupRepositoryApiRequest,
    ("pypi", "proxy"): PypiProxyRepositoryApiRequest,
    ("yum", "proxy"): YumProxyRepositoryApiRequest,
}
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
# Task types a REST client may create, with the properties each descriptor declares (nexus-public
# task descriptors; the Docker plugin's from its UI form), and the ones Nexus keeps to itself.
EXPOSED_TASK_TYPES = {
    "repository.docker.gc": ({"repositoryName"}, {"deployOffset"}),
    "repository.docker.upload-purge": (set(), {"age"}),
    "blobstore.compact": ({"blobstoreName"}, {"blobsOlderThan"}),
    "h2.backup.task": ({"location"}, set()),
    "tasklog.cleanup": (set(), {"cleanupAge"}),
}
NOT_EXPOSED_TASK_TYPES = {"repository.cleanup": "Admin - Cleanup repositories using their associated policies"}
CLEANUP_FORMATS = {"*", "docker", "pypi", "yum", "maven2", "npm", "raw", "helm", "nuget"}
DISCLAIMER = "Use of Sonatype Nexus Repository - Community Edition is governed by the End User License Agreement."
REST = "/service/rest"
ROOT = Path(__file__).resolve().parents[2]  # the repository (no tests.harness import: the stand-in image runs this)


class BadRequest(Exception):
    pass


def validated(model: type, body: Any) -> dict[str, Any]:
    """Validate ``body`` with a generated model and insist it round-trips unchanged (no unknown keys)."""
    if not isinstance(body, dict):
        raise BadRequest(f"expected a JSON object for {model.__name__}")
    try:
        parsed = model.from_dict(body)
    except Exception as error:  # pydantic ValidationError and friends
        raise BadRequest(f"{model.__name__}: {error}") from None
    if parsed.to_dict() != body:
        raise BadRequest(f"{model.__name__}: unknown or mistyped keys: {body} != {parsed.to_dict()}")
    return body


@dataclass
class FakeNexus:
    admin_password: str = "generated-0f3c"
    eula_api: bool = True
    eula_accepted: bool = False
    writable: bool = True
    realms: list[str] = field(default_factory=lambda: ["NexusAuthenticatingRealm", "NpmToken"])
    anonymous: dict[str, Any] = field(
        default_factory=lambda: {"enabled": False, "userId": "anonymous", "realmName": "NexusAuthorizingRealm"}
    )
    repositories: dict[str, tuple[str, str, dict[str, Any]]] = field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(BUILTIN_ROLES))
    users: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        "anonymous": {"userId": "anonymous", "firstName": "Anonymous", "lastName": "User",
                      "emailAddress": "anonymous@example.org", "source": "default", "status": "active",
                      "readOnly": False, "roles": ["nx-anonymous"], "externalRoles": []},
    })
    passwords: dict[str, str] = field(default_factory=dict)  # users other than admin
    components: dict[str, list[str]] = field(default_factory=dict)  # repository -> component names
    docker_content: DockerContent = field(default_factory=DockerContent)  # /v1/components, manifests
    server_header: str = "Nexus/3.86.2-01 (COMMUNITY)"
    cleanup_public_api: bool = False  # True: a Pro licence (the public cleanup-policy API answers)
    cleanup_public_writes: bool = True  # False: the public API lists, but writing needs a licence (402)
    cleanup_task_updatable: bool = True
    cleanup_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    blob_stores: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {"default": {"path": "default", "softQuota": None}})
    blob_store_used_bytes: int = 3 * 1024**3
    blob_store_available_bytes: int = 40 * 1024**3
    blob_count: int = 1234
    data_dir: Path | None = None  # where h2.backup.task writes (the container's /nexus-data)
    usage_api: bool = True
    daily_requests: list[int] = field(default_factory=lambda: [1200, 1500, 900])
    daily_components: list[int] = field(default_factory=lambda: [5000, 5100, 5200])
    health: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        "Blob Stores": {"healthy": True, "message": None},
        "Read-Only Detector": {"healthy": True, "message": "Nexus is writable"},
    })
    ssrf_api: bool = True
    # What Nexus 3.93 answers before anyone configured it: on, nothing allowed.
    ssrf_protection: dict[str, Any] = field(
        default_factory=lambda: {"enabled": True, "allowedDomains": [], "allowedIPs": []}
    )
    upstream_status: dict[str, int] = field(default_factory=dict)
    # True: admin authenticates but lacks privileges (its nx-admin role removed): Nexus answers 403.
    admin_forbidden: bool = False
    upstream_requests: list[str] = field(default_factory=list)
    writes: list[tuple[str, str]] = field(default_factory=list)
    bodies: list[tuple[str, str, bytes]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_task_id: int = 1

    def __post_init__(self) -> None:
        # What Nexus has on a fresh start: CleanupBootService's task and the task log cleanup.
        if not self.tasks:
            self._add_task("repository.cleanup", "Cleanup service", "0 0 1 * * ?", {}, None)
            self._add_task("tasklog.cleanup", "Cleanup tasks logs", "0 0 0 * * ?", {"cleanupAge": "30"}, None)

    def _add_task(self, type_: str, name: str, cron: str, properties: dict[str, str], offset: str | None) -> str:
        task_id = f"0f7c2b1e-{self.next_task_id:04d}"
        self.next_task_id += 1
        self.tasks[task_id] = {"id": task_id, "name": name, "type": type_, "enabled": True,
                               "notificationCondition": "FAILURE", "schedule": "cron", "cronExpression": cron,
                               "timeZoneOffset": offset, "properties": dict(properties), "runs": 0,
                               "lastRunResult": None}
        return task_id

    # -- serving ---------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeNexus:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):  # keep test output quiet
                pass

            def version_string(self):  # Nexus names its release and edition in every answer
                return fake.server_header

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake.lock:
                    status, payload = fake.handle(self.command, self.path, dict(self.headers), body)
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                if status == 401:
                    self.send_header("WWW-Authenticate", 'BASIC realm="Sonatype Nexus Repository Manager"')
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- behaviour -------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes):
        split = urlsplit(raw_path)
        path, query = split.path, parse_qs(split.query)
        if path.startswith("/upstream/"):
            name = path.removeprefix("/upstream/").split("/")[0]
            self.upstream_requests.append(path)
            return self.upstream_status.get(name, 200), None
        if path.startswith("/repository/") and method == "GET":  # what a docker repository serves
            return self.docker_content.manifest(path) if self._caller(headers) == "admin" else (401, None)
        if not path.startswith(REST):
            return 404, None
        path = path[len(REST):]
        if method != "GET":
            self.bodies.append((method, path, body))
        if path == "/v1/status/writable" and method == "GET":
            return (200, None) if self.writable else (503, None)
        if path == "/v1/status" and method == "GET":  # readable: anonymous, as in Nexus
            return 200, None
        caller = self._caller(headers)
        if caller is None:
            return 401, None
        if caller != "admin":
            return self._as_user(caller, method, path, query)
        if self.admin_forbidden:
            return 403, None
        try:
            return self._route(method, path, query, headers, body)
        except BadRequest as error:
            self.errors.append(f"{method} {path}: {error}")
            return 400, [{"id": "*", "message": str(error)}]

    def _caller(self, headers: dict[str, str]) -> str | None:
        """Who is asking: a user id, "anonymous" (no credentials, anonymous access on), or None (401)."""
        value = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
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

    # -- permissions, as Nexus evaluates repository-view privileges ---------------

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

    def content(self, repository: str) -> list[str]:
        """What a repository shows: its own components, or for a group its members' (Nexus group reads)."""
        format_, type_, payload = self.repositories[repository]
        if type_ == "group":
            return [c for member in payload["group"]["memberNames"] for c in self.content(member)]
        return list(self.components.get(repository, []))

    def _as_user(self, user: str, method: str, path: str, query: dict):
        """What a non-admin caller may do here: list and search what it may browse; nothing else."""
        if method == "GET" and path == "/v1/repositories":
            listed = [self._listed(name, *stored) for name, stored in sorted(self.repositories.items())
                      if self.can(user, name, "browse")]
            for entry in listed:
                validated(RepositoryXO, entry)
            return 200, listed
        if method == "GET" and path == "/v1/search":
            if "nx-search-read" not in self.privileges_of(user) and user != "admin":
                return 403, None
            names = query.get("repository") or list(self.repositories)
            items = [{"repository": name, "name": component} for name in names
                     if name in self.repositories and self.can(user, name, "browse")
                     for component in self.content(name)]
            return 200, {"items": items, "continuationToken": None}
        return 403, None

    def existing_privileges(self) -> set[str]:
        return BUILTIN_PRIVILEGES | {f"nx-repository-view-{fmt}-{name}-{action}"
                                     for name, (fmt, _, _) in self.repositories.items()
                                     for action in REPOSITORY_ACTIONS}

    def _json(self, headers: dict[str, str], body: bytes) -> Any:
        content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        if not content_type.startswith("application/json"):
            raise BadRequest(f"Content-Type must be application/json, got {content_type!r}")
        try:
            return json.loads(body)
        except json.JSONDecodeError as error:
            raise BadRequest(f"invalid JSON: {error}") from None

    def _write(self, method: str, path: str) -> None:
        self.writes.append((method, path))

    def _route(self, method: str, path: str, query: dict, headers: dict[str, str], body: bytes):
        if path.startswith("/v1/security/users") or path.startswith("/v1/security/roles"):
            return self._security(method, path, query, headers, body)
        if path.startswith("/v1/components"):
            answer = self.docker_content.route(method, path, query, self.repositories)
            if answer is not None:
                if method != "GET":
                    self._write(method, path)
                return answer
        if path == "/v1/system/eula":
            if not self.eula_api:
                return 404, None
            if method == "GET":
                return 200, {"accepted": self.eula_accepted, "disclaimer": DISCLAIMER}
            if method == "POST":
                status = validated(EulaStatus, self._json(headers, body))
                if status.get("disclaimer") != DISCLAIMER:
                    raise BadRequest("the disclaimer must be sent back unchanged")
                self.eula_accepted = bool(status.get("accepted"))
                self._write(method, path)
                return 204, None
        if path == "/v1/security/realms/active":
            if method == "GET":
                return 200, list(self.realms)
            if method == "PUT":
                realms = self._json(headers, body)
                if not isinstance(realms, list) or not all(isinstance(r, str) for r in realms):
                    raise BadRequest("realms must be a list of names")
                unknown = set(realms) - AVAILABLE_REALMS
                if unknown or len(set(realms)) != len(realms):
                    raise BadRequest(f"unknown or duplicate realms: {realms}")
                self.realms = realms
                self._write(method, path)
                return 204, None
        if path == "/v1/security/anonymous":
            if method == "GET":
                return 200, dict(self.anonymous)
            if method == "PUT":
                self.anonymous = validated(AnonymousAccessSettingsXO, self._json(headers, body))
                self._write(method, path)
                return 200, dict(self.anonymous)
        if path in ("/v1/repositories", "/v1/search") and method == "GET":
            return self._as_user("admin", method, path, query)
        if path == "/v1/security/ssrf-protection":
            if not self.ssrf_api:
                return 404, None
            if method == "GET":
                return 200, copy.deepcopy(self.ssrf_protection)
            if method == "PUT":
                self.ssrf_protection = validated(SsrfProtectionConfigurationXO, self._json(headers, body))
                self._write(method, path)
                return 204, None
        match = re.fullmatch(r"/v1/repositories/([a-z]+)/([a-z]+)(?:/([^/]+))?", path)
        if match:
            return self._repository(method, path, match.group(1), match.group(2), match.group(3), headers, body)
        match = re.fullmatch(r"/(v1|internal)/cleanup-policies(?:/([^/]+))?", path)
        if match:
            if match.group(1) == "v1" and not self.cleanup_public_api:
                return 404, None
            if match.group(1) == "v1" and method != "GET" and not self.cleanup_public_writes:
                return 402, {"message": "This feature requires a Sonatype Nexus Repository Pro license"}
            return self._cleanup_policy(method, path, match.group(1), match.group(2), headers, body)
        match = re.fullmatch(r"/v1/tasks(?:/([^/]+))?(/run)?", path)
        if match:
            return self._task(method, path, match.group(1), bool(match.group(2)), query, headers, body)
        if path == "/v1/blobstores" and method == "GET":
            return 200, [self._blob_store_summary(name) for name in self.blob_stores]
        match = re.fullmatch(r"/v1/blobstores/file/([^/]+)", path)
        if match:
            return self._file_blob_store(method, path, match.group(1), headers, body)
        match = re.fullmatch(r"/v1/blobstores/([^/]+)/quota-status", path)
        if match and method == "GET":
            return self._quota_status(match.group(1))
        if path == "/v1/status/check" and method == "GET":
            return 200, copy.deepcopy(self.health)  # 3.x: a map of check name to result
        if path == "/v1/usage-history" and method == "GET":
            if not self.usage_api:
                return 404, None
            metric, period = query.get("metric", [""])[0], query.get("period", [""])[0]
            if metric not in ("requests", "components") or period not in ("daily", "monthly"):
                return 400, None
            values = self.daily_requests if metric == "requests" else self.daily_components
            points = [{"date": f"2026-11-{29 - len(values) + 1 + index:02d}", "value": value}
                      for index, value in enumerate(values)]
            answer = {"metric": metric, "period": period, "data": points}
            if UsageHistoryXO is not None:
                UsageHistoryXO.from_dict(answer)
            return 200, answer
        return 404, None

    def _admin_user(self) -> dict[str, Any]:
        return {"userId": "admin", "firstName": "Administrator", "lastName": "User", "source": "default",
                "status": "active", "readOnly": False, "roles": ["nx-admin"], "externalRoles": [],
                "emailAddress": "admin@example.org"}

    def _check_roles(self, roles: list[str]) -> None:
        unknown = [role for role in roles if role not in self.roles]
        if unknown:
            raise BadRequest(f"unknown roles {unknown}")

    def _security(self, method, path, query, headers, body):
        if path == "/v1/security/users" and method == "GET":
            if query.get("source", ["default"])[0] != "default":
                return 200, []
            prefix = query.get("userId", [""])[0]
            everyone = {"admin": self._admin_user(), **self.users}
            # Nexus matches userId as a prefix ("An optional term to search userids for").
            return 200, [copy.deepcopy(u) for uid, u in sorted(everyone.items()) if uid.startswith(prefix)]
        if path == "/v1/security/users" and method == "POST":
            user = validated(ApiCreateUser, self._json(headers, body))
            if user["userId"] in self.users or user["userId"] == "admin":
                raise BadRequest(f"user {user['userId']} already exists")
            self._check_roles(user.get("roles") or [])
            password = user.pop("password")
            self.users[user["userId"]] = {**user, "source": "default", "readOnly": False, "externalRoles": []}
            self.passwords[user["userId"]] = password
            self._write(method, path)
            return 200, copy.deepcopy(self.users[user["userId"]])
        match = re.fullmatch(r"/v1/security/users/([^/]+)(/change-password)?", path)
        if match:
            user_id, change_password = match.group(1), match.group(2)
            if change_password and method == "PUT":
                content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
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
                user = validated(ApiUser, self._json(headers, body))
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
        if path == "/v1/security/roles" and method == "POST":
            role = validated(RoleXORequest, self._json(headers, body))
            if role["id"] in self.roles:
                raise BadRequest(f"role {role['id']} already exists")
            self._check_role(role)
            self.roles[role["id"]] = {"roles": [], "privileges": [], **role, "source": "default", "readOnly": False}
            self._write(method, path)
            return 200, copy.deepcopy(self.roles[role["id"]])
        match = re.fullmatch(r"/v1/security/roles/([^/]+)", path)
        if match:
            role_id = match.group(1)
            if role_id not in self.roles:
                return 404, None
            if method == "GET":
                return 200, copy.deepcopy(self.roles[role_id])
            if method == "PUT":
                role = validated(RoleXORequest, self._json(headers, body))
                if role["id"] != role_id or self.roles[role_id]["readOnly"]:
                    raise BadRequest(f"role {role_id} cannot be changed this way")
                self._check_role(role)
                self.roles[role_id] = {"roles": [], "privileges": [], **role, "source": "default", "readOnly": False}
                self._write(method, path)
                return 204, None
        return 404, None

    def _check_role(self, role: dict[str, Any]) -> None:
        unknown = sorted(set(role.get("privileges") or []) - self.existing_privileges())
        if unknown:
            raise BadRequest(f"privileges do not exist: {unknown}")
        self._check_roles(role.get("roles") or [])
    # -- storage lifecycle ------------------------------------------------------

    def _cleanup_policy(self, method, path, api, name, headers, body):
        if method == "GET" and not name:
            return 200, [self._policy_as_returned(policy) for _, policy in sorted(self.cleanup_policies.items())]
        if method == "GET":
            policy = self.cleanup_policies.get(name)
            return (200, self._policy_as_returned(policy)) if policy else (404, None)
        if method == "DELETE" and name:
            if name not in self.cleanup_policies:
                return 404, None
            del self.cleanup_policies[name]
            self._write(method, path)
            return 204, None
        if method in ("POST", "PUT"):
            payload = validated(CleanupPolicyResourceXO, self._json(headers, body))
            if payload["format"] not in CLEANUP_FORMATS:
                raise BadRequest(f"specified format {payload['format']} is not valid.")
            if not any(key.startswith("criteria") or key == "retain" for key in payload):
                raise BadRequest("at least one criterion is required")
            if method == "POST" and not name:
                if payload["name"] in self.cleanup_policies:
                    return (409, None) if api == "v1" else (400, [{"id": "name", "message": "Name is not unique"}])
                self.cleanup_policies[payload["name"]] = payload
                self._write(method, path)
                return (201, None) if api == "v1" else (200, self._policy_as_returned(payload))
            if method == "PUT" and name:
                if name not in self.cleanup_policies:
                    return 404, None
                self.cleanup_policies[name] = {**payload, "name": name}
                self._write(method, path)
                return (204, None) if api == "v1" else (200, self._policy_as_returned(self.cleanup_policies[name]))
        return 405, None

    def _policy_as_returned(self, policy: dict[str, Any]) -> dict[str, Any]:
        """CleanupPolicyXO: every criterion, null when unset, plus how many repositories use it."""
        result = {key: None for key in ("notes", "criteriaLastBlobUpdated", "criteriaLastDownloaded",
                                         "criteriaReleaseType", "criteriaAssetRegex", "retain", "sortBy")}
        result.update(policy)
        result["inUseCount"] = sum(1 for _, _, payload in self.repositories.values()
                                   if policy["name"] in (payload.get("cleanup") or {}).get("policyNames", []))
        return result

    def _task(self, method, path, task_id, run, query, headers, body):
        if method == "GET" and not task_id:
            wanted = query.get("type", [""])[0]
            items = [self._task_as_returned(task) for task in self.tasks.values()
                     if not wanted or task["type"] == wanted]
            page = {"items": items, "continuationToken": None}
            PageTaskXO.from_dict(page)
            return 200, page
        if method == "POST" and not task_id:
            payload = validated(TaskTemplateXO, self._json(headers, body))
            if payload["type"] in NOT_EXPOSED_TASK_TYPES:
                raise BadRequest(f"Task type {payload['type']} cannot be created")
            self._check_task(payload["type"], payload)
            new_id = self._add_task(payload["type"], payload["name"], "", {}, None)
            self._apply_task(self.tasks[new_id], payload)
            self._write(method, path)
            return 201, self._task_as_returned(self.tasks[new_id])
        task = self.tasks.get(task_id or "")
        if task is None:
            return 404, None
        if method == "GET" and not run:
            return 200, self._task_as_returned(task)
        if method == "PUT" and not run:
            payload = validated(UpdateTaskTemplateXO, self._json(headers, body))
            if task["type"] in NOT_EXPOSED_TASK_TYPES and not self.cleanup_task_updatable:
                raise BadRequest(f"Task type {task['type']} cannot be updated")
            if task["type"] in EXPOSED_TASK_TYPES:
                self._check_task(task["type"], payload)
            self._apply_task(task, payload)
            self._write(method, path)
            return 204, None
        if method == "DELETE" and not run:
            del self.tasks[task_id]
            self._write(method, path)
            return 204, None
        if method == "POST" and run:
            if not task["enabled"]:
                return 405, None
            self._run_task(task)
            return 204, None
        return 405, None

    def _check_task(self, type_: str, payload: dict[str, Any]) -> None:
        required, optional = EXPOSED_TASK_TYPES[type_]
        properties = payload.get("properties") or {}
        missing = required - set(properties)
        unknown = set(properties) - required - optional
        if missing or unknown:
            raise BadRequest(f"{type_}: missing properties {sorted(missing)}, unknown {sorted(unknown)}")
        frequency = payload["frequency"]
        if frequency["schedule"] == "cron":
            fields = (frequency.get("cronExpression") or "").split()
            if len(fields) not in (6, 7):
                raise BadRequest(f"invalid cron expression {frequency.get('cronExpression')!r}")
            offset = frequency.get("timeZoneOffset")
            if offset is not None and not re.fullmatch(r"[+-]\d{2}:\d{2}", offset):
                raise BadRequest(f"invalid timeZoneOffset {offset!r}")
        if type_ == "blobstore.compact" and properties["blobstoreName"] not in self.blob_stores:
            raise BadRequest(f"blob store {properties['blobstoreName']} does not exist")
        if type_ == "repository.docker.gc" and properties["repositoryName"] not in {
                name for name, (fmt, _, _) in self.repositories.items() if fmt == "docker"} | {"*"}:
            raise BadRequest(f"docker repository {properties['repositoryName']} does not exist")

    def _apply_task(self, task: dict[str, Any], payload: dict[str, Any]) -> None:
        frequency = payload["frequency"]
        task.update(name=payload["name"], enabled=payload["enabled"],
                    notificationCondition=payload["notificationCondition"], schedule=frequency["schedule"],
                    cronExpression=frequency.get("cronExpression"), timeZoneOffset=frequency.get("timeZoneOffset"))
        if "properties" in payload:
            task["properties"] = dict(payload["properties"])

    def _run_task(self, task: dict[str, Any]) -> None:
        task["runs"] += 1
        task["lastRunResult"] = "OK"
        if task["type"] == "h2.backup.task":
            location = task["properties"]["location"]
            assert self.data_dir is not None, "a fake that runs h2.backup.task needs data_dir"
            target = self.data_dir / location.removeprefix("/nexus-data/")
            target.mkdir(parents=True, exist_ok=True)
            name = self.database_backup_name(task["runs"])
            if (target / name).exists():
                task["lastRunResult"] = "FAILED"
                return
            self.write_database_backup(target / name)

    def database_backup_name(self, run: int) -> str:
        return f"nexus-2026-11-29-10-00-{run:02d}.zip"

    def write_database_backup(self, path: Path) -> None:
        """What ``h2.backup.task`` writes (an empty zip here; the fresh host's stand-in zips its database)."""
        path.write_bytes(b"PK\x05\x06" + bytes(18))

    def _task_as_returned(self, task: dict[str, Any]) -> dict[str, Any]:
        result = {key: task[key] for key in ("id", "name", "type", "enabled", "notificationCondition", "schedule",
                                             "cronExpression", "timeZoneOffset", "properties", "lastRunResult")}
        result.update(currentState="WAITING", message=None, alertEmail=None,
                      typeName=NOT_EXPOSED_TASK_TYPES.get(task["type"], task["type"]),
                      lastRun="2026-11-29T10:00:00.000+00:00" if task["runs"] else None)
        TaskXO.from_dict(result)
        return result

    def _blob_store_summary(self, name: str) -> dict[str, Any]:
        summary = {"name": name, "type": "File", "unavailable": False, "blobCount": self.blob_count,
                   "totalSizeInBytes": self.blob_store_used_bytes,
                   "availableSpaceInBytes": self.blob_store_available_bytes,
                   "softQuota": self.blob_stores[name]["softQuota"]}
        GenericBlobStoreApiResponse.from_dict(summary)
        return summary

    def _file_blob_store(self, method, path, name, headers, body):
        store = self.blob_stores.get(name)
        if store is None:
            return 404, None
        if method == "GET":
            return 200, copy.deepcopy(store)
        if method == "PUT":
            payload = validated(FileBlobStoreApiUpdateRequest, self._json(headers, body))
            quota = payload.get("softQuota")
            if quota is not None:
                if quota["type"] not in ("spaceUsedQuota", "spaceRemainingQuota"):
                    raise BadRequest(f"unknown soft quota type {quota['type']}")
                if quota["type"] == "spaceUsedQuota" and not quota.get("limit"):
                    raise BadRequest("Space Used quotas must have a Quota Limit greater than 0")
            if payload["path"] != store["path"]:
                raise BadRequest("the path of a file blob store cannot change")
            self.blob_stores[name] = {"path": payload["path"], "softQuota": quota}
            self._write(method, path)
            return 204, None
        return 405, None

    def _quota_status(self, name: str):
        store = self.blob_stores.get(name)
        if store is None:
            return 404, None
        quota = store["softQuota"]
        if quota is None:
            return 200, {"blobStoreName": name, "isViolation": False, "message": f"Blob store {name} has no quota"}
        violation = self.blob_store_used_bytes > quota["limit"]
        message = (f"Blob store {name} is using {self.blob_store_used_bytes} bytes, "
                   f"{'more' if violation else 'less'} than its quota of {quota['limit']} bytes")
        return 200, {"blobStoreName": name, "isViolation": violation, "message": message}

    def _repository(self, method, path, format_, type_, name, headers, body):
        model = REQUEST_MODELS.get((format_, type_))
        if model is None:
            return 404, None
        if method == "GET" and name:
            stored = self.repositories.get(name)
            if stored is None or stored[:2] != (format_, type_):
                return 404, None
            return 200, self._as_returned(*stored)
        if method == "POST" and not name:
            payload = validated(model, self._json(headers, body))
            if payload["name"] in self.repositories:
                raise BadRequest(f"repository {payload['name']} already exists")
            self._check_repository(format_, type_, payload)
            self._check_cleanup_references(payload)
            self.repositories[payload["name"]] = (format_, type_, payload)
            self._write(method, path)
            return 201, None
        if method == "PUT" and name:
            payload = validated(model, self._json(headers, body))
            if name not in self.repositories or self.repositories[name][:2] != (format_, type_):
                return 404, None
            if payload["name"] != name:
                raise BadRequest("a repository cannot be renamed")
            stored_store = self.repositories[name][2].get("storage", {}).get("blobStoreName")
            if stored_store and payload.get("storage", {}).get("blobStoreName") != stored_store:
                raise BadRequest(f"blob store of {name} cannot be changed from {stored_store}")
            self._check_repository(format_, type_, payload)
            self._check_cleanup_references(payload)
            self.repositories[name] = (format_, type_, payload)
            self._write(method, path)
            return 204, None
        return 405, None

    def _check_repository(self, format_: str, type_: str, payload: dict[str, Any]) -> None:
        if format_ == "docker":
            if payload["name"] != payload["name"].lower():
                raise BadRequest("docker repository names must be lowercase")
            port = payload["docker"].get("httpPort")
            for other, (other_format, _, other_payload) in self.repositories.items():
                if other != payload["name"] and other_format == "docker" and port is not None \
                        and other_payload["docker"].get("httpPort") == port:
                    raise BadRequest(f"port {port} is already used by {other}")
        if type_ == "group":
            for member in payload["group"]["memberNames"]:
                if member not in self.repositories:
                    raise BadRequest(f"group member {member} does not exist")

    def _check_cleanup_references(self, payload: dict[str, Any]) -> None:
        """Nexus stores a policy name it does not know and then cleans nothing: a silent failure."""
        for policy in (payload.get("cleanup") or {}).get("policyNames", []):
            if policy not in self.cleanup_policies:
                self.errors.append(f"repository {payload['name']} refers to missing cleanup policy {policy}")

    def _listed(self, name: str, format_: str, type_: str, _payload: dict[str, Any]) -> dict[str, Any]:
        """An entry of ``GET /v1/repositories`` (RepositoryXO)."""
        return {"name": name, "format": format_, "type": type_,
                "url": f"http://127.0.0.1:8081/repository/{name}", "attributes": {}}

    def _as_returned(self, format_: str, type_: str, payload: dict[str, Any]) -> dict[str, Any]:
        """What Nexus's GET answers: more fields than we send, never the stored upstream password."""
        result = copy.deepcopy(payload)
        result.update({"format": format_, "type": type_, "url": f"http://127.0.0.1:8081/repository/{payload['name']}"})
        if format_ == "docker":
            result["docker"].setdefault("httpsPort", None)
            result["docker"].setdefault("subdomain", None)
            result["docker"].setdefault("pathEnabled", True)
        if "storage" in result:
            # Nexus stores the policy as its enum and answers with the enum's name, whatever case was sent.
            policy = result["storage"].get("writePolicy") or ("ALLOW" if type_ == "hosted" else None)
            result["storage"]["writePolicy"] = policy.upper() if policy else None
        if "httpClient" in result:
            result["httpClient"].setdefault("connection", None)
            authentication = result["httpClient"].get("authentication")
            if authentication:
                authentication.pop("password", None)
                authentication.setdefault("ntlmHost", None)
        if type_ == "proxy":
            result.setdefault("routingRuleName", None)
            result.setdefault("cleanup", None)
        return result


# --- test set-up shared by the Nexus script tests ---------------------------------

ADMIN_PASSWORD = "Configured-Admin-Pass-42"
DOCKER_HUB_TOKEN = "dckr_pat_Secret-Token-77"
USER_PASSWORDS = {"ci": "Ci-Push-Password-17"}


def make_settings(stack: str = "lab", nexus: dict[str, Any] | None = None, *, token: bool = False,
                  **top: Any) -> stack_settings.Settings:
    """A stack file's settings with real (test) secrets and overrides, validated like the program does."""
    # Imported here: the fresh-host stand-in image runs this module without the harness (or Pulumi).
    from tests.harness import stack_file_config

    config = stack_file_config(stack)
    prefix = stack_settings.NAMESPACE
    config[f"{prefix}:adminPassword"] = ADMIN_PASSWORD
    config[f"{prefix}:userPasswords"] = json.dumps(USER_PASSWORDS)
    config[f"{prefix}:sshPrivateKey"] = "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n"
    merged_nexus = dict(config.get(f"{prefix}:nexus") or {})
    merged_nexus.update(nexus or {})
    if token:
        merged_nexus.setdefault("dockerHubUsername", "team-bot")
        config[f"{prefix}:dockerHubToken"] = DOCKER_HUB_TOKEN
    config[f"{prefix}:nexus"] = merged_nexus
    for key, value in top.items():
        config[f"{prefix}:{key}"] = value
    return stack_settings.from_mapping(stack, config)


def install(root: Path, files: list[HostFile]) -> None:
    for host_file in files:
        target = root / host_file.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(host_file.content)
        target.chmod(int(host_file.mode, 8))


def wrap_tools(root: Path, names: tuple[str, ...] = ("curl", "jq")) -> tuple[Path, Path]:
    """A bin dir whose curl/jq log their argv to a file, then run the real tool."""
    bin_dir = root / "wrapped-bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    argv_log = root / "argv.log"
    for name in names:
        real = shutil.which(name)
        assert real, f"{name} is not installed; these tests never skip (apt-get install {name})"
        wrapper = bin_dir / name
        wrapper.write_text(
            "#!/usr/bin/env bash\n"
            f"printf '%s\\n' \"{name}\" \"$@\" >>'{argv_log}'\n"
            f"exec '{real}' \"$@\"\n"
        )
        wrapper.chmod(0o755)
    return bin_dir, argv_log


class BootstrapHost:
    """The bootstrap's files (and secrets) under ``root``, runnable against a fake Nexus."""

    def __init__(self, root: Path, settings: stack_settings.Settings, url: str):
        self.root = root
        self.url = url
        self.bin_dir, self.argv_log = wrap_tools(root)
        self.apply(settings)
        self.generated_password_file.parent.mkdir(parents=True, exist_ok=True)

    def path(self, host_path: str) -> Path:
        return self.root / host_path.lstrip("/")

    @property
    def generated_password_file(self) -> Path:
        return self.path(f"{render.DATA_DIR}/admin.password")

    @property
    def state_dir(self) -> Path:
        return self.path(render.STATE_DIR)

    def apply(self, settings: stack_settings.Settings) -> None:
        """What a bootstrap step's bundle does: install its files and its root-only secret files."""
        install(self.root, render.bootstrap_files(settings))
        secrets = [HostFile(render.ADMIN_PASSWORD_PATH, settings.admin_password.get_secret_value(), "0600")]
        secrets += [HostFile(path, settings.user_passwords[name].get_secret_value(), "0600")
                    for name, path in render.user_password_paths(settings).items()]
        if settings.docker_hub_token is not None:
            secrets.append(HostFile(render.DOCKER_HUB_TOKEN_PATH, settings.docker_hub_token.get_secret_value(), "0600"))
        else:
            self.path(render.DOCKER_HUB_TOKEN_PATH).unlink(missing_ok=True)
        install(self.root, secrets)

    @property
    def upstreams_file(self) -> Path:
        """The rendered upstream table with every probe sent to the fake's ``/upstream/<repository>``:
        the real upstreams are on the internet, and tests never leave loopback."""
        rendered = self.path(f"{render.CONFIG_DIR}/nexus/upstreams.tsv").read_text()
        local = self.root / "upstreams-loopback.tsv"
        lines = []
        for line in rendered.splitlines():
            repository, setting, _url = line.split("\t")
            lines.append(f"{repository}\t{setting}\t{self.url}/upstream/{repository}\n")
        local.write_text("".join(lines))
        return local

    def run(self, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
        environment = {
            **os.environ,
            "PATH": f"{self.bin_dir}:{os.environ['PATH']}",
            "NEXUS_URL": self.url,
            "NEXUS_CONFIG_DIR": str(self.path(render.CONFIG_DIR)),
            "NEXUS_SECRETS_DIR": str(self.path(render.SECRETS_DIR)),
            "NEXUS_STATE_DIR": str(self.state_dir),
            "NEXUS_GENERATED_PASSWORD_FILE": str(self.generated_password_file),
            "NEXUS_READY_TIMEOUT": "5",
            "NEXUS_READY_INTERVAL": "0.1",
            # No systemd in a test unless one asks for the stand-in (SYSTEMCTL, SYSTEMD_RUNTIME_DIR).
            "SYSTEMD_DIR": str(self.path("/etc/systemd/system")),
            "SYSTEMD_RUNTIME_DIR": str(self.root / "no-systemd"),
            "NEXUS_UPSTREAMS_FILE": str(self.upstreams_file),
            "NEXUS_UPSTREAM_TIMEOUT": "2",
            **env,
        }
        return subprocess.run(["bash", str(self.path(render.BOOTSTRAP_SCRIPT))], env=environment,
                              capture_output=True, text=True, timeout=timeout)

    def argv_text(self) -> str:
        return self.argv_log.read_text() if self.argv_log.exists() else ""
