"""Everything the Nexus side puts on the host, as pure functions of the settings.

Four host steps, each with only the files it needs, so a change re-runs only
the step it concerns (an nginx or certificate change touches none of them):

- ``prepare_files``: Docker Engine (installed or adopted), the tools the other scripts use,
  registry mirror, firewalld and SELinux for nginx (``nexus-prepare-host.sh``);
- ``prepare_disk_files``: the data disk (found, formatted only when empty, mounted, grown) and
  the data directory (``nexus-prepare-disk.sh``); the only step that knows the data disk id;
- ``container_files``: the pinned ``sonatype/nexus3`` container and the wait for
  readiness (``nexus-container.sh``); changes with ``nexus.version``/``heapMb``;
- ``bootstrap_files``: admin password, EULA, realms, SSRF protection, the
  repositories, roles, users and anonymous access through the REST API, and a
  check that each upstream answers from the host (``nexus-bootstrap.sh`` plus
  JSON payloads; roles and users from ``render.nexus_security``).

Scripts are Jinja2 templates (StrictUndefined, every value shell-quoted) in
``components/templates/host/nexus-*.sh.j2``, each including the shared host library
(``host/lib/common.sh.j2``); a step whose scripts call jq ships ``nexus-registry.jq`` beside them.
Secrets are never rendered: the admin password, Docker Hub token and user passwords arrive as root-only files at
``ADMIN_PASSWORD_PATH``/``DOCKER_HUB_TOKEN_PATH``/``user_password_paths`` (``remote.host_step``
secret files).
"""

from __future__ import annotations

import json
from typing import Any

from components.host_layout import (
    ADMIN_PASSWORD_APPLIED_NAME,
    ADMIN_PASSWORD_NAME,
    ADMIN_PASSWORD_PATH,
    BLOB_STORE,
    BOOTSTRAP_SCRIPT,
    CONFIG_DIR,
    CONTAINER_DATA_DIR,
    CONTAINER_NAME,
    CONTAINER_SCRIPT,
    DATA_DIR,
    DATASTORE_PROPERTIES,
    DATASTORE_PROPERTIES_PATH,
    DOCKER_DAEMON_JSON,
    DOCKER_GROUP_PORT,
    DOCKER_HOSTED_PORT,
    DOCKER_HUB_TOKEN_NAME,
    DOCKER_HUB_TOKEN_PATH,
    DOCKER_PORTS,
    FSTAB,
    GENERATED_ADMIN_PASSWORD_PATH,
    HEALTH_UNIT,
    LEGACY_DATASTORE_ENV_PATH,
    LIFECYCLE_DIR,
    LIFECYCLE_DIR_NAME,
    MAINTENANCE_FLAG,
    MIGRATION_PIN,
    MOUNT_POINT,
    NEXUS_IMAGE_REPOSITORY,
    NEXUS_PAYLOAD_DIR,
    NEXUS_UID,
    NEXUS_URL,
    PREPARE_DISK_SCRIPT,
    PREPARE_SCRIPT,
    PRUNE_UNIT,
    REPOSITORY_DIR,
    RETENTION_UNIT,
    SECRETS_DIR,
    STATE_DIR,
    SYSTEMD_DIR,
    USER_PASSWORD_DIR_NAME,
    WATCHDOG_SCRIPT,
    WATCHDOG_UNIT,
    WEB_PORT,
)
from components.render import (
    nexus_alerts,
    nexus_lifecycle,
    nexus_operator_tools,
    nexus_retention,
    nexus_security,
    nexus_watchdog,
)
from components.render.bundle import HostFile, unique
from components.render.nexus_repositories import (
    DOCKER_HUB_AUTH_REPOSITORY,
    docker_hub_credentials,
    repositories,
    ssrf_allowances,
    upstreams,
)
from components.render.templating import jq_library_file, render_template
from components.settings import (
    H2_DIRECT_MEMORY_MB,
    MIN_HEAP_MB,
    MIN_HOST_MEMORY_GB,
    Settings,
)

STOP_TIMEOUT_SECONDS = 120  # Pitfall 7: Nexus needs time to flush its database on stop
CONTAINER_READY_TIMEOUT_SECONDS = 900  # first start of a fresh Nexus takes minutes
BOOTSTRAP_READY_TIMEOUT_SECONDS = 300
UPSTREAM_TIMEOUT_SECONDS = 15  # per upstream probe from the host; a slow mirror is worth a warning
SPEC_LABEL = "nexus-registry.spec"
# The container step warns when the data disk is this full (a full disk fails every push).
DISK_WARN_PERCENT = 90
# The container step keeps the output of its newest runs (it works detached, see the script).
CONTAINER_RUN_LOGS_KEPT = 5

