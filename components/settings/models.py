"""The sections of a stack's settings below the top level: nexus, users, acme, sslConsole, backup, database,
privateDns."""

from __future__ import annotations

import re
import typing
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.i18n import _
from components.settings.base import SettingsModel
from components.settings.errors import KeyedError
from components.settings.facts import (
    DEFAULT_DOCKER_HUB_REMOTE,
    DEFAULT_PYPI_REMOTE,
    DEFAULT_YUM_REMOTE,
    H2_DIRECT_MEMORY_MB,
    LETSENCRYPT_PRODUCTION,
    LETSENCRYPT_STAGING,
    MIN_HEAP_MB,
    POSTGRESQL_MAJOR_VERSIONS,
    RESERVED_USERS,
)
from components.settings.fields import (
    DIGEST,
    DOCKER_HUB_USERNAME,
    EMAIL,
    NEXUS_USER,
    PRIVATE_ZONE_ID,
    SHA256_HEX,
    SSL_CERTIFICATE_ID,
    AllowChars,
    PgIdentifier,
    PlaceholderValue,
    RemoteUrl,
    host_address,
    not_documentation_value,
    url,
)
from components.settings.version import (
    DEFAULT_NEXUS_VERSION,
    FIRST_H2_RELEASE,
    IMAGE_TAG_VARIANTS,
    MIGRATOR_VERSION,
    NexusVersion,
)

# --- nexus -------------------------------------------------------------------


class CleanupSettings(SettingsModel):
    """Storage lifecycle (components.render.nexus_lifecycle): what is deleted, and when the tasks run.

    Day counts of 0 turn a criterion off; hosted images are never deleted unless opted in.
    """

    proxy_unused_days: int = Field(default=30, ge=0, le=3650)
    hosted_unused_days: int = Field(default=0, ge=0, le=3650)
    hosted_age_days: int = Field(default=0, ge=0, le=3650)
    hour: int = Field(default=0, ge=0, le=23)
    incomplete_upload_hours: int = Field(default=24, ge=1, le=8760)
    unused_manifest_hours: int = Field(default=24, ge=1, le=8760)


# Release-like tags and latest: never deleted by retention unless the stack says otherwise.
DEFAULT_RETENTION_PROTECT = (r"^v?[0-9]+(\.[0-9]+){1,2}$", r"^latest$")
# Regular-expression syntax that jq (Oniguruma, on the host) and Python (here) read alike.
RetentionPattern = typing.Annotated[str, AllowChars("$(){}|^\\[]*+?.")]


class RetentionSettings(SettingsModel):
    """Keep-last-N retention of docker-hosted (components.render.nexus_retention): Nexus CE has no such rule.

    ``keepLast`` newest tags per image are kept; a tag matching a ``protect`` expression is never deleted;
    with ``olderThanDays`` only tags older than that are deleted.  ``keepLast: 0`` turns retention off.
    """

    keep_last: int = Field(default=30, ge=0, le=100000)
    protect: tuple[RetentionPattern, ...] = DEFAULT_RETENTION_PROTECT
    older_than_days: int | None = Field(default=None, ge=1, le=3650)

    @field_validator("protect")
    @classmethod
    def _patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for index, pattern in enumerate(value):
            if "$" in pattern.replace("\\$", "")[:-1]:
                raise KeyedError((index,), _("{pattern!r}: a $ may only end the expression (an anchor), "
                                             "or be escaped as \\$").format(pattern=pattern))
            if "(?" in pattern:
                raise KeyedError((index,), _("{pattern!r}: groups with (? are not allowed (the host matches with "
                                             "jq's Oniguruma engine); use plain ( ) groups, [ ], ^ $ . * + ? "
                                             "{{n,m}} |").format(pattern=pattern))
            try:
                re.compile(pattern)
            except re.error as error:
                raise KeyedError((index,), _("{pattern!r} is not a regular expression: {error}").format(
                    pattern=pattern, error=error)) from None
        return value


