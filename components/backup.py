"""DataDiskBackups: a consistent database backup and a disk snapshot before each upgrade, and daily snapshots.

- Before the pre-upgrade snapshot, a host step runs Nexus's own "backup H2 database"
  task now and waits for it (``nexus-db-backup.sh``): a snapshot of a running H2
  database is only crash-consistent, the backup in ``/srv/nexus/nexus-data/db-backup``
  is consistent.  The step's files name the release about to be deployed, so it runs
  again exactly when ``nexus.version`` changes (and harmlessly skips on a fresh host
  where no Nexus answers yet).  It exists on every server, cvm or not.
- On cvm, the pre-upgrade CBS snapshot is named after the Nexus version: changing
  ``nexus.version`` replaces it, so a fresh snapshot exists before the new container
  starts; the replaced one is retained in the cloud, not deleted.
- When backups are on (default in ``prod``), a snapshot policy (every day at
  ``backup.hour``, kept ``backup.retainDays``) is attached to the data disk.  Nexus's
  scheduled H2 backup runs 30 minutes earlier (``components.render.nexus_lifecycle``),
  so every daily snapshot holds a consistent copy too.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import remote
from tencentcloud_iac_pulumi import cbs

from components.host_layout import ADMIN_PASSWORD_PATH, DB_BACKUP_SCRIPT
from components.remote import host_step
from components.render import nexus_operator_tools
from components.settings import Settings

EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]


@dataclass(frozen=True)
class DataDiskBackupsArgs:
    settings: Settings
    """The stack's settings: ``backup``, ``nexus.version`` and ``adminPassword``, and the pre-upgrade
    step's files are rendered from them (``render.nexus_operator_tools``), like every host file."""
    storage_id: pulumi.Input[str] | None
    """The CBS data disk (cvm); None on servers without cloud snapshots."""
    connection: remote.ConnectionArgs | None = None
    ssh_user: str = "root"
    nexus_version: pulumi.Input[str] | None = None
    """``settings.nexus.version`` once checked: a refused downgrade never reaches the host."""


class DataDiskBackups(pulumi.ComponentResource):
    """Pre-upgrade database backup and snapshot; snapshot policy + attachment on the data disk."""

    pre_upgrade_database_backup: remote.Command | None
    pre_upgrade_snapshot: cbs.Snapshot | None
    policy: cbs.SnapshotPolicy | None

    def __init__(self, name: str, args: DataDiskBackupsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nexus-registry:backup:DataDiskBackups", name, None, opts)
        settings = args.settings
        backup = settings.effective_backup
        label = settings.resource_label
        version = args.nexus_version if args.nexus_version is not None else settings.nexus.version

        self.pre_upgrade_database_backup = None
        if args.connection is not None:
            self.pre_upgrade_database_backup = host_step(
                f"{name}-pre-upgrade-db",
                connection=args.connection,
                ssh_user=args.ssh_user,
                files=pulumi.Output.from_input(version).apply(
                    lambda checked: nexus_operator_tools.pre_upgrade_backup_files(settings, checked)),
                entrypoint=DB_BACKUP_SCRIPT,
                secret_files=[(ADMIN_PASSWORD_PATH,
                               pulumi.Output.secret(settings.admin_password.get_secret_value()))],
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.policy = None
        self.pre_upgrade_snapshot = None
        if args.storage_id is None:
            self.register_outputs({})
            return
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
        database_first = [self.pre_upgrade_database_backup] if self.pre_upgrade_database_backup else []
        self.pre_upgrade_snapshot = cbs.Snapshot(
            f"{name}-pre-upgrade",
            storage_id=args.storage_id,
            snapshot_name=f"{label}-pre-{settings.nexus.version}",
            opts=pulumi.ResourceOptions(
                parent=self, replace_on_changes=["snapshotName"], retain_on_delete=True,
                delete_before_replace=False, depends_on=database_first,
            ),
        )
        self.register_outputs({"policyId": self.policy.id if self.policy else None})
