"""Cross-checks: rules that relate settings of different sections, run once every field is valid.

Each rule is a small function of the whole ``Settings`` that raises ``KeyedError`` naming
the key to change; ``CROSS_CHECKS`` lists them in the order ``Settings`` runs them, and the
first that fails is the one reported (as one line, like a field's own error).
"""

from __future__ import annotations

from collections.abc import Callable

from components.i18n import _

# The rules read a whole ``settings.stack.Settings``; stack imports ``CROSS_CHECKS`` from here, so
# importing it back (even for type checking) would be a cycle: the rules are typed by its base model.
from components.settings.base import SettingsModel as Settings
from components.settings.errors import KeyedError
from components.settings.facts import MIN_HOST_MEMORY_GB
from components.settings.fields import allow_list, check_password, is_ip, is_placeholder
from components.settings.version import FIRST_POSTGRESQL_RELEASE

# --- hostnames, SSH, certificates, DNS --------------------------------------------


def hostnames_differ(settings: Settings) -> None:
    """The web UI and the registry are told apart by hostname alone."""
    if settings.web_host == settings.registry_host:
        raise KeyedError(("registryHost",), _("{host!r} must differ from webHost").format(host=settings.registry_host))


def existing_server_needs_ssh_key(settings: Settings) -> None:
    """An existing server is reached with the user's key; a cvm stack generates its own."""
    if settings.server.is_existing and settings.ssh_private_key is None:
        raise KeyedError(
            ("sshPrivateKey",),
            _("required when server.mode is existing (pulumi config set --secret sshPrivateKey < key)"),
        )


def ssl_console_only_with_its_certificate(settings: Settings) -> None:
    """``sslConsole`` names certificates that no other certificate source would read."""
    if settings.certificate != "ssl-console" and settings.ssl_console.names_certificates:
        raise KeyedError(("sslConsole",), _("applies only with certificate: ssl-console; remove it or set that"))


def acme_needs_email(settings: Settings) -> None:
    """ACME accounts are registered with a contact address."""
    if settings.certificate == "acme" and settings.acme.email is None:
        raise KeyedError(("acme", "email"), _("required when certificate is acme"))


def docker_hub_credentials_together(settings: Settings) -> None:
    """A Docker Hub user name without its token (or the reverse) is a half-set credential."""
    if (settings.nexus.docker_hub_username is None) != (settings.docker_hub_token is None):
        raise KeyedError(("nexus", "dockerHubUsername"),
                         _("set together with the dockerHubToken secret, or neither"))


def dnspod_needs_an_ip_address(settings: Settings) -> None:
    """DNSPod A records point at an address, never at a host name."""
    server = settings.server
    if settings.dns == "dnspod" and server.is_existing and not is_ip(server.address):
        raise KeyedError(("server", "address"),
                         _("must be an IP address when dns is dnspod (A records need one)"))


# --- disk and backups ---------------------------------------------------------------


def quota_below_data_disk(settings: Settings) -> None:
    """The blob store quota warns before the CBS data disk is full, so it must be smaller than the disk."""
    quota = settings.nexus.blob_store_quota_gb
    server = settings.server
    if quota and server.is_cvm and quota >= server.data_disk_gb:
        raise KeyedError(
            ("nexus", "blobStoreQuotaGb"),
            _("{quota} must be below server.dataDiskGb ({disk}): the quota is there to warn before the disk "
              "is full").format(quota=quota, disk=server.data_disk_gb),
        )


def snapshots_need_cvm(settings: Settings) -> None:
    """Backups are CBS snapshots, which only a cvm stack's own data disk has."""
    backup = settings.backup
    if backup is not None and backup.enabled and settings.server.is_existing:
        raise KeyedError(("backup", "retainDays"), _("snapshots need server.mode cvm; set 0 and see README: Backups"))


# --- database ---------------------------------------------------------------------------


def postgresql_needs_nexus_3_77(settings: Settings) -> None:
    """Community Edition runs on PostgreSQL from 3.77."""
    if settings.database.postgresql and settings.nexus.version_info < FIRST_POSTGRESQL_RELEASE:
        raise KeyedError(
            ("database", "engine"),
            _("postgresql needs nexus.version 3.77 or later in Community Edition (not {version})").format(
                version=settings.nexus.version),
        )


def existing_postgresql_needs_host(settings: Settings) -> None:
    """An existing server names the database it already has."""
    if settings.database.postgresql and settings.server.is_existing and settings.database.host is None:
        raise KeyedError(("database", "host"), _("required with database.engine postgresql on an existing server"))