# Tencent's public mirror of download.docker.com, used on EL-family hosts whose own
# repositories have no Docker Engine; reachable from mainland China without Docker Hub.
DOCKER_CE_MIRROR = "https://mirrors.cloud.tencent.com/docker-ce"
# Docker's RPM repository signing key, "Docker Release (CE rpm) <docker@docker.com>", as Docker's
# CentOS/RHEL/Fedora install pages publish it (060A 61C5 1B55 8A7F 742B 77AA C52F EB6B 621E 9F35).
# Not the apt key (9DC8 5822 ... 0EBF CD88): the rpm tree is signed by this one, and Debian-family
# hosts get the distribution's docker.io, so no Docker apt repository is ever added.
DOCKER_CE_RPM_KEY_FINGERPRINT = "060A61C51B558A7F742B77AAC52FEB6B621E9F35"
# An existing Docker Engine at least this new is adopted as it is; an older one is refused.  The
# container script itself needs 17.06 (--mount); 20.10 is the oldest release that runs containers
# on cgroup v2 (EL9, Debian 12, Ubuntu 22.04+) and the one the tutorial's CentOS 7 hosts run.
DOCKER_MIN_VERSION = "20.10"
# CentOS 7 is end of life: its mirrors are gone, the vault keeps the last release (7.9.2009) and
# EPEL 7 lives in Fedora's archive.  Tencent's public mirrors first (reachable from mainland China).
CENTOS7_VAULT_URLS = ("https://mirrors.cloud.tencent.com/centos-vault/7.9.2009", "https://vault.centos.org/7.9.2009")
EPEL7_URLS = ("https://mirrors.cloud.tencent.com/epel-archive/7", "https://archives.fedoraproject.org/pub/archive/epel/7")
EPEL7_KEY_URLS = (
    "https://mirrors.cloud.tencent.com/epel/RPM-GPG-KEY-EPEL-7",
    "https://dl.fedoraproject.org/pub/epel/RPM-GPG-KEY-EPEL-7",
)
EPEL7_KEY_FINGERPRINT = "91E97D7C4A5E96F17F3E888F6A2FAEA2352C64E5"  # "Fedora EPEL (7) <epel@fedoraproject.org>"
# Shown in the rendered prepare script when the CBS disk id exists only after deploy.
DISK_ID_PLACEHOLDER = "<cbs-disk-id: known after deploy>"

# A nominal 8 GB CVM reports about 7.5 GiB in MemTotal (kernel and firmware reservations).
MIN_HOST_MEMTOTAL_MIB = 7168
# A derived heap stops here; more memory is worth more as page cache for blob reads.
MAX_DERIVED_HEAP_MB = 16384

SUPPORTED_OS = (
    "Ubuntu 22.04/24.04, Debian 12, TencentOS Server 3/4, OpenCloudOS 8/9, Rocky Linux 8/9, AlmaLinux 8/9,"
    " CentOS Stream 9, CentOS 7 (end of life)"
)
REALMS = ("NexusAuthenticatingRealm", "DockerToken")


# --- values -----------------------------------------------------------------


def image(settings: Settings) -> str:
    """The pinned image (Pitfall 10: Settings refuses anything but an exact release tag).

    With ``nexus.imageDigest`` the reference is ``repo:tag@sha256:...``: Docker pulls by the
    digest and refuses content that does not match it, so a re-pushed tag cannot change what runs.
    """
    reference = f"{NEXUS_IMAGE_REPOSITORY}:{settings.nexus.version}"
    return f"{reference}@{settings.nexus.image_digest}" if settings.nexus.image_digest else reference


def digest_release(settings: Settings) -> str:
    """The release (``3.86.2``) a digest-pinned image must carry in its ``release`` label, or "" without a digest.

    sonatype/docker-nexus3 labels every image ``release="<x.y.z>"``; Docker pulls
    ``repo:tag@digest`` by the digest alone, so a digest left over from the previous
    ``nexus.version`` would otherwise run the old release under the new version's name.
    """
    if not settings.nexus.image_digest:
        return ""
    return settings.nexus.version_info.dotted


def data_disk_kind(settings: Settings) -> str:
    """``cbs`` (a CBS disk id), ``device`` (a /dev/disk/by-* path) or ``none`` (root disk)."""
    server = settings.server
    if server.is_cvm:
        return "cbs"
    return "device" if server.data_device else "none"


