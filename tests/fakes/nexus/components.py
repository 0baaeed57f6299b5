"""Docker content of the fake Nexus: the components REST API and manifests, as Nexus serves them.

``FakeNexus`` (tests/fakes/nexus/repositories.py) routes ``/v1/components`` and ``/repository/...``
here, so the retention script meets what the deployed release answers:

- ``GET /v1/components?repository=`` pages ``PageComponentXO`` (nexus-api-client models of the
  deployed version, validated on every answer): 100 components a page, and a
  ``continuationToken`` only when a page is full (nexus-public
  ``ComponentsResource.nextContinuationToken``: ``size < PAGE_SIZE_LIMIT ? null : <last id>``;
  ``ComponentsResourceSupport.PAGE_SIZE_LIMIT = 100``), so a repository of exactly 100 components
  answers a second, empty page;
- ``DELETE /v1/components/{id}``: 204 (the resource method is ``void``), 404 for an id it does not
  find (``getComponent`` throws ``NotFoundException``);
- Docker content stored as Nexus stores it: one component per tag (name = image, version = tag)
  with one asset ``v2/<image>/manifests/<tag>`` whose ``checksum.sha256`` is the manifest digest,
  and one component per manifest pushed by digest (the platform manifests of an image index),
  whose version is the digest; several tags may carry the same manifest (the same digest);
- ``GET /repository/<repo>/v2/<image>/manifests/<reference>`` serves the manifest itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from nexus_api_client.models.page_component_xo import PageComponentXO

PAGE_SIZE_LIMIT = 100
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EPOCH = datetime(2026, 12, 1, tzinfo=UTC)


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The bytes the fake serves for a manifest (and whose sha256 is its digest)."""
    return json.dumps(manifest).encode()


def digest_of(manifest: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(manifest_bytes(manifest)).hexdigest()


def image_manifest(seed: str) -> dict[str, Any]:
    """A distinct single-platform manifest per seed."""
    layer = "sha256:" + hashlib.sha256(seed.encode()).hexdigest()
    return {"schemaVersion": 2, "mediaType": MANIFEST_V2,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 100, "digest": layer},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 10, "digest": layer}]}


def image_index(platforms: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": MANIFEST_V2, "digest": digest_of(m), "size": len(manifest_bytes(m)),
                           "platform": {"architecture": arch, "os": "linux"}}
                          for m, arch in zip(platforms, ("amd64", "arm64", "s390x"), strict=False)]}


