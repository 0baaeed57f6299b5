"""Storage lifecycle and database backups of Nexus, as REST payloads built from settings.

Soft deletes free nothing until the right tasks run in the right order, so the
bootstrap keeps these in step with the settings on every run:

- cleanup policies (``nexus.cleanup.*``): proxies lose what nobody downloaded
  for ``proxyUnusedDays``; hosted images only when the stack opts in
  (``hostedUnusedDays`` / ``hostedAgeDays``, which Nexus combines with AND).
  Policies are per format (a repository accepts only policies of its format) and
  attached through the repository payloads' ``cleanup.policyNames``: a repository
  PUT without ``cleanup`` detaches them (nexus-public #326), so it is always sent;
- scheduled tasks, daily, in this order: Nexus's own "Cleanup service"
  (``repository.cleanup`` is not creatable through REST, Nexus makes it at boot;
  we only move it to our hour), Docker "delete unused manifests and images" per
  docker repository that holds content, Docker "delete incomplete uploads",
  "compact blob store" (which frees the disk space of everything soft-deleted
  before it), and "Admin - Backup H2 Database" shortly before the daily snapshot;
- a soft quota on the blob store (``nexus.blobStoreQuotaGb``).

Task type ids and property names are those of Nexus's task descriptors
(sonatype/nexus-public: ``CleanupTaskDescriptor``, ``CompactBlobStoreTaskDescriptor``,
``H2BackupTaskDescriptor``; the Docker plugin's ``repository.docker.gc`` with
``repositoryName``/``deployOffset`` and ``repository.docker.upload-purge`` with
``age``).  Every schedule is a Quartz cron expression evaluated at UTC+08:00
(``timeZoneOffset``), the time zone in which Tencent runs the snapshot policy of
``backup.hour``, so "before the snapshot" holds whatever the container's clock says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from components.host_layout import BLOB_STORE, DATABASE_BACKUP_LOCATION
from components.settings import Settings

SCHEDULE_UTC_OFFSET = "+08:00"
POLICY_PREFIX = "nexus-registry"
CLEANUP_TASK_TYPE = "repository.cleanup"  # created by Nexus itself ("Cleanup service"); rescheduled only
DOCKER_GC_TASK_TYPE = "repository.docker.gc"
DOCKER_UPLOAD_PURGE_TASK_TYPE = "repository.docker.upload-purge"
COMPACT_TASK_TYPE = "blobstore.compact"
H2_BACKUP_TASK_TYPE = "h2.backup.task"
TASK_NAME_PREFIX = "nexus-registry: "
BYTES_PER_GIB = 1024**3


class Repository(Protocol):
    """What the lifecycle reads of a repository (``render.nexus_repositories.Repository``, which
    attaches the cleanup policies decided here, so this module cannot import it)."""

    @property
    def name(self) -> str: ...

    @property
    def format(self) -> str: ...

    @property
    def type(self) -> str: ...


# --- cleanup policies --------------------------------------------------------


@dataclass(frozen=True)
class CleanupPolicy:
    """Body of ``POST /v1/cleanup-policies`` (CleanupPolicyResourceXO; same keys on the CE internal API)."""

    name: str
    format: str
    notes: str
    last_downloaded_days: int | None = None
    last_blob_updated_days: int | None = None

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "format": self.format, "notes": self.notes}
        if self.last_downloaded_days:
            body["criteriaLastDownloaded"] = self.last_downloaded_days
        if self.last_blob_updated_days:
            body["criteriaLastBlobUpdated"] = self.last_blob_updated_days
        return body


def policy_name(kind: str, format_: str) -> str:
    return f"{POLICY_PREFIX}-{kind}-{format_}"


def _policies_by_repository(settings: Settings, repos: Sequence[Repository]) -> dict[str, CleanupPolicy]:
    cleanup = settings.nexus.cleanup
    result: dict[str, CleanupPolicy] = {}
    for repo in repos:
        if repo.type == "proxy" and cleanup.proxy_unused_days:
            result[repo.name] = CleanupPolicy(
                name=policy_name("proxy", repo.format),
                format=repo.format,
                notes=f"{repo.format} proxies: cached content nobody downloaded for "
                      f"{cleanup.proxy_unused_days} days (nexus.cleanup.proxyUnusedDays)",
                last_downloaded_days=cleanup.proxy_unused_days,
            )
        elif repo.type == "hosted" and (cleanup.hosted_unused_days or cleanup.hosted_age_days):
            criteria = []
            if cleanup.hosted_unused_days:
                criteria.append(f"not downloaded for {cleanup.hosted_unused_days} days")
            if cleanup.hosted_age_days:
                criteria.append(f"published over {cleanup.hosted_age_days} days ago")
            result[repo.name] = CleanupPolicy(
                name=policy_name("hosted", repo.format),
                format=repo.format,
                notes=f"{repo.format} hosted: " + " and ".join(criteria) + " (nexus.cleanup.hosted*)",
                last_downloaded_days=cleanup.hosted_unused_days or None,
                last_blob_updated_days=cleanup.hosted_age_days or None,
            )
    return result


def cleanup_policies(settings: Settings, repos: Sequence[Repository]) -> list[CleanupPolicy]:
    """Each policy once, in a stable order (several repositories may share one)."""
    unique: dict[str, CleanupPolicy] = {}
    for policy in _policies_by_repository(settings, repos).values():
        unique.setdefault(policy.name, policy)
    return list(unique.values())


def repository_cleanup(settings: Settings, repos: Sequence[Repository]) -> dict[str, dict[str, list[str]]]:
    """The ``cleanup`` attribute of every repository that can hold one (an empty list detaches)."""
    policies = _policies_by_repository(settings, repos)
    return {
        repo.name: {"policyNames": [policies[repo.name].name] if repo.name in policies else []}
        for repo in repos
        if repo.type in ("proxy", "hosted")
    }


# --- scheduled tasks -----------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One scheduled task; ``payload`` is TaskTemplateXO (POST), ``update_payload`` UpdateTaskTemplateXO (PUT)."""

    name: str
    type: str
    hour: int
    minute: int = 0
    properties: dict[str, str] = field(default_factory=dict)
    rename: bool = True  # False for tasks Nexus owns: keep their name, change only the schedule
    purpose: str = ""

    @property
    def cron(self) -> str:
        return f"0 {self.minute} {self.hour} * * ?"

    def update_payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "enabled": True,
            "notificationCondition": "FAILURE",
            "frequency": {"schedule": "cron", "cronExpression": self.cron, "timeZoneOffset": SCHEDULE_UTC_OFFSET},
        }
        if self.properties:
            body["properties"] = dict(self.properties)
        return body

    def payload(self) -> dict[str, Any]:
        return {**self.update_payload(), "type": self.type}