def format_empty_disk(settings: Settings) -> bool:
    """Whether the prepare step may format an empty data disk (never one that holds anything).

    On ``cvm`` the disk is the stack's own new CBS disk; on ``existing`` the user's
    disk is formatted only with ``server.formatDataDevice: true``.
    """
    server = settings.server
    if server.is_cvm:
        return True
    return server.format_data_device


def docker_mirror(settings: Settings) -> str:
    return settings.server.docker_mirror


def container_run_options(settings: Settings) -> list[tuple[str, str]]:
    """``docker run`` options except the image, the spec label and the host-dependent JVM options."""
    options = [
        ("--name", CONTAINER_NAME),
        ("--restart", "unless-stopped"),
        # Pitfall 6: reachable only through nginx on the same host.
        ("--publish", f"127.0.0.1:{WEB_PORT}:{WEB_PORT}"),
        *[("--publish", f"127.0.0.1:{port}:{port}") for port in DOCKER_PORTS],
        # --mount, unlike -v, never creates a missing source: no silent empty Nexus on the root disk.
        ("--mount", f"type=bind,source={DATA_DIR},target={CONTAINER_DATA_DIR}"),
        ("--ulimit", "nofile=65536:65536"),
        ("--stop-timeout", str(STOP_TIMEOUT_SECONDS)),
        # Nexus logs a lot to stdout; bound it whatever the daemon's default log driver is.
        ("--log-driver", "json-file"),
        ("--log-opt", "max-size=50m"),
        ("--log-opt", "max-file=3"),
    ]
    # database.engine postgresql: no --env-file; the datastore settings are a file in the data
    # directory (DATASTORE_FILE), so the password is neither in `docker run` nor in `docker inspect`.
    return options


def container_run_args(settings: Settings) -> list[str]:
    return [part for option in container_run_options(settings) for part in option]


def realms_payload() -> list[str]:
    return list(REALMS)


def anonymous_payload(settings: Settings) -> dict[str, Any]:
    """Body of ``PUT /v1/security/anonymous`` (AnonymousAccessSettingsXO)."""
    return {"enabled": settings.nexus.anonymous_pull, "userId": "anonymous", "realmName": "NexusAuthorizingRealm"}


def user_password_paths(settings: Settings) -> dict[str, str]:
    """Where each managed user's password file lands on the host, by user name."""
    return {user.name: nexus_security.user_password_path(SECRETS_DIR, user.name) for user in settings.users}


def ssrf_protection_payload(settings: Settings) -> dict[str, Any]:
    """Body of ``PUT /v1/security/ssrf-protection`` (SsrfProtectionConfigurationXO, Nexus 3.92+):
    Sonatype's mitigation of CVE-2026-0600, on, with only this stack's own upstreams let through."""
    domains, addresses = ssrf_allowances(settings)
    return {"enabled": True, "allowedDomains": domains, "allowedIPs": addresses}


def upstreams_table(settings: Settings) -> str:
    """``repository<TAB>setting<TAB>probe URL`` per upstream, read by the bootstrap's upstream check."""
    return "".join(f"{u.repository}\t{u.setting}\t{u.probe_url}\n" for u in upstreams(settings))


def api_payloads(settings: Settings) -> dict[str, dict[str, Any]]:
    """Each repository's REST payload by name (the Docker Hub token is added on the host)."""
    return {repo.name: repo.payload() for repo in repositories(settings)}


# --- files per step -------------------------------------------------------------


def prepare_files(settings: Settings) -> list[HostFile]:
    """Host preparation: packages, Docker Engine, registry mirror, firewalld, SELinux."""
    script = render_template(
        "host/nexus-prepare-host.sh.j2",
        stack=settings.stack,
        docker_mirror=docker_mirror(settings),
        docker_ce_mirror=DOCKER_CE_MIRROR,
        docker_ce_key_fingerprint=DOCKER_CE_RPM_KEY_FINGERPRINT,
        docker_min_version=DOCKER_MIN_VERSION,
        centos7_vault_urls=CENTOS7_VAULT_URLS,
        epel7_urls=EPEL7_URLS,
        epel7_key_urls=EPEL7_KEY_URLS,
        epel7_key_fingerprint=EPEL7_KEY_FINGERPRINT,
        state_dir=STATE_DIR,
        supported_os=SUPPORTED_OS,
        docker_daemon_json=DOCKER_DAEMON_JSON,
        fstab=FSTAB,
        # Named in a comment on SELinux: what nginx connects to.
        nginx_upstream_ports=(WEB_PORT, DOCKER_HOSTED_PORT, DOCKER_GROUP_PORT),
        # The anonymous registry mirror's own port, opened beside 80/443 (render.nginx).
        mirror_port=settings.registry_mirror_port if settings.mirror_enabled else "",
    )
    return [HostFile(PREPARE_SCRIPT, script, "0755"), jq_library_file()]


