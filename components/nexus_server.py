"""NexusServer: Nexus 3 in Docker on the host, configured over SSH.

Four steps, each a ``remote.Command`` fed one bundle on stdin (see
``components.remote``), run in order:

1. ``<name>-prepare``: packages, Docker Engine, registry mirror, firewalld, SELinux;
2. ``<name>-prepare-disk``: the data disk (found, formatted only when empty, mounted,
   grown) and the data directory; the only step that knows the disk id;
3. ``<name>-container``: the pinned ``sonatype/nexus3`` container, then the bounded
   wait until Nexus reports itself writable;
4. ``<name>-bootstrap``: admin password, EULA, realms, the repositories, roles,
   users and anonymous access through the REST API on 127.0.0.1:8081.

Each step's stdin holds only that step's files (``components.render.nexus``), so a
step re-runs exactly when something it owns changes: ``nexus.version`` re-runs the
container step (and the steps after it), an nginx or certificate setting re-runs
none.  Secrets (admin password, Docker Hub token, user passwords) ride only in the bootstrap
step's secret stdin as root-only files, never on a command line.

``ready`` is the last step: whatever needs a configured Nexus depends on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from components.database import DatabaseConnection
from components.host_layout import (
    BOOTSTRAP_SCRIPT,
    CONTAINER_SCRIPT,
    DATABASE_SCRIPT,
    DATASTORE_PROPERTIES_PATH,
    MIGRATOR_ARGS_PATH,
    PGPASS_PATH,
    PREPARE_DISK_SCRIPT,
    PREPARE_SCRIPT,
)
from components.remote import dependencies, host_step
from components.render import nexus, nexus_database
from components.settings import Settings


@dataclass(frozen=True)
class NexusServerArgs:
    settings: Settings
    """The whole stack's settings: every host file is rendered from them (``render.nexus``), as
    ``python -m components.render`` renders them for review."""
    connection: remote.ConnectionArgs
    ssh_user: str
    data_disk_id: pulumi.Input[str]
    """The CBS disk id (``disk-xxxxxxxx``) on cvm; the configured device path or "" on existing."""
    nexus_version: pulumi.Input[str] | None = None
    """``settings.nexus.version`` once checked (``components.upgrade.guarded_version``): the
    container step waits for it, so a refused downgrade never reaches the host."""
    database: DatabaseConnection | None = None
    """``database.engine: postgresql``: where Nexus's database is (``components.database``)."""
    database_engine: pulumi.Input[str] | None = None
    """``database.engine`` once checked against the deployed one (``components.deployed``): the
    database and container steps wait for it, so a refused switch never reaches the host."""


class NexusServer(pulumi.ComponentResource):
    """Docker, the data disk, the Nexus container and its configuration, on one host."""

    prepare: remote.Command
    prepare_disk: remote.Command
    database: remote.Command | None
    container: remote.Command
    bootstrap: remote.Command
    ready: remote.Command

    def __init__(self, name: str, args: NexusServerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nexus-registry:nexus:NexusServer", name, None, opts)
        settings = args.settings

        # The component's depends_on (e.g. the pre-upgrade snapshot) must hold for every step.
        waits_for = dependencies(opts)
        self.prepare = host_step(
            f"{name}-prepare",
            connection=args.connection,
            ssh_user=args.ssh_user,
            files=nexus.prepare_files(settings),
            entrypoint=PREPARE_SCRIPT,
            opts=pulumi.ResourceOptions(parent=self, depends_on=waits_for),
        )
        # Its own step: a data disk setting re-runs only this one (and it needs the tools prepare installs).
        self.prepare_disk = host_step(
            f"{name}-prepare-disk",
            connection=args.connection,
            ssh_user=args.ssh_user,
            # The disk id is known only once the CBS disk exists.
            files=pulumi.Output.from_input(args.data_disk_id).apply(
                lambda disk: nexus.prepare_disk_files(settings, disk or None)
            ),
            entrypoint=PREPARE_DISK_SCRIPT,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.prepare, *waits_for]),
        )
        # Waiting on the checked version and database engine keeps a refused change off the host.
        checked_version = args.nexus_version if args.nexus_version is not None else settings.nexus.version
        checked_engine = args.database_engine if args.database_engine is not None else settings.database.engine
        checked = pulumi.Output.all(checked_version, checked_engine)
        self.database = None
        container_secrets: Sequence[tuple[str, pulumi.Input[str]]] = ()
        if args.database is not None:
            self.database = self._database_step(name, args, checked, waits_for)
            container_secrets = [(DATASTORE_PROPERTIES_PATH, _datastore_properties(args.database))]
        self.container = host_step(
            f"{name}-container",
            connection=args.connection,
            ssh_user=args.ssh_user,
            files=checked.apply(lambda _: nexus.container_files(settings)),
            entrypoint=CONTAINER_SCRIPT,
            secret_files=container_secrets,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.prepare, self.prepare_disk, *([self.database] if self.database else []), *waits_for],
            ),
        )
        self.bootstrap = host_step(
            f"{name}-bootstrap",
            connection=args.connection,
            ssh_user=args.ssh_user,
            files=nexus.bootstrap_files(settings),
            entrypoint=BOOTSTRAP_SCRIPT,
            secret_files=_secret_files(settings),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.container]),
        )
        self.ready = self.bootstrap
        self.register_outputs({})

    def _database_step(
        self, name: str, args: NexusServerArgs, checked: pulumi.Output, waits_for: list[pulumi.Resource]
    ) -> remote.Command:
        """Create (or check) the Nexus database and refuse to strand H2 data, before the container starts."""
        settings, database = args.settings, args.database
        assert database is not None
        files = pulumi.Output.all(database.host, database.port, checked).apply(
            lambda values: nexus_database.database_files(settings, values[0], values[1], database.create_database)
        )
        secrets: list[tuple[str, pulumi.Input[str]]] = [(
            PGPASS_PATH,
            pulumi.Output.all(database.host, database.port, database.password).apply(
                lambda v: nexus_database.pgpass(v[0], v[1], database.user, v[2])
            ),
        )]
        if settings.database.migrate_from_h2:
            secrets.append((
                MIGRATOR_ARGS_PATH,
                pulumi.Output.all(database.host, database.port, database.password).apply(
                    lambda v: nexus_database.migrator_args(
                        v[0], v[1], database.name, database.user, v[2], database.ssl_mode
                    )
                ),
            ))
        return host_step(
            f"{name}-database",
            connection=args.connection,
            ssh_user=args.ssh_user,
            files=files,
            entrypoint=DATABASE_SCRIPT,
            secret_files=secrets,
            # The data directory (its H2 files, a migration's copy) is on the data disk.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.prepare, self.prepare_disk, *waits_for]),
        )


def _datastore_properties(database: DatabaseConnection) -> pulumi.Output[str]:
    return pulumi.Output.secret(
        pulumi.Output.all(database.host, database.port, database.password).apply(
            lambda v: nexus_database.datastore_properties(
                v[0], v[1], database.name, database.user, v[2], database.ssl_mode
            )
        )
    )


def _secret_files(settings: Settings) -> Sequence[tuple[str, pulumi.Input[str]]]:
    return [(path, pulumi.Output.secret(value)) for path, value in nexus.bootstrap_secret_files(settings)]