def _at(hour: int, minutes_after: int) -> tuple[int, int]:
    total = hour * 60 + minutes_after
    return (total // 60) % 24, total % 60


def database_backup_time(settings: Settings) -> tuple[int, int]:
    """30 minutes before the daily snapshot hour (``backup.hour``), so every snapshot holds a fresh backup."""
    return _at(settings.effective_backup.hour, -30)


def tasks(settings: Settings, repos: Sequence[Repository]) -> list[Task]:
    """The daily chain in running order; every time is UTC+08:00."""
    hour = settings.nexus.cleanup.hour
    cleanup = settings.nexus.cleanup
    chain: list[Task] = [
        Task(name="Cleanup service", type=CLEANUP_TASK_TYPE, hour=hour, rename=False,
             purpose="soft-deletes what the cleanup policies select"),
    ]
    gc_hour, gc_minute = _at(hour, 60)
    for repo in repos:
        if repo.format == "docker" and repo.type in ("proxy", "hosted"):
            chain.append(Task(
                name=f"{TASK_NAME_PREFIX}docker unused manifests and images ({repo.name})",
                type=DOCKER_GC_TASK_TYPE, hour=gc_hour, minute=gc_minute,
                properties={"repositoryName": repo.name, "deployOffset": str(cleanup.unused_manifest_hours)},
                purpose="deletes untagged manifests and the layers only they used",
            ))
    if any(repo.format == "docker" for repo in repos):
        purge_hour, purge_minute = _at(hour, 90)
        chain.append(Task(
            name=f"{TASK_NAME_PREFIX}docker incomplete uploads", type=DOCKER_UPLOAD_PURGE_TASK_TYPE,
            hour=purge_hour, minute=purge_minute, properties={"age": str(cleanup.incomplete_upload_hours)},
            purpose="deletes abandoned docker push uploads",
        ))
    compact_hour, compact_minute = _at(hour, 120)
    chain.append(Task(
        name=f"{TASK_NAME_PREFIX}compact blob store {BLOB_STORE}", type=COMPACT_TASK_TYPE,
        hour=compact_hour, minute=compact_minute, properties={"blobstoreName": BLOB_STORE},
        purpose="frees the disk space of soft-deleted blobs",
    ))
    if settings.database.postgresql:
        return chain  # PostgreSQL is backed up by its own service (TencentDB's backups, or yours)
    backup_hour, backup_minute = database_backup_time(settings)
    chain.append(Task(
        name=f"{TASK_NAME_PREFIX}backup H2 database", type=H2_BACKUP_TASK_TYPE,
        hour=backup_hour, minute=backup_minute, properties={"location": DATABASE_BACKUP_LOCATION},
        purpose="a consistent copy of the database on the data disk, before the daily snapshot",
    ))
    return chain


# --- blob store quota ------------------------------------------------------------


def blob_store_quota(settings: Settings) -> dict[str, Any] | None:
    """``softQuota`` of the file blob store, or None for none.

    Nexus stores ``limit`` as ``quotaLimitBytes`` unchanged (BlobStoreApiModel), so it is
    bytes, although the API model's description says MB.
    """
    gib = settings.effective_blob_store_quota_gb
    if not gib:
        return None
    return {"type": "spaceUsedQuota", "limit": gib * BYTES_PER_GIB}