class NexusSettings(SettingsModel):
    version: str = DEFAULT_NEXUS_VERSION
    heap_mb: int | None = Field(default=None, ge=1024, le=65536)
    allow_below_minimum_memory: bool = False
    anonymous_pull: bool = True
    # Team images (docker-hosted, read through docker-group) readable without a login: an explicit opt-in.
    anonymous_team_images: bool = False
    docker_hub_remote: RemoteUrl = DEFAULT_DOCKER_HUB_REMOTE
    docker_hub_username: str | None = None
    image_digest: str | None = None
    pypi_proxy: bool = True
    pypi_remote: RemoteUrl = DEFAULT_PYPI_REMOTE
    yum_proxy: bool = True
    yum_remote: RemoteUrl = DEFAULT_YUM_REMOTE
    allow_downgrade: bool = False
    cleanup: CleanupSettings = CleanupSettings()
    retention: RetentionSettings = RetentionSettings()
    blob_store_quota_gb: int | None = Field(default=None, ge=0, le=32000)
    accept_community_caps: bool = False

    @field_validator("version")
    @classmethod
    def _pinned(cls, value: str) -> str:
        if not NexusVersion.is_image_tag(value):
            forms = ", ".join(f"'3.x.y{variant}'" for variant in IMAGE_TAG_VARIANTS)
            raise ValueError(_(
                "{value!r} is not a sonatype/nexus3 release tag; use one of {forms} "
                "(e.g. {default!r}; never 'latest', no build suffix like '-01')"
            ).format(value=value, forms=forms, default=DEFAULT_NEXUS_VERSION))
        return value

    @field_validator("docker_hub_username")
    @classmethod
    def _docker_id(cls, value: str | None) -> str | None:
        if value is not None and not DOCKER_HUB_USERNAME.fullmatch(value):
            raise ValueError(_("{value!r} is not a Docker Hub user name (4-30 of a-z, 0-9, '-', '_')").format(
                value=value))
        return value

    @field_validator("image_digest")
    @classmethod
    def _digest(cls, value: str | None) -> str | None:
        if value is not None and not DIGEST.fullmatch(value):
            raise ValueError(_(
                "{value!r} is not an image digest (sha256: and 64 lowercase hex digits, as `docker buildx imagetools "
                "inspect sonatype/nexus3:<version>` prints)"
            ).format(value=value))
        return value

    @property
    def version_info(self) -> NexusVersion:
        """``version`` parsed: its release, variant and the names derived from them."""
        return NexusVersion.parse(self.version)

    @property
    def release(self) -> tuple[int, int, int]:
        return self.version_info.release

    @property
    def runs_orientdb(self) -> bool:
        """Releases before 3.71 run OrientDB; later ones H2 or PostgreSQL."""
        return self.version_info < FIRST_H2_RELEASE

    @property
    def direct_memory_mb(self) -> int | None:
        """Fixed direct memory for H2/PostgreSQL; None for OrientDB, where it follows the heap."""
        return None if self.runs_orientdb else H2_DIRECT_MEMORY_MB

    @model_validator(mode="after")
    def _heap_minimum(self) -> NexusSettings:
        if self.heap_mb is not None and self.heap_mb < MIN_HEAP_MB and not self.allow_below_minimum_memory:
            raise KeyedError(
                ("heapMb",),
                _("{heap} is below Sonatype's minimum heap of {minimum} MB; raise it, or set "
                  "nexus.allowBelowMinimumMemory: true to accept an unsupported size").format(
                    heap=self.heap_mb, minimum=MIN_HEAP_MB),
            )
        return self

    @model_validator(mode="after")
    def _anonymous(self) -> NexusSettings:
        if self.anonymous_team_images and not self.anonymous_pull:
            raise KeyedError(("anonymousTeamImages",), _("needs nexus.anonymousPull: true"))
        return self


# --- alerts --------------------------------------------------------------------


