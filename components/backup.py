"""DataDiskBackups: daily CBS snapshots of the Nexus data disk, and one before each upgrade.

A snapshot policy (every day at ``backup.hour``, kept ``backup.retainDays``)
is attached to the data disk when backups are on (default in ``prod``).  The
pre-upgrade snapshot is named after the Nexus version: changing
``nexus.version`` replaces it, so a fresh snapshot exists before the new
container starts; the replaced one is retained in the cloud, not deleted.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from tencentcloud_iac_pulumi import cbs

from components.settings import Settings

EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]


@dataclass(frozen=True)
class DataDiskBackupsArgs:
    settings: Settings
    storage_id: pulumi.Input[str]


class DataDiskBackups(pulumi.ComponentResource):
    """Snapshot policy + attachment on the data disk, and the pre-upgrade snapshot."""

    pre_upgrade_snapshot: cbs.Snapshot
    policy: cbs.SnapshotPolicy | None

    def __init__(self, name: str, args: DataDiskBackupsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nexus-registry:backup:DataDiskBackups", name, None, opts)
        settings = args.settings
        backup = settings.effective_backup
        label = settings.resource_label
        self.policy = None
        if backup.enabled:
            self.policy = cbs.SnapshotPolicy(
                f"{name}-policy",
                snapshot_policy_name=f"{label}-daily",
                repeat_weekdays=EVERY_DAY,
                repeat_hours=[backup.hour],
                retention_days=backup.retain_days,
                opts=pulumi.ResourceOptions(parent=self),
            )
            cbs.SnapshotPolicyAttachment(
                f"{name}-policy-attachment",
                snapshot_policy_id=self.policy.id,
                storage_id=args.storage_id,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.pre_upgrade_snapshot = cbs.Snapshot(
            f"{name}-pre-upgrade",
            storage_id=args.storage_id,
            snapshot_name=f"{label}-pre-{settings.nexus.version}",
            opts=pulumi.ResourceOptions(
                parent=self, replace_on_changes=["snapshotName"], retain_on_delete=True,
                delete_before_replace=False,
            ),
        )
        self.register_outputs({"policyId": self.policy.id if self.policy else None})
