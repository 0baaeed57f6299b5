"""What ``database.engine: postgresql`` puts on the host, as pure functions.

Nexus reads its datastore from ``etc/fabric/nexus-store.properties`` in its data
directory (nexus-public ``MyBatisDataStore.checkNexusStorePropertyExists`` resolves it in
the work directory; the keys ``name``, ``type``, ``jdbcUrl``, ``username``, ``password``
are those of the datastore properties files that ``DataStoreConfigurationLocalSource``
read, and ``InstallConfigurationCustomizer`` redacts ``password`` from them in support
zips).  The file arrives as a root-only secret file of the container step, which installs
it (0600, uid 200) in the data directory: the password is never in the container's
environment (``docker inspect``), on a command line, in ``docker run`` arguments or in a log.

The ``<name>-database`` host step runs before the container step with the same
connection in a libpq password file: it installs the PostgreSQL client when
missing, waits until the database answers, creates the Nexus database on a
fresh TencentDB instance, proves the connection is encrypted when it must be,
and refuses to put a Nexus whose data directory holds an H2 database onto an
empty PostgreSQL unless ``database.migrateFromH2`` asks for the migration.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import quote

from components.host_layout import (
    CONTAINER_DATA_DIR,
    CONTAINER_NAME,
    DATA_DIR,
    DATABASE_SCRIPT,
    MAINTENANCE_FLAG,
    MIGRATION_PIN,
    MIGRATOR_ARGS_PATH,
    NEXUS_IMAGE_REPOSITORY,
    NEXUS_UID,
    PGPASS_PATH,
    STATE_DIR,
)
from components.render.bundle import HostFile
from components.render.nexus import STOP_TIMEOUT_SECONDS
from components.render.templating import render_template
from components.settings import Settings

# Sonatype's H2-to-PostgreSQL migrator, released with each Nexus version as
# nexus-db-migrator-<version>-<build>.jar (e.g. 3.70.1-03 in sonatype/nexus-public #451, 3.91.1-04),
# whose build need not be the image's: database.migratorVersion names it.
MIGRATOR_URL = "https://download.sonatype.com/nexus/nxrm3-migrator/nexus-db-migrator-{version_build}.jar"
DATABASE_READY_TIMEOUT_SECONDS = 300
# TencentDB and any fresh PostgreSQL have this database; the Nexus one is created from it.
MAINTENANCE_DATABASE = "postgres"
# Shown in rendered files when TencentDB's private address exists only after deploy.
TENCENTDB_HOST_PLACEHOLDER = "<tencentdb-private-ip: known after deploy>"


def jdbc_url(host: str, port: int, name: str, ssl_mode: str) -> str:
    """The PostgreSQL JDBC URL Nexus connects with (credentials travel separately)."""
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    return f"jdbc:postgresql://{host}:{port}/{name}?sslmode={ssl_mode}"


def properties_value(value: str) -> str:
    """``value`` escaped the way ``java.util.Properties.store`` writes one, so that ``load`` gives it back:
    backslash and the separators ``=`` ``:`` and comment marks ``#`` ``!`` escaped, a leading space kept,
    control characters as ``\\t`` ``\\n`` ``\\r`` ``\\f``, anything outside printable ASCII as ``\\uXXXX``
    (``load`` reads ISO 8859-1)."""
    escaped = []
    for index, char in enumerate(value):
        if char in "\\=:#!" or (char == " " and index == 0):
            escaped.append("\\" + char)
        elif char in "\t\n\r\f":
            escaped.append({"\t": "\\t", "\n": "\\n", "\r": "\\r", "\f": "\\f"}[char])
        elif " " <= char <= "~":
            escaped.append(char)
        else:
            escaped.extend(f"\\u{unit:04x}" for unit in _utf16_units(char))
    return "".join(escaped)


def _utf16_units(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]


def datastore_properties(host: str, port: int, name: str, user: str, password: str, ssl_mode: str) -> str:
    """``nexus-store.properties`` for the ``nexus`` datastore on PostgreSQL."""
    entries = {
        "name": "nexus",
        "type": "jdbc",
        "jdbcUrl": jdbc_url(host, port, name, ssl_mode),
        "username": user,
        "password": password,
    }
    lines = "".join(f"{key}={properties_value(value)}\n" for key, value in entries.items())
    return "# Managed by nexus-registry (database.engine postgresql); Nexus reads it at startup.\n" + lines


def pgpass(host: str, port: int, user: str, password: str) -> str:
    """A libpq password file line for ``host:port``, any database (``:`` and ``\\`` escaped)."""

    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace(":", "\\:")

    return f"{escape(host)}:{port}:*:{escape(user)}:{escape(password)}\n"


def migrator_args(host: str, port: int, name: str, user: str, password: str, ssl_mode: str) -> str:
    """A java ``@argfile`` that runs Sonatype's H2-to-PostgreSQL migrator against this database.

    pgjdbc URL-decodes query parameters, so user and password are percent-encoded;
    inside an argfile's double quotes a backslash escapes, so none is left raw.
    """
    url = jdbc_url(host, port, name, ssl_mode) + f"&user={quote(user, safe='')}&password={quote(password, safe='')}"
    return "\n".join([
        "-jar", "/migrator/nexus-db-migrator.jar", "--migration_type=h2_to_postgres", "--yes", f'"--db_url={url}"',
    ]) + "\n"


def migrator_url(version_build: str | None) -> str:
    """Where Sonatype publishes the migrator ``database.migratorVersion`` names ('' without one)."""
    return MIGRATOR_URL.format(version_build=version_build) if version_build else ""


def database_files(settings: Settings, host: str, port: int, create_database: bool) -> list[HostFile]:
    """The database step's script (the password file travels as a secret file)."""
    database = settings.database
    script = render_template(
        "host/nexus-database.sh.j2",
        stack=settings.stack,
        db_host=host,
        db_port=port,
        db_name=database.name,
        db_user=database.user,
        ssl_mode=database.ssl_mode,
        create_database=create_database,
        maintenance_database=MAINTENANCE_DATABASE,
        pgpass_file=PGPASS_PATH,
        migrator_args_file=MIGRATOR_ARGS_PATH,
        ready_timeout=DATABASE_READY_TIMEOUT_SECONDS,
        data_dir=DATA_DIR,
        container_data_dir=CONTAINER_DATA_DIR,
        nexus_uid=NEXUS_UID,
        migrate_from_h2=database.migrate_from_h2,
        container=CONTAINER_NAME,
        stop_timeout=STOP_TIMEOUT_SECONDS,
        image=f"{NEXUS_IMAGE_REPOSITORY}:{settings.nexus.version}",
        migrator_url=migrator_url(database.migrator_version),
        migrator_sha256=database.migrator_sha256 or "",
        state_dir=STATE_DIR,
        maintenance_flag=MAINTENANCE_FLAG,
        migration_pin=MIGRATION_PIN,
    )
    return [HostFile(DATABASE_SCRIPT, script, "0755")]


def host_files(settings: Settings) -> list[HostFile]:
    """The database step's files for ``python -m components.render`` (none with H2)."""
    if not settings.database.postgresql:
        return []
    database = settings.database
    if database.host is not None:
        return database_files(settings, database.host, database.port, create_database=False)
    return database_files(settings, TENCENTDB_HOST_PLACEHOLDER, database.port, create_database=True)
