"""NexusDatabase: the PostgreSQL that Nexus keeps its database in (``database.engine: postgresql``).

Sonatype supports embedded H2 only up to about 20,000 requests a day; above that
Nexus Community Edition runs on one external PostgreSQL.  On a ``cvm`` stack this
component creates it as TencentDB for PostgreSQL, a managed, replicated and
backed-up service, in the host's VPC, subnet and zone:

- its own security group, which lets in PostgreSQL (5432) from the CVM's security
  group and nothing else (no public access);
- a root account named ``database.user`` whose password is the ``databasePassword``
  secret, or one generated here (kept secret in state);
- SSL on the private address, so the JDBC connection is encrypted
  (``sslmode=require``);
- TencentDB's daily backups, kept ``database.backupRetainDays``; ``protect``
  covers the instance as it covers the data disk.

On an ``existing`` server the stack names a database it already has; nothing is
created.  Either way the component exposes one ``DatabaseConnection`` for the
host steps (``components.nexus_server``), which write it to a root-only env file.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random
from pydantic import SecretStr
from tencentcloud_iac_pulumi import postgresql, security

from components.host import HostNetwork
from components.settings import POSTGRESQL_PASSWORD_SYMBOLS, DatabaseSettings, Settings

POSTGRESQL_PORT = 5432
# Symbols from the provider's password rule that are also inert in a docker env
# file and a JDBC URL (no quotes, '#', '&', '%' or '$').
GENERATED_PASSWORD_SYMBOLS = "_-+=^*()"
assert set(GENERATED_PASSWORD_SYMBOLS) <= set(POSTGRESQL_PASSWORD_SYMBOLS)
EVERY_DAY = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@dataclass(frozen=True)
class DatabaseConnection:
    """How Nexus reaches its PostgreSQL."""

    host: pulumi.Output[str]
    port: pulumi.Output[int]
    name: str
    user: str
    password: pulumi.Output[str]
    """Secret."""
    ssl_mode: str
    create_database: bool
    """Whether the host step creates ``name`` (TencentDB starts with none); existing servers bring theirs."""


@dataclass(frozen=True)
class NexusDatabaseArgs:
    database: DatabaseSettings
    """``database``: engine, name, user, size and version, or the existing server's database."""
    password: SecretStr | None
    """``databasePassword``; None on cvm generates one (required on existing, enforced by Settings)."""
    label: str
    """``Settings.resource_label``: the name of every cloud resource."""
    protect: bool
    backup_hour: int
    """``backup.hour``: TencentDB's daily backup starts in that hour, with the data disk's snapshot."""
    network: HostNetwork | None
    """The CVM's network (cvm stacks: TencentDB joins it); None on an existing server."""

    @classmethod
    def from_settings(cls, settings: Settings, network: HostNetwork | None) -> NexusDatabaseArgs:
        return cls(database=settings.database, password=settings.database_password, label=settings.resource_label,
                   protect=settings.protect, backup_hour=settings.effective_backup.hour, network=network)


class NexusDatabase(pulumi.ComponentResource):
    """TencentDB for PostgreSQL next to the CVM, or the database an existing server names."""

    connection: DatabaseConnection
    instance: postgresql.Instance | None

    def __init__(self, name: str, args: NexusDatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nexus-registry:database:NexusDatabase", name, None, opts)
        database = args.database
        self.instance = None
        if args.network is not None:
            self.connection = self._build_tencentdb(name, args, args.network)
        else:
            assert database.host is not None and args.password is not None  # enforced by Settings
            self.connection = DatabaseConnection(
                host=pulumi.Output.from_input(database.host),
                port=pulumi.Output.from_input(database.port),
                name=database.name,
                user=database.user,
                password=pulumi.Output.secret(args.password.get_secret_value()),
                ssl_mode=database.ssl_mode,
                create_database=False,
            )
        self.register_outputs({"host": self.connection.host, "port": self.connection.port})

    def _build_tencentdb(self, name: str, args: NexusDatabaseArgs, network: HostNetwork) -> DatabaseConnection:
        database = args.database
        child = pulumi.ResourceOptions(parent=self)
        label = args.label
        if args.password is not None:
            password = pulumi.Output.secret(args.password.get_secret_value())
        else:
            generated = random.RandomPassword(
                f"{name}-password", length=32, special=True, override_special=GENERATED_PASSWORD_SYMBOLS,
                min_lower=1, min_upper=1, min_numeric=1, min_special=1, opts=child,
            )
            password = pulumi.Output.secret(generated.result)

        group = security.Group(
            f"{name}-sg", name=f"{label}-db", description="nexus-registry: PostgreSQL from the Nexus host only",
            opts=child,
        )
        security.GroupRuleSet(
            f"{name}-sg-rules",
            security_group_id=group.id,
            ingresses=[
                security.GroupRuleSetIngressArgs(
                    action="ACCEPT", protocol="TCP", port=str(POSTGRESQL_PORT),
                    source_security_id=network.security_group_id, description="PostgreSQL from the Nexus host",
                ),
                security.GroupRuleSetIngressArgs(
                    action="DROP", protocol="ALL", port="ALL", cidr_block="0.0.0.0/0", description="everything else",
                ),
            ],
            opts=child,
        )
        backup_hour = args.backup_hour
        self.instance = postgresql.Instance(
            f"{name}-postgresql",
            name=f"{label}-db",
            charge_type="POSTPAID_BY_HOUR",
            vpc_id=network.vpc_id,
            subnet_id=network.subnet_id,
            availability_zone=network.availability_zone,
            security_groups=[group.id],
            db_major_version=database.version,
            memory=database.memory_gb,
            storage=database.storage_gb,
            root_user=database.user,
            root_password=password,
            charset="UTF8",
            public_access_switch=False,
            delete_protection=args.protect,
            backup_plan=postgresql.InstanceBackupPlanArgs(
                min_backup_start_time=f"{backup_hour:02d}:00:00",
                max_backup_start_time=f"{(backup_hour + 1) % 24:02d}:00:00",
                base_backup_retention_period=database.backup_retain_days,
                backup_periods=EVERY_DAY,
            ),
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, retain_on_delete=args.protect,
                # The provider does not mark the root password sensitive in outputs.
                additional_secret_outputs=["root_password"],
            ),
        )
        postgresql.InstanceSslConfig(
            f"{name}-ssl", db_instance_id=self.instance.id, ssl_enabled=True,
            connect_address=self.instance.private_access_ip, opts=child,
        )
        return DatabaseConnection(
            host=self.instance.private_access_ip,
            port=self.instance.private_access_port.apply(lambda port: port or POSTGRESQL_PORT),
            name=database.name,
            user=database.user,
            password=password,
            ssl_mode="require",
            create_database=True,
        )