def prepare_disk_files(settings: Settings, data_disk: str | None = None) -> list[HostFile]:
    """The data disk and the data directory; ``data_disk`` is the CBS disk id on cvm (a placeholder when unknown)."""
    kind = data_disk_kind(settings)
    if kind == "cbs":
        disk = data_disk or DISK_ID_PLACEHOLDER
    elif kind == "device":
        disk = data_disk or settings.server.data_device  # type: ignore[union-attr]
    else:
        disk = ""
    script = render_template(
        "host/nexus-prepare-disk.sh.j2",
        stack=settings.stack,
        data_disk_kind=kind,
        data_disk=disk,
        format_empty_disk="yes" if format_empty_disk(settings) else "no",
        mount_point=MOUNT_POINT,
        data_disk_gb=settings.server.data_disk_gb if kind == "cbs" else "",  # type: ignore[union-attr]
        data_dir=DATA_DIR,
        nexus_uid=NEXUS_UID,
        fstab=FSTAB,
    )
    return [HostFile(PREPARE_DISK_SCRIPT, script, "0755")]


def container_files(settings: Settings) -> list[HostFile]:
    script = render_template(
        "host/nexus-container.sh.j2",
        stack=settings.stack,
        image=image(settings),
        # With a digest the tag is not what Docker runs: the image's own release label is checked instead.
        image_release=digest_release(settings),
        container=CONTAINER_NAME,
        data_dir=DATA_DIR,
        container_data_dir=CONTAINER_DATA_DIR,
        datastore_relative_path=DATASTORE_PROPERTIES,
        nexus_uid=NEXUS_UID,
        heap_mb=settings.nexus.heap_mb or "",
        database="orientdb" if settings.nexus.runs_orientdb else "h2",
        allow_below_minimum="true" if settings.nexus.allow_below_minimum_memory else "false",
        min_heap_mb=MIN_HEAP_MB,
        min_host_gb=MIN_HOST_MEMORY_GB,
        min_host_mib=MIN_HOST_MEMTOTAL_MIB,
        h2_direct_mb=H2_DIRECT_MEMORY_MB,
        max_derived_heap_mb=MAX_DERIVED_HEAP_MB,
        nexus_url=NEXUS_URL,
        ready_timeout=CONTAINER_READY_TIMEOUT_SECONDS,
        spec_label=SPEC_LABEL,
        stop_timeout=STOP_TIMEOUT_SECONDS,
        run_options=container_run_options(settings),
        datastore_properties=DATASTORE_PROPERTIES_PATH if settings.database.postgresql else "",
        legacy_datastore_env=LEGACY_DATASTORE_ENV_PATH,
        state_dir=STATE_DIR,
        log_dir=f"{STATE_DIR}/container",
        kept_logs=CONTAINER_RUN_LOGS_KEPT,
        # Long enough for a previous run of this step (a stop, then the wait for readiness) to end.
        maintenance_wait=STOP_TIMEOUT_SECONDS + CONTAINER_READY_TIMEOUT_SECONDS,
        maintenance_flag=MAINTENANCE_FLAG,
        migration_pin=MIGRATION_PIN,
        disk_warn_percent=DISK_WARN_PERCENT,
        watchdog_script=WATCHDOG_SCRIPT,
    )
    return [HostFile(CONTAINER_SCRIPT, script, "0755")]