def existing_postgresql_needs_password(settings: Settings) -> None:
    """An existing database's password comes from the user; a cvm stack generates its own."""
    if settings.database.postgresql and settings.server.is_existing and settings.database_password is None:
        raise KeyedError(
            ("databasePassword",),
            _("required with database.engine postgresql on an existing server "
              "(pulumi config set --secret databasePassword)"),
        )


def cvm_database_has_no_host(settings: Settings) -> None:
    """A cvm stack creates its own TencentDB; a host would name some other database."""
    if settings.database.postgresql and settings.server.is_cvm and settings.database.host is not None:
        raise KeyedError(("database", "host"), _("only for existing servers; cvm stacks create their own TencentDB"))


def tencentdb_stays_encrypted(settings: Settings) -> None:
    """The connection to TencentDB stays TLS-encrypted."""
    if settings.database.postgresql and settings.server.is_cvm and settings.database.ssl_mode == "disable":
        raise KeyedError(("database", "sslMode"), _("TencentDB connections stay encrypted; use require"))


def migration_names_its_migrator(settings: Settings) -> None:
    """The migrator checks the schema it reads: it must be the one released with the Nexus that wrote it."""
    database = settings.database
    if not (database.postgresql and database.migrate_from_h2):
        return
    version, wanted = database.migrator_version, ".".join(map(str, settings.nexus.release))
    if version is None:
        raise KeyedError(
            ("database", "migratorVersion"),
            _("required with database.migrateFromH2: the <version>-<build> of Sonatype's migrator for nexus.version "
              "{version} (nexus-db-migrator-{wanted}-<build>.jar, e.g. {wanted}-01; the build can differ "
              "from the image's, README: Moving to PostgreSQL)").format(version=settings.nexus.version, wanted=wanted),
        )
    if version.rsplit("-", 1)[0] != wanted:
        raise KeyedError(
            ("database", "migratorVersion"),
            _("{migrator!r} is the migrator of Nexus {release}, not of nexus.version {version}; use "
              "nexus-db-migrator-{wanted}-<build>.jar (it checks the schema)").format(
                migrator=version, release=version.rsplit("-", 1)[0], version=settings.nexus.version, wanted=wanted),
        )


def migration_needs_migrator_checksum(settings: Settings) -> None:
    """The H2 migration runs Sonatype's migrator jar only when its SHA-256 is the one the user checked."""
    database = settings.database
    if database.postgresql and database.migrate_from_h2 and database.migrator_sha256 is None:
        raise KeyedError(
            ("database", "migratorSha256"),
            _("required with database.migrateFromH2: the SHA-256 of Sonatype's nexus-db-migrator jar for "
              "nexus.version {version} (sha256sum of a copy you checked), so the host runs only that "
              "migrator (README: Moving to PostgreSQL)").format(version=settings.nexus.version),
        )


# --- users --------------------------------------------------------------------------------


def user_names_unique(settings: Settings) -> None:
    """Each managed Nexus user is listed once."""
    names = [user.name for user in settings.users]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise KeyedError(("users", index, "name"), _("{name!r} is listed twice").format(name=name))


def a_push_user_exists(settings: Settings) -> None:
    """CI needs a user that may push (its ``docker login`` line is a stack output)."""
    if not any(user.role == "push" for user in settings.users):
        raise KeyedError(("users",), _("needs at least one user with role push (the CI user that pushes images)"))


def passwords_belong_to_users(settings: Settings) -> None:
    """A password for a user not in ``users`` is a leftover or a typo."""
    names = {user.name for user in settings.users}
    for name in settings.user_passwords:
        if name not in names:
            raise KeyedError(("userPasswords", name),
                             _("{name!r} is not in users; remove it or add the user").format(name=name))


def every_user_has_a_good_password(settings: Settings) -> None:
    """Each user has a password (a placeholder when read from a stack file), strong, and not the admin's."""
    admin = settings.admin_password.get_secret_value()
    for user in settings.users:
        name = user.name
        secret = settings.user_passwords.get(name)
        if secret is None:
            raise KeyedError(
                ("userPasswords", name),
                _("is required for user {name!r}: pulumi config set --secret --path 'userPasswords.{name}'").format(
                    name=name),
            )
        if is_placeholder(secret):
            continue
        password = secret.get_secret_value()
        try:
            check_password(password)
        except ValueError as error:
            raise KeyedError(("userPasswords", name), str(error)) from None
        if password == admin:
            raise KeyedError(("userPasswords", name), _("must differ from adminPassword"))


# --- access ----------------------------------------------------------------------------------


