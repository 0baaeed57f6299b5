"""Repositories as Nexus keeps them, what a caller may list and search, and docker content.

- every JSON body is validated with the models of ``nexus-api-client`` and must round-trip unchanged;
- repository GETs return what Nexus returns: the stored config plus fields we never send
  (``format``, ``url``, nulls) and without the upstream password;
- groups need existing members, connector ports must be unique, a repository keeps the blob store it
  was created in;
- ``GET /v1/repositories`` and ``GET /v1/search?repository=`` answer what the caller may browse
  (``GET /v1/repositories`` as ``RepositoryXO``: name, format, type, url, attributes), and a group
  shows what its members hold (``components`` seeds content);
- ``/v1/components`` and the manifests a docker repository serves: ``components.py``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from nexus_api_client.models.docker_group_repository_api_request import DockerGroupRepositoryApiRequest
from nexus_api_client.models.docker_hosted_repository_api_request import DockerHostedRepositoryApiRequest
from nexus_api_client.models.docker_proxy_repository_api_request import DockerProxyRepositoryApiRequest
from nexus_api_client.models.pypi_proxy_repository_api_request import PypiProxyRepositoryApiRequest
from nexus_api_client.models.repository_xo import RepositoryXO
from nexus_api_client.models.yum_proxy_repository_api_request import YumProxyRepositoryApiRequest

from tests.fakes.nexus.api import Answer, BadRequest, Recorder, Request, route, validated
from tests.fakes.nexus.components import DockerContent

REQUEST_MODELS = {
    ("docker", "proxy"): DockerProxyRepositoryApiRequest,
    ("docker", "hosted"): DockerHostedRepositoryApiRequest,
    ("docker", "group"): DockerGroupRepositoryApiRequest,
    ("pypi", "proxy"): PypiProxyRepositoryApiRequest,
    ("yum", "proxy"): YumProxyRepositoryApiRequest,
}


@dataclass
class RepositoriesApi(Recorder):
    repositories: dict[str, tuple[str, str, dict[str, Any]]] = field(default_factory=dict)
    components: dict[str, list[str]] = field(default_factory=dict)  # repository -> component names
    docker_content: DockerContent = field(default_factory=DockerContent)  # /v1/components, manifests

    ROUTES = (
        route(r"/v1/components.*", "_components"),
        route(r"/v1/repositories", "_admin_view", "GET"),
        route(r"/v1/search", "_admin_view", "GET"),
        route(r"/v1/repositories/([a-z]+)/([a-z]+)(?:/([^/]+))?", "_repository"),
    )

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

    def _admin_view(self, request: Request) -> Answer:
        return self._as_user("admin", request.method, request.path, request.query)

    def _components(self, request: Request) -> Answer:
        answer = self.docker_content.route(request.method, request.path, request.query, self.repositories)
        if answer is None:
            return 404, None
        if request.method != "GET":
            self._write(request.method, request.path)
        return answer

    def _repository(self, request: Request) -> Answer:
        method, path = request.method, request.path
        format_, type_, name = request.groups
        model = REQUEST_MODELS.get((format_, type_))
        if model is None:
            return 404, None
        if method == "GET" and name:
            stored = self.repositories.get(name)
            if stored is None or stored[:2] != (format_, type_):
                return 404, None
            return 200, self._as_returned(*stored)
        if method == "POST" and not name:
            payload = validated(model, request.json())
            if payload["name"] in self.repositories:
                raise BadRequest(f"repository {payload['name']} already exists")
            self._check_repository(format_, type_, payload)
            self._check_cleanup_references(payload)
            self.repositories[payload["name"]] = (format_, type_, payload)
            self._write(method, path)
            return 201, None
        if method == "PUT" and name:
            payload = validated(model, request.json())
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