def bootstrap_files(settings: Settings) -> list[HostFile]:
    repos = repositories(settings)
    script = render_template(
        "host/nexus-bootstrap.sh.j2",
        stack=settings.stack,
        nexus_url=NEXUS_URL,
        config_dir=CONFIG_DIR,
        secrets_dir=SECRETS_DIR,
        state_dir=STATE_DIR,
        generated_password_file=GENERATED_ADMIN_PASSWORD_PATH,
        applied_password_name=ADMIN_PASSWORD_APPLIED_NAME,
        lifecycle_dir_name=LIFECYCLE_DIR_NAME,
        ready_timeout=BOOTSTRAP_READY_TIMEOUT_SECONDS,
        admin_password_name=ADMIN_PASSWORD_NAME,
        docker_hub_token_name=DOCKER_HUB_TOKEN_NAME,
        repositories=repos,
        docker_hub_auth_repository=DOCKER_HUB_AUTH_REPOSITORY if docker_hub_credentials(settings) else "",
        user_password_dir=USER_PASSWORD_DIR_NAME,
        managed_marker=nexus_security.MANAGED_MARKER,
        anonymous_user=nexus_security.ANONYMOUS_USER,
        cleanup_policy_prefix=nexus_lifecycle.POLICY_PREFIX,
        task_name_prefix=nexus_lifecycle.TASK_NAME_PREFIX,
        nexus_owned_task_type=nexus_lifecycle.CLEANUP_TASK_TYPE,
        prune_unit=PRUNE_UNIT,
        retention_unit=RETENTION_UNIT,
        health_unit=HEALTH_UNIT,
        watchdog_unit=WATCHDOG_UNIT,
        systemd_dir=SYSTEMD_DIR,
        upstream_timeout=UPSTREAM_TIMEOUT_SECONDS,
    )
    files = [
        HostFile(BOOTSTRAP_SCRIPT, script, "0755"),
        HostFile(f"{NEXUS_PAYLOAD_DIR}/realms.json", _json(realms_payload())),
        HostFile(f"{NEXUS_PAYLOAD_DIR}/anonymous.json", _json(anonymous_payload(settings))),
        HostFile(f"{NEXUS_PAYLOAD_DIR}/roles.json", _json(nexus_security.roles(settings))),
        HostFile(f"{NEXUS_PAYLOAD_DIR}/users.json", _json(nexus_security.users(settings))),
        HostFile(f"{NEXUS_PAYLOAD_DIR}/anonymous-roles.json", _json(nexus_security.anonymous_user_roles())),
        HostFile(f"{NEXUS_PAYLOAD_DIR}/ssrf-protection.json", _json(ssrf_protection_payload(settings))),
        HostFile(f"{NEXUS_PAYLOAD_DIR}/upstreams.tsv", upstreams_table(settings)),
    ]
    # Not secret (the token is added on the host), but only root needs to read them.
    files += [HostFile(f"{REPOSITORY_DIR}/{repo.name}.json", _json(repo.payload()), "0600") for repo in repos]
    files += lifecycle_files(settings)
    return unique([*files, jq_library_file(), *nexus_operator_tools.host_files(settings),
                   *nexus_retention.host_files(settings), *nexus_alerts.host_files(settings),
                   *nexus_watchdog.host_files(settings)])


def bootstrap_secret_files(settings: Settings) -> list[tuple[str, str]]:
    """(path, value) of each root-only secret file of the bootstrap step, in the order it ships them.

    ``NexusServer`` wraps every value in ``Output.secret``; the fresh-host tests
    build the same step's stdin from it.
    """
    files = [(ADMIN_PASSWORD_PATH, settings.admin_password.get_secret_value())]
    if settings.docker_hub_token is not None:
        files.append((DOCKER_HUB_TOKEN_PATH, settings.docker_hub_token.get_secret_value()))
    for name, path in user_password_paths(settings).items():
        files.append((path, settings.user_passwords[name].get_secret_value()))
    files.append(nexus_alerts.webhooks_file(settings))
    return files


def lifecycle_payloads(settings: Settings) -> dict[str, Any]:
    """Cleanup policies, the daily task chain (in running order) and the blob store quota, as sent to Nexus."""
    repos = repositories(settings)
    return {
        "cleanup-policies": [policy.payload() for policy in nexus_lifecycle.cleanup_policies(settings, repos)],
        "tasks": [task.payload() for task in nexus_lifecycle.tasks(settings, repos)],
        "blob-store-quota": {"blobStore": BLOB_STORE, "softQuota": nexus_lifecycle.blob_store_quota(settings)},
    }


def lifecycle_files(settings: Settings) -> list[HostFile]:
    return [HostFile(f"{LIFECYCLE_DIR}/{name}.json", _json(value), "0600")
            for name, value in lifecycle_payloads(settings).items()]


def host_files(settings: Settings, data_disk: str | None = None) -> list[HostFile]:
    """Every Nexus file of a stack, for ``python -m components.render`` (secrets are never files here)."""
    return unique([*prepare_files(settings), *prepare_disk_files(settings, data_disk), *container_files(settings),
                   *bootstrap_files(settings)])


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"
