"""Where everything lives on a stack's host: ports, directories, files, the container and the units.

One place for every host path, port, unit and file name that more than one module
or template needs: the render layer writes files at these paths and hands them to
the templates as values, the components name the scripts their steps run, the
manifest lists them, and ``settings`` refuses a setting that would take one of
these ports (``scripts/up.sh`` names ``STATUS_SCRIPT`` too; a test keeps it in step).
Nothing here depends on a stack's settings, and this module imports nothing of
the project, so any module may import it without an import cycle.

A value that only one module uses stays in that module (e.g. nginx's log file
names in ``render.nginx``, Tencent's mirrors in ``render.nexus``).
"""

from __future__ import annotations

# --- ports --------------------------------------------------------------------------------

SSH_PORT = 22
HTTP_PORT = 80
HTTPS_PORT = 443
# Nexus inside its container, published on 127.0.0.1 only (Pitfall 6); nginx proxies to them.
WEB_PORT = 8081
DOCKER_PROXY_PORT = 8001
DOCKER_HOSTED_PORT = 8002
DOCKER_GROUP_PORT = 8003
DOCKER_PORTS = (DOCKER_PROXY_PORT, DOCKER_HOSTED_PORT, DOCKER_GROUP_PORT)
# Every port the host itself uses (SSH, nginx's own, Nexus's connectors): no setting may take one.
HOST_PORTS = frozenset({SSH_PORT, HTTP_PORT, HTTPS_PORT, WEB_PORT, *DOCKER_PORTS})
# How host scripts reach Nexus's REST API.
NEXUS_URL = f"http://127.0.0.1:{WEB_PORT}"

# --- our directories -------------------------------------------------------------------------

# Our scripts, on every host, Nexus and nginx alike.
BIN_DIR = "/opt/nexus-registry/bin"
# Beside BIN_DIR: the host scripts find it as bin/../lib (components/templates/host/lib/common.sh.j2).
LIB_DIR = "/opt/nexus-registry/lib"
# What our scripts remember between runs.
STATE_DIR = "/var/lib/nexus-registry"
CONFIG_DIR = "/etc/nexus-registry"
# Root-only files that hold secrets; each arrives in a step's secret stdin (``components.remote``).
SECRETS_DIR = f"{CONFIG_DIR}/secrets"
# The bootstrap's payloads: Nexus settings, one file per repository, the storage lifecycle.
NEXUS_PAYLOAD_DIR = f"{CONFIG_DIR}/nexus"
REPOSITORY_DIR = f"{CONFIG_DIR}/repositories"
LIFECYCLE_DIR_NAME = "lifecycle"
LIFECYCLE_DIR = f"{CONFIG_DIR}/{LIFECYCLE_DIR_NAME}"

# --- the host steps' scripts (each step's entrypoint) -------------------------------------------

PREPARE_SCRIPT = f"{BIN_DIR}/nexus-prepare-host.sh"
PREPARE_DISK_SCRIPT = f"{BIN_DIR}/nexus-prepare-disk.sh"
DATABASE_SCRIPT = f"{BIN_DIR}/nexus-database.sh"
CONTAINER_SCRIPT = f"{BIN_DIR}/nexus-container.sh"
BOOTSTRAP_SCRIPT = f"{BIN_DIR}/nexus-bootstrap.sh"
# Operator tools, installed by the bootstrap (``render.nexus_operator_tools``).
DB_BACKUP_SCRIPT = f"{BIN_DIR}/nexus-db-backup.sh"
STATUS_SCRIPT = f"{BIN_DIR}/nexus-status.sh"
# `make restore STACK=... FROM=...` runs it over SSH (``scripts/up.sh``).
RESTORE_SCRIPT = f"{BIN_DIR}/nexus-restore.sh"
# Keep-last-N retention of docker-hosted (``render.nexus_retention``); `make retention-plan` runs it with --dry-run.
RETENTION_SCRIPT = f"{BIN_DIR}/nexus-retention.sh"
RETENTION_FILE_NAME = "retention.json"
# The health notifier (``render.nexus_alerts``), every few minutes on every Nexus host.
HEALTH_SCRIPT = f"{BIN_DIR}/nexus-health-notify.sh"
# The watchdog (``render.nexus_watchdog``): every minute, starts Nexus again when it is exited or missing.
WATCHDOG_SCRIPT = f"{BIN_DIR}/nexus-watchdog.sh"
NGINX_DEPLOY_SCRIPT = f"{BIN_DIR}/deploy-nginx.sh"
NGINX_SMOKE_SCRIPT = f"{BIN_DIR}/smoke-check-nginx.sh"