def allow_lists_exclude_nobody(settings: Settings) -> None:
    """An allow-list of everyone (``0.0.0.0/0``) only hides that no list is wanted: omit it instead."""
    allow_list("webAllowedCidrs", settings.web_allowed_cidrs)
    allow_list("registryAllowedCidrs", settings.registry_allowed_cidrs)
    allow_list("registryMirrorAllowedCidrs", settings.registry_mirror_allowed_cidrs)


def mirror_allow_list_needs_the_mirror(settings: Settings) -> None:
    """The mirror's allow-list applies to an endpoint that exists only with anonymous pulls."""
    if settings.registry_mirror_allowed_cidrs is not None and not settings.mirror_enabled:
        raise KeyedError(("registryMirrorAllowedCidrs",), _("the mirror exists only with nexus.anonymousPull: true"))


# --- the private path ---------------------------------------------------------------------------


def private_dns_needs_cvm(settings: Settings) -> None:
    """The Private DNS zone is bound to the VPC a cvm stack creates; an existing server's network is the user's."""
    if settings.private_dns.enabled and not settings.server.is_cvm:
        raise KeyedError(
            ("privateDns", "enabled"),
            _("needs server.mode cvm (the zone is bound to the stack's own VPC); remove it for an existing server"),
        )


def private_zone_needs_the_private_path(settings: Settings) -> None:
    """A zone to adopt means nothing with the private path off."""
    if settings.private_dns.zone_id is not None and not settings.private_dns_enabled:
        raise KeyedError(("privateDns", "zoneId"), _("applies only with the private path on (privateDns.enabled)"))


# --- memory (Sonatype's sizing rules, where the host's memory is known before deploy) -----------
# Only a cvm with memoryGb or a sized instance type is known here; the container step checks
# the host's real memory in every case.


def _known_memory_gb(settings: Settings) -> int | None:
    return settings.server.nominal_memory_gb if settings.server.is_cvm else None


def host_meets_minimum_memory(settings: Settings) -> None:
    """Sonatype supports hosts of at least 8 GB, unless the stack accepts an unsupported one."""
    memory_gb = _known_memory_gb(settings)
    if memory_gb is None or settings.nexus.allow_below_minimum_memory or memory_gb >= MIN_HOST_MEMORY_GB:
        return
    key = "memoryGb" if settings.server.memory_gb is not None else "instanceType"
    raise KeyedError(
        ("server", key),
        _("{memory} GB is below Sonatype's minimum of {minimum} GB for Nexus; use {minimum} or more, or set "
          "nexus.allowBelowMinimumMemory: true to accept an unsupported host").format(
            memory=memory_gb, minimum=MIN_HOST_MEMORY_GB),
    )


def heap_fits_the_host(settings: Settings) -> None:
    """Heap plus direct memory stay within two thirds of the host's memory (Sonatype's limit)."""
    memory_gb = _known_memory_gb(settings)
    nexus = settings.nexus
    if memory_gb is None or nexus.heap_mb is None:
        return
    direct = nexus.direct_memory_mb or nexus.heap_mb
    budget = memory_gb * 1024 * 2 // 3
    if nexus.heap_mb + direct > budget:
        raise KeyedError(
            ("nexus", "heapMb"),
            _("{heap} MB heap + {direct} MB direct memory exceeds two thirds of the server's {memory} GB "
              "({budget} MB, Sonatype's limit); lower nexus.heapMb or leave it unset to derive it").format(
                heap=nexus.heap_mb, direct=direct, memory=memory_gb, budget=budget),
        )


Rule = Callable[["Settings"], None]

# The order is the order of the reports: the first rule that fails is the error shown.
CROSS_CHECKS: tuple[Rule, ...] = (
    hostnames_differ,
    existing_server_needs_ssh_key,
    ssl_console_only_with_its_certificate,
    acme_needs_email,
    docker_hub_credentials_together,
    dnspod_needs_an_ip_address,
    quota_below_data_disk,
    snapshots_need_cvm,
    postgresql_needs_nexus_3_77,
    existing_postgresql_needs_host,
    existing_postgresql_needs_password,
    cvm_database_has_no_host,
    tencentdb_stays_encrypted,
    migration_names_its_migrator,
    migration_needs_migrator_checksum,
    user_names_unique,
    a_push_user_exists,
    passwords_belong_to_users,
    every_user_has_a_good_password,
    allow_lists_exclude_nobody,
    mirror_allow_list_needs_the_mirror,
    private_dns_needs_cvm,
    private_zone_needs_the_private_path,
    host_meets_minimum_memory,
    heap_fits_the_host,
)
