"""Cleanup policies as the Community Edition has them.

``/v1/cleanup-policies`` is Pro only (404 on the Community Edition unless ``cleanup_public_api``;
with ``cleanup_public_writes=False`` it lists but writing needs a licence, 402),
``/internal/cleanup-policies`` is what the CE UI uses; a repository may name a policy that does not
exist (Nexus accepts it and silently cleans nothing, so the fake records it in ``errors``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nexus_api_client.models.cleanup_policy_resource_xo import CleanupPolicyResourceXO

from tests.fakes.nexus.api import Answer, BadRequest, Recorder, Request, route, validated

CLEANUP_FORMATS = {"*", "docker", "pypi", "yum", "maven2", "npm", "raw", "helm", "nuget"}


@dataclass
class CleanupApi(Recorder):
    cleanup_public_api: bool = False  # True: a Pro licence (the public cleanup-policy API answers)
    cleanup_public_writes: bool = True  # False: the public API lists, but writing needs a licence (402)
    cleanup_policies: dict[str, dict[str, Any]] = field(default_factory=dict)

    ROUTES = (
        route(r"/(v1|internal)/cleanup-policies(?:/([^/]+))?", "_cleanup_policies"),
    )

    def _check_cleanup_references(self, payload: dict[str, Any]) -> None:
        """Nexus stores a policy name it does not know and then cleans nothing: a silent failure."""
        for policy in (payload.get("cleanup") or {}).get("policyNames", []):
            if policy not in self.cleanup_policies:
                self.errors.append(f"repository {payload['name']} refers to missing cleanup policy {policy}")

    def _cleanup_policies(self, request: Request) -> Answer:
        method, path = request.method, request.path
        api, name = request.groups
        if api == "v1" and not self.cleanup_public_api:
            return 404, None
        if api == "v1" and method != "GET" and not self.cleanup_public_writes:
            return 402, {"message": "This feature requires a Sonatype Nexus Repository Pro license"}
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
            payload = validated(CleanupPolicyResourceXO, request.json())
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