# --- secret files ------------------------------------------------------------------------------

ADMIN_PASSWORD_NAME = "nexus-admin-password"
ADMIN_PASSWORD_PATH = f"{SECRETS_DIR}/{ADMIN_PASSWORD_NAME}"
DOCKER_HUB_TOKEN_NAME = "docker-hub-token"
DOCKER_HUB_TOKEN_PATH = f"{SECRETS_DIR}/{DOCKER_HUB_TOKEN_NAME}"
# alertWebhooks, one "<kind> <url>" a line (empty for none), read by the health notifier.
ALERT_WEBHOOKS_NAME = "alert-webhooks"
ALERT_WEBHOOKS_PATH = f"{SECRETS_DIR}/{ALERT_WEBHOOKS_NAME}"
# One file per managed Nexus user, named after the user, below SECRETS_DIR.
USER_PASSWORD_DIR_NAME = "users"
# database.engine postgresql: Nexus's datastore settings, delivered root-only here and installed
# by the container script where Nexus reads them (DATASTORE_FILE), never in the container's environment.
DATASTORE_PROPERTIES_PATH = f"{SECRETS_DIR}/nexus-store.properties"
# Where earlier releases kept them, as a docker --env-file; the container script deletes it.
LEGACY_DATASTORE_ENV_PATH = f"{SECRETS_DIR}/nexus-datastore.env"
PGPASS_PATH = f"{SECRETS_DIR}/nexus-database.pgpass"
MIGRATOR_ARGS_PATH = f"{SECRETS_DIR}/nexus-db-migrator.args"

# --- state the scripts keep ----------------------------------------------------------------------

# The admin password the bootstrap applied last (root-only; the bootstrap writes it).
ADMIN_PASSWORD_APPLIED_NAME = "admin-password.applied"
ADMIN_PASSWORD_APPLIED_PATH = f"{STATE_DIR}/{ADMIN_PASSWORD_APPLIED_NAME}"
# Names the release the pre-upgrade database backup was taken for (the pre-upgrade step's own file).
PRE_UPGRADE_BACKUP_NOTE = f"{STATE_DIR}/db-backup-before-upgrade.txt"

# --- Nexus's data --------------------------------------------------------------------------------

# The data disk (or, without one, a directory on the root disk) is mounted here;
# Nexus's data is a sub-directory so that, when the disk is missing at boot
# (fstab nofail), the bind source does not exist and the container refuses to
# start instead of initialising an empty Nexus on the root disk.
MOUNT_POINT = "/srv/nexus"
DATA_DIR = f"{MOUNT_POINT}/nexus-data"
# The same directory as the container sees it (sonatype/nexus3's volume).
CONTAINER_DATA_DIR = "/nexus-data"
NEXUS_UID = 200  # the nexus user of sonatype/nexus3, owner of DATA_DIR
# Nexus writes it on first start, with the generated admin password (Pitfall 8).
GENERATED_ADMIN_PASSWORD_PATH = f"{DATA_DIR}/admin.password"
# Below the data directory: where Nexus reads its datastore (H2 or PostgreSQL) from.
DATASTORE_PROPERTIES = "etc/fabric/nexus-store.properties"
# nexus-public: MyBatisDataStore.checkNexusStorePropertyExists, NexusPaxExamSupport.DATA_STORE_PROPERTIES_FILE.
DATASTORE_FILE = f"{DATA_DIR}/{DATASTORE_PROPERTIES}"
# The file blob store every repository keeps its blobs in (DATA_DIR/blobs/<name>).
BLOB_STORE = "default"
# Nexus's H2 backup task writes here, on the data disk, so every snapshot holds the copy.
DATABASE_BACKUP_DIR_NAME = "db-backup"
DATABASE_BACKUP_HOST_DIR = f"{DATA_DIR}/{DATABASE_BACKUP_DIR_NAME}"
DATABASE_BACKUP_LOCATION = f"{CONTAINER_DATA_DIR}/{DATABASE_BACKUP_DIR_NAME}"
# Nexus's H2 backup task writes <datastore>-<timestamp>.zip; the default datastore is "nexus".
DATABASE_BACKUP_GLOB = "nexus-*.zip"

