"""Tasks as Nexus schedules them.

``GET /v1/tasks`` pages TaskXO, ``POST`` takes TaskTemplateXO of an exposed type only
(``repository.cleanup`` is not: Nexus creates "Cleanup service" at boot, at ``0 0 1 * * ?``),
``PUT /v1/tasks/{id}`` UpdateTaskTemplateXO, ``run``; running ``h2.backup.task`` writes
``nexus-<timestamp>.zip`` under ``data_dir``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_api_client.models.page_task_xo import PageTaskXO
from nexus_api_client.models.task_template_xo import TaskTemplateXO
from nexus_api_client.models.task_xo import TaskXO
from nexus_api_client.models.update_task_template_xo import UpdateTaskTemplateXO

from tests.fakes.nexus.api import Answer, BadRequest, Recorder, Request, route, validated

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


@dataclass
class TasksApi(Recorder):
    cleanup_task_updatable: bool = True
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_dir: Path | None = None  # where h2.backup.task writes (the container's /nexus-data)
    next_task_id: int = 1

    ROUTES = (
        route(r"/v1/tasks(?:/([^/]+))?(/run)?", "_task"),
    )

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

    def _task(self, request: Request) -> Answer:
        method, path = request.method, request.path
        task_id, run = request.groups[0], bool(request.groups[1])
        if method == "GET" and not task_id:
            wanted = request.param("type")
            items = [self._task_as_returned(task) for task in self.tasks.values()
                     if not wanted or task["type"] == wanted]
            page = {"items": items, "continuationToken": None}
            PageTaskXO.from_dict(page)
            return 200, page
        if method == "POST" and not task_id:
            payload = validated(TaskTemplateXO, request.json())
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
            payload = validated(UpdateTaskTemplateXO, request.json())
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