class AlertSettings(SettingsModel):
    """Cloud Monitor receivers (components.monitoring): CAM users and user groups, and how to tell them.

    No receiver, no Cloud Monitor alarms; the host's webhook notifier (``alertWebhooks``) is separate.
    """

    cam_user_ids: tuple[int, ...] = ()
    cam_group_ids: tuple[int, ...] = ()
    # AlarmNotice user_notices.notice_way (monitor/resource_tc_monitor_alarm_notice.go): EMAIL, SMS, CALL,
    # WECHAT, RTX (WeCom).
    notify_ways: tuple[Literal["EMAIL", "SMS", "CALL", "WECHAT", "RTX"], ...] = ("EMAIL",)

    @field_validator("cam_user_ids", "cam_group_ids")
    @classmethod
    def _ids(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        for index, item in enumerate(value):
            if item < 1:
                raise KeyedError((index,), _("{item} is not a CAM id (a positive number: the sub-user's UIN or "
                                             "the user group's id, in the CAM console)").format(item=item))
        return value

    @field_validator("notify_ways")
    @classmethod
    def _ways(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError(_("must not be empty: at least one of EMAIL, SMS, CALL, WECHAT, RTX"))
        return value

    @property
    def has_receivers(self) -> bool:
        return bool(self.cam_user_ids or self.cam_group_ids)


# --- users, certificates, backup -------------------------------------------------


class UserSettings(SettingsModel):
    """A Nexus user this program creates and keeps in step; its password is ``userPasswords.<name>``."""

    name: str
    # metrics: read-only access to Nexus's Prometheus endpoint (nx-metrics-all), for a scraper.
    role: Literal["push", "pull", "metrics"]

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NEXUS_USER.fullmatch(value):
            raise ValueError(_(
                "{value!r} is not a user name (1-64 of a-z, 0-9, '.', '_', '-', starting with a letter)").format(
                value=value))
        if value in RESERVED_USERS:
            raise ValueError(_("{value!r} is Nexus's own user; pick another name").format(value=value))
        return value


DEFAULT_USERS = (UserSettings(name="ci", role="push"),)


class AcmeSettings(SettingsModel):
    email: str | None = None
    server: str = LETSENCRYPT_PRODUCTION

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.fullmatch(value):
            raise ValueError(_("{value!r} is not an e-mail address").format(value=value))
        if value is not None:
            not_documentation_value(value.rpartition("@")[2], _("your own e-mail address"))
        return value

    @field_validator("server")
    @classmethod
    def _server(cls, value: str) -> str:
        shorthands = {"letsencrypt": LETSENCRYPT_PRODUCTION, "letsencrypt-staging": LETSENCRYPT_STAGING}
        value = shorthands.get(value, value)
        try:
            return url(value, ("https",))
        except PlaceholderValue:
            raise
        except ValueError:
            raise ValueError(_(
                "{value!r} is not an ACME directory; use an https:// URL, letsencrypt or letsencrypt-staging"
            ).format(value=value)) from None


class SslConsoleSettings(SettingsModel):
    """``certificate: ssl-console``: which certificate of Tencent's SSL console serves each hostname.

    Unset: the newest issued, unexpired certificate (with its private key) that covers the
    hostname, looked up on every ``pulumi up``, so a renewal in the console is picked up.
    """

    web_certificate_id: str | None = None
    registry_certificate_id: str | None = None

    @field_validator("web_certificate_id", "registry_certificate_id")
    @classmethod
    def _certificate_id(cls, value: str | None) -> str | None:
        if value is not None and not SSL_CERTIFICATE_ID.match(value):
            raise ValueError(_(
                "{value!r} is not an SSL console certificate id (e.g. a1B2c3D4, from the console's list)").format(
                value=value))
        return value

    @property
    def names_certificates(self) -> bool:
        """Whether the stack names a certificate (only meaningful with ``certificate: ssl-console``)."""
        return self != SslConsoleSettings()


class BackupSettings(SettingsModel):
    retain_days: int = Field(default=7, ge=0, le=365)
    hour: int = Field(default=3, ge=0, le=23)
    database_keep_days: int = Field(default=3, ge=1, le=365)

    @property
    def enabled(self) -> bool:
        return self.retain_days > 0


# --- database ---------------------------------------------------------------------


class DatabaseSettings(SettingsModel):
    """Where Nexus keeps its database: embedded H2 on the data disk, or PostgreSQL.

    ``cvm`` stacks get a TencentDB for PostgreSQL instance in their own VPC
    (``version``, ``memoryGb``, ``storageGb``, ``backupRetainDays``); ``existing``
    servers name a database they already have (``host``, ``port``, ``name``, ``user``).
    """

    engine: Literal["h2", "postgresql"] = "h2"
    version: str = "16"
    memory_gb: int = Field(default=4, ge=1, le=512)
    storage_gb: int = Field(default=50, ge=10, le=6000)
    backup_retain_days: int = Field(default=7, ge=7, le=1830)
    host: str | None = None
    port: int = Field(default=5432, ge=1, le=65535)
    name: PgIdentifier = "nexus"
    user: PgIdentifier = "nexus"
    ssl_mode: Literal["require", "disable"] = "require"
    migrate_from_h2: bool = False
    migrator_version: str | None = None
    migrator_sha256: str | None = None

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if value not in POSTGRESQL_MAJOR_VERSIONS:
            raise ValueError(_("{value!r} is not allowed; expected one of {allowed}").format(
                value=value, allowed=", ".join(POSTGRESQL_MAJOR_VERSIONS)))
        return value

    @field_validator("migrator_version")
    @classmethod
    def _migrator_version(cls, value: str | None) -> str | None:
        # Sonatype names the jar nexus-db-migrator-<version>-<build>.jar; its build can differ from
        # the image's (nexus-public #451: Nexus 3.70.1-02, migrator 3.70.1-03).
        if value is not None and not MIGRATOR_VERSION.fullmatch(value):
            raise ValueError(_("{value!r} is not a migrator version-build such as '3.93.2-03' "
                               "(the <version>-<build> of Sonatype's nexus-db-migrator-<version>-<build>.jar)").format(
                value=value))
        return value

    @field_validator("migrator_sha256")
    @classmethod
    def _migrator_sha256(cls, value: str | None) -> str | None:
        if value is not None and not SHA256_HEX.fullmatch(value):
            raise ValueError(_("{value!r} is not a SHA-256 (64 lowercase hex digits, as sha256sum prints)").format(
                value=value))
        return value

    @field_validator("storage_gb")
    @classmethod
    def _storage(cls, value: int) -> int:
        if value % 10:
            raise ValueError(_("{value!r} is not a multiple of 10 (TencentDB's storage step)").format(value=value))
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        return value if value is None else host_address(value)

    @field_validator("user")
    @classmethod
    def _user_name(cls, value: str) -> str:
        # TencentDB refuses "postgres" and names starting with pg_ or tencentdb_ for its accounts.
        if value == "postgres" or value.startswith(("pg_", "tencentdb_")):
            raise ValueError(_("{value!r} is reserved; choose another database user").format(value=value))
        return value

    @property
    def postgresql(self) -> bool:
        return self.engine == "postgresql"


# --- front-door limits (nginx, per client address) ----------------------------------------


class LimitsSettings(SettingsModel):
    """Per-address budgets nginx enforces in front of Nexus (README: Who can read and write).

    Each is "at most N in any window, bursts included"; ``render.nginx.budgets`` turns it into
    an nginx rate and burst.  Defaults come from Nexus CE's caps (100,000 requests a day,
    40,000 components): no address spends a tenth of either in an hour.
    """

    # Requests with Basic credentials (any host, any path) plus UI logins: each is a password check.
    password_checks_per_minute: int = Field(default=60, ge=2, le=6000)
    # Every request to Nexus, anonymous or not (CE counts them all, failed ones included).
    requests_per_hour: int = Field(default=9000, ge=100, le=10_000_000)
    # Manifest requests, which create components (a new Docker Hub tag pulled, a push).
    manifests_per_hour: int = Field(default=3600, ge=100, le=10_000_000)
    # Requests in progress at once from one address (nginx limit_conn).
    connections_per_address: int = Field(default=256, ge=16, le=2048)


# --- the private path ----------------------------------------------------------------


class PrivateDnsSettings(SettingsModel):
    """``privateDns``: both hostnames resolve to the host's private address inside the stack's VPC.

    A Tencent Cloud Private DNS zone for ``domain``, bound to the VPC a cvm stack creates, holds A
    records for the web and registry names, so CVMs and cluster nodes in that VPC reach the registry
    over the private network with the same names and certificate (components.private_dns).
    ``enabled`` unset means on for cvm stacks; ``zoneId`` adopts a zone the account already has for
    the domain instead of creating one (README: The private path).
    """

    enabled: bool | None = None
    zone_id: str | None = None

    @field_validator("zone_id")
    @classmethod
    def _zone_id(cls, value: str | None) -> str | None:
        if value is not None and not PRIVATE_ZONE_ID.fullmatch(value):
            raise ValueError(_(
                "{value!r} is not a Private DNS zone id (zone- and 6-16 of a-z, 0-9, e.g. zone-6xg5xgky)").format(
                value=value))
        return value