# --- system files the prepare step edits (only its own line or key) ------------------------------

FSTAB = "/etc/fstab"
DOCKER_DAEMON_JSON = "/etc/docker/daemon.json"

# --- the container -------------------------------------------------------------------------------

CONTAINER_NAME = "nexus"
NEXUS_IMAGE_REPOSITORY = "sonatype/nexus3"

# --- systemd -------------------------------------------------------------------------------------

SYSTEMD_DIR = "/etc/systemd/system"
# The daily timer (and its service) that prunes old database backups.
PRUNE_UNIT = "nexus-registry-db-backup-prune"
# The daily retention run, before Nexus's Docker GC and compact tasks.
RETENTION_UNIT = "nexus-registry-retention"
# The health notifier's timer (every few minutes) and service.
HEALTH_UNIT = "nexus-registry-health"
# Runs before every start of nginx, boot included (a drop-in of nginx.service wants it): finishes or undoes
# an nginx deploy that a kill or a reboot interrupted, so nginx never boots on files it has not accepted.
NGINX_RECOVER_UNIT = "nexus-registry-nginx-recover"
NGINX_DROP_IN = f"{SYSTEMD_DIR}/nginx.service.d/nexus-registry.conf"
# The watchdog's timer (every minute) and service.
WATCHDOG_UNIT = "nexus-registry-watchdog"

# --- nginx ---------------------------------------------------------------------------------------

NGINX_SITE_CONF = "/etc/nginx/conf.d/nexus-registry.conf"
# The version-dependent snippets, one directory per variant, and the ``active`` link to one of them.
NGINX_SNIPPET_DIR = "/etc/nginx/nexus-registry"
NGINX_CERT_DIR = "/etc/pki/nginx"
NGINX_LOG_DIR = "/var/log/nginx"
NGINX_STATE_DIR = f"{STATE_DIR}/nginx"
# The deploy step's bundle writes every file nginx reads here (mirroring its live path);
# the deploy script activates them only once nginx is installed (pitfall 14).
NGINX_STAGE_DIR = f"{NGINX_STATE_DIR}/staged"
# The digest of the nginx bundle deployed last (the smoke step's one file).
NGINX_DEPLOYED_DIGEST = f"{NGINX_STATE_DIR}/deployed-bundle.sha256"

# --- maintenance -----------------------------------------------------------------------------------

# While this file exists an operator command (restore, upgrade, container replace) owns Nexus: the
# watchdog leaves the container alone.  It holds "<pid> <command>" of its owner; a flag whose owner
# process is gone is stale and the watchdog takes it back (a killed command must not disable healing).
MAINTENANCE_FLAG = f"{STATE_DIR}/maintenance"
# The database step pins the flag with this once an H2 migration renamed the H2 file: only the container step
# (starting Nexus on PostgreSQL) takes it over, so nothing starts the H2 Nexus without its database.
MIGRATION_PIN = "nexus-database.sh: H2 migrated to PostgreSQL; the container step starts Nexus on it"
# What the watchdog did last and when it last looked ("key=value" lines); nexus-status.sh shows it.
WATCHDOG_STATE = f"{STATE_DIR}/watchdog.state"
