"""File blob stores with a soft quota (limit in bytes, as Nexus stores it), their usage and quota status."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from nexus_api_client.models.file_blob_store_api_update_request import FileBlobStoreApiUpdateRequest
from nexus_api_client.models.generic_blob_store_api_response import GenericBlobStoreApiResponse

from tests.fakes.nexus.api import Answer, BadRequest, Recorder, Request, route, validated


@dataclass
class BlobStoresApi(Recorder):
    blob_stores: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {"default": {"path": "default", "softQuota": None}})
    blob_store_used_bytes: int = 3 * 1024**3
    blob_store_available_bytes: int = 40 * 1024**3
    blob_count: int = 1234

    ROUTES = (
        route(r"/v1/blobstores", "_blob_stores", "GET"),
        route(r"/v1/blobstores/file/([^/]+)", "_file_blob_store"),
        route(r"/v1/blobstores/([^/]+)/quota-status", "_quota_status", "GET"),
    )

    def _blob_stores(self, _request: Request) -> Answer:
        return 200, [self._blob_store_summary(name) for name in self.blob_stores]

    def _blob_store_summary(self, name: str) -> dict[str, Any]:
        summary = {"name": name, "type": "File", "unavailable": False, "blobCount": self.blob_count,
                   "totalSizeInBytes": self.blob_store_used_bytes,
                   "availableSpaceInBytes": self.blob_store_available_bytes,
                   "softQuota": self.blob_stores[name]["softQuota"]}
        GenericBlobStoreApiResponse.from_dict(summary)
        return summary

    def _file_blob_store(self, request: Request) -> Answer:
        method, path = request.method, request.path
        (name,) = request.groups
        store = self.blob_stores.get(name)
        if store is None:
            return 404, None
        if method == "GET":
            return 200, copy.deepcopy(store)
        if method == "PUT":
            payload = validated(FileBlobStoreApiUpdateRequest, request.json())
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

    def _quota_status(self, request: Request) -> Answer:
        (name,) = request.groups
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