@dataclass
class DockerContent:
    """Components of docker repositories, in insertion (database) order, keyed by their REST id."""

    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    manifests: dict[tuple[str, str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)  # "<image>:<version>" in deletion order
    pages_served: int = 0
    next_id: int = 1

    def _add(self, repository: str, name: str, version: str, manifest: dict[str, Any], pushed: datetime) -> str:
        internal = f"{self.next_id:032x}"
        self.next_id += 1
        # RepositoryItemIDXO: base64url of "<repository>:<external id>".
        component_id = base64.urlsafe_b64encode(f"{repository}:{internal}".encode()).decode().rstrip("=")
        data = manifest_bytes(manifest)
        stamp = pushed.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+00:00"
        path = f"v2/{name}/manifests/{version}"
        asset = {
            "id": base64.urlsafe_b64encode(f"{repository}:a{internal}".encode()).decode().rstrip("="),
            "path": path, "downloadUrl": f"https://nexus.example.com/repository/{repository}/{path}",
            "repository": repository, "format": "docker", "contentType": manifest["mediaType"],
            "checksum": {"sha1": hashlib.sha1(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()},
            "blobCreated": stamp, "lastModified": stamp, "fileSize": len(data), "blobStoreName": "default",
            "uploader": "ci", "uploaderIp": "127.0.0.1",
        }
        self.components[component_id] = {"id": component_id, "repository": repository, "format": "docker",
                                          "name": name, "version": version, "assets": [asset]}
        self.manifests[(repository, name, version)] = (manifest["mediaType"], manifest)
        return component_id

    def push(self, repository: str, name: str, tag: str, manifest: dict[str, Any], days_ago: float) -> str:
        """A tag pushed ``days_ago`` (before the fixed epoch); an index's platform manifests come by digest first."""
        pushed = EPOCH - timedelta(days=days_ago)
        for child in manifest.get("manifests", []):
            platform = self._platform(repository, name, child["digest"])
            if platform is not None and (repository, name, child["digest"]) not in self.manifests:
                self._add(repository, name, child["digest"], platform, pushed)
        return self._add(repository, name, tag, manifest, pushed)

    pending_platforms: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _platform(self, _repository: str, _name: str, digest: str) -> dict[str, Any] | None:
        return self.pending_platforms.get(digest)

    def push_index(self, repository: str, name: str, tag: str, platforms: list[dict[str, Any]],
                   days_ago: float) -> str:
        for platform in platforms:
            self.pending_platforms[digest_of(platform)] = platform
        return self.push(repository, name, tag, image_index(platforms), days_ago)

    def tags(self, repository: str) -> dict[str, list[str]]:
        """image -> its versions still stored (tags and digests), sorted."""
        found: dict[str, list[str]] = {}
        for component in self.components.values():
            if component["repository"] == repository:
                found.setdefault(component["name"], []).append(component["version"])
        return {name: sorted(versions) for name, versions in found.items()}

    # -- REST -----------------------------------------------------------------

    def route(self, method: str, path: str, query: dict[str, list[str]], repositories: dict[str, Any]):
        if path == "/v1/components" and method == "GET":
            repository = (query.get("repository") or [""])[0]
            if repository not in repositories:
                return 404, {"message": f"Repository '{repository}' not found"}
            ordered = [c for c in self.components.values() if c["repository"] == repository]
            token = (query.get("continuationToken") or [None])[0]
            start = 0
            if token is not None:
                ids = [c["id"] for c in ordered]
                if token not in ids:
                    return 400, {"message": "invalid continuation token"}
                start = ids.index(token) + 1
            items = ordered[start:start + PAGE_SIZE_LIMIT]
            page = {"items": json.loads(json.dumps(items)),
                    "continuationToken": items[-1]["id"] if len(items) == PAGE_SIZE_LIMIT else None}
            check_page(page)
            self.pages_served += 1
            return 200, page
        if path.startswith("/v1/components/") and method == "DELETE":
            component_id = path.removeprefix("/v1/components/")
            component = self.components.pop(component_id, None)
            if component is None:
                return 404, {"message": f"Unable to locate component with id {component_id}"}
            self.manifests.pop((component["repository"], component["name"], component["version"]), None)
            self.deleted.append(f"{component['name']}:{component['version']}")
            return 204, None
        return None

    def manifest(self, path: str):
        """``/repository/<repo>/v2/<image>/manifests/<reference>``: the stored manifest, or 404."""
        parts = path.removeprefix("/repository/").split("/")
        if len(parts) < 5 or parts[1] != "v2" or parts[-2] != "manifests":
            return 404, None
        key = (parts[0], "/".join(parts[2:-2]), parts[-1])
        if key not in self.manifests:
            return 404, {"errors": [{"code": "MANIFEST_UNKNOWN"}]}
        return 200, self.manifests[key][1]


def check_page(page: dict[str, Any]) -> None:
    """The answer must be a ``PageComponentXO`` of the deployed client, with no key the model lacks."""
    parsed = PageComponentXO.from_dict(page)
    for item, model in zip(page["items"], parsed.items or [], strict=True):
        unknown = set(item) - {f.alias or name for name, f in type(model).model_fields.items()}
        for asset, asset_model in zip(item["assets"], model.assets or [], strict=True):
            unknown |= set(asset) - {f.alias or name for name, f in type(asset_model).model_fields.items()}
        assert not unknown, f"keys ComponentXO/AssetXO do not have: {unknown}"
