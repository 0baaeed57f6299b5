"""Operator tools on the Nexus host, as pure functions of the settings.

- ``nexus-db-backup.sh``: runs Nexus's own "backup H2 database" task now and waits for
  the consistent copy on the data disk; the step before the pre-upgrade snapshot
  (``components.backup``) runs it, and an operator can run it by hand;
- the daily systemd timer (``host_layout.PRUNE_UNIT``) that runs it with ``--prune`` to
  delete database backups older than ``backup.databaseKeepDays``;
- ``nexus-status.sh``: usage against the Community Edition caps and the H2 limit,
  blob store and disk (in bytes), certificate expiry, Nexus health, what the watchdog did
  and the maintenance flag (``make status STACK=...``);
- ``nexus-restore.sh``: puts a database backup (and a copy of the blob stores) back,
  in maintenance, refusing to start Nexus on a missing or partial database
  (``make restore STACK=... FROM=...``).

Both are installed with the bootstrap step (they read the same root-only admin
password file) and are rendered like every other host script.
"""

from __future__ import annotations

from components.host_layout import (
    ADMIN_PASSWORD_NAME,
    BLOB_STORE,
    CONTAINER_NAME,
    DATA_DIR,
    DATABASE_BACKUP_GLOB,
    DATABASE_BACKUP_HOST_DIR,
    DATASTORE_PROPERTIES,
    DB_BACKUP_SCRIPT,
    MAINTENANCE_FLAG,
    MOUNT_POINT,
    NEXUS_IMAGE_REPOSITORY,
    NEXUS_UID,
    NEXUS_URL,
    NGINX_SITE_CONF,
    PRE_UPGRADE_BACKUP_NOTE,
    PRUNE_UNIT,
    RESTORE_SCRIPT,
    SECRETS_DIR,
    STATUS_SCRIPT,
    WATCHDOG_STATE,
    WATCHDOG_UNIT,
)
from components.render import nexus_lifecycle
from components.render.bundle import HostFile, unique
from components.render.systemd_units import timer_unit_files
from components.render.templating import jq_library_file, render_template
from components.settings import Settings

DB_BACKUP_TIMEOUT_SECONDS = 1800
WARN_PERCENT = 80
# A certificate this close to expiry should have been renewed by `make up` (renewBeforeDays, default 30).
CERT_WARN_DAYS = 30
# Sonatype supports embedded H2 up to about this many requests a day; above it, PostgreSQL.
H2_SUPPORTED_REQUESTS_PER_DAY = 20000
# The watchdog checks every minute; its last check this old means its timer is not running.
WATCHDOG_STALE_SECONDS = 600
# The restore stops Nexus as the container's --stop-timeout would (render.nexus.STOP_TIMEOUT_SECONDS, which
# imports this module) and waits for it as long as the container step does for a first start.
RESTORE_STOP_TIMEOUT_SECONDS = 120
RESTORE_READY_TIMEOUT_SECONDS = 900
# What the restore prints, also when the SSH session that started it is gone.
RESTORE_LOG = "/var/log/nexus-registry-restore.log"


def database_backup_files(settings: Settings) -> list[HostFile]:
    """The run-now database backup script (the same file in the bootstrap and the pre-upgrade step)."""
    script = render_template(
        "host/nexus-db-backup.sh.j2",
        stack=settings.stack,
        nexus_url=NEXUS_URL,
        secrets_dir=SECRETS_DIR,
        admin_password_name=ADMIN_PASSWORD_NAME,
        backup_dir=DATABASE_BACKUP_HOST_DIR,
        backup_glob=DATABASE_BACKUP_GLOB,
        prune_unit=PRUNE_UNIT,
        task_type=nexus_lifecycle.H2_BACKUP_TASK_TYPE,
        task_name=f"{nexus_lifecycle.TASK_NAME_PREFIX}backup H2 database",
        timeout=DB_BACKUP_TIMEOUT_SECONDS,
    )
    return [HostFile(DB_BACKUP_SCRIPT, script, "0755"), jq_library_file()]


def database_backup_pruning_files(settings: Settings) -> list[HostFile]:
    """A daily systemd timer that deletes database backups older than ``backup.databaseKeepDays``
    (never the newest): Nexus's backup task writes a new file every night and deletes none."""
    keep = settings.effective_backup.database_keep_days
    service = render_template("systemd/nexus-db-backup-prune.service.j2", keep=keep, backup_script=DB_BACKUP_SCRIPT)
    timer = render_template("systemd/nexus-db-backup-prune.timer.j2", unit=PRUNE_UNIT)
    return timer_unit_files(PRUNE_UNIT, service, timer)


def status_files(settings: Settings) -> list[HostFile]:
    script = render_template(
        "host/nexus-status.sh.j2",
        stack=settings.stack,
        nexus_url=NEXUS_URL,
        secrets_dir=SECRETS_DIR,
        admin_password_name=ADMIN_PASSWORD_NAME,
        data_dir=DATA_DIR,
        mount_point=MOUNT_POINT,
        container=CONTAINER_NAME,
        database=settings.database.engine,
        datastore_properties=DATASTORE_PROPERTIES,
        nginx_site_conf=NGINX_SITE_CONF,
        blob_store=BLOB_STORE,
        warn_percent=WARN_PERCENT,
        cert_warn_days=CERT_WARN_DAYS,
        h2_supported_requests=H2_SUPPORTED_REQUESTS_PER_DAY,
        watchdog_state=WATCHDOG_STATE,
        watchdog_unit=WATCHDOG_UNIT,
        watchdog_stale_seconds=WATCHDOG_STALE_SECONDS,
        maintenance_flag=MAINTENANCE_FLAG,
    )
    return [HostFile(STATUS_SCRIPT, script, "0755"), jq_library_file()]


def restore_files(settings: Settings) -> list[HostFile]:
    script = render_template(
        "host/nexus-restore.sh.j2",
        stack=settings.stack,
        database=settings.database.engine,
        data_dir=DATA_DIR,
        nexus_uid=NEXUS_UID,
        container=CONTAINER_NAME,
        nexus_url=NEXUS_URL,
        backup_dir=DATABASE_BACKUP_HOST_DIR,
        backup_glob=DATABASE_BACKUP_GLOB,
        maintenance_flag=MAINTENANCE_FLAG,
        stop_timeout=RESTORE_STOP_TIMEOUT_SECONDS,
        ready_timeout=RESTORE_READY_TIMEOUT_SECONDS,
        restore_log=RESTORE_LOG,
    )
    return [HostFile(RESTORE_SCRIPT, script, "0755")]


def host_files(settings: Settings) -> list[HostFile]:
    """The operator tools shipped with the bootstrap step (the database backup as an operator runs it)."""
    return unique([*database_backup_files(settings), *database_backup_pruning_files(settings),
                   *status_files(settings), *restore_files(settings)])


def pre_upgrade_backup_files(settings: Settings, version: str) -> list[HostFile]:
    """The pre-upgrade step's files: the backup script, and a note naming the release about to be deployed,
    so the step (and with it a fresh database backup) runs again exactly when ``nexus.version`` changes."""
    note = HostFile(PRE_UPGRADE_BACKUP_NOTE,
                    f"database backed up before deploying {NEXUS_IMAGE_REPOSITORY}:{version}\n")
    return [*database_backup_files(settings), note]
