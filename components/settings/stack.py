"""``Settings``: everything one stack needs, validated, and the names derived from it."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from components.i18n import _
from components.settings.base import SettingsModel
from components.settings.errors import KeyedError
from components.settings.facts import DEFAULT_MIRROR_PORT, RESERVED_PORTS, STACK_VPC_CIDR, CertificateValidation
from components.settings.fields import (
    NGINX_SIZE,
    STACK_NAME,
    DnsLabel,
    NetworkCidr,
    ZoneName,
    check_password,
    database_password_problem,
    is_placeholder,
    webhook_url_problem,
)
from components.settings.models import (
    DEFAULT_USERS,
    AcmeSettings,
    AlertSettings,
    BackupSettings,
    DatabaseSettings,
    LimitsSettings,
    NexusSettings,
    PrivateDnsSettings,
    SslConsoleSettings,
    UserSettings,
)
from components.settings.rules import CROSS_CHECKS
from components.settings.server import Server


class Settings(SettingsModel):
    """Everything one stack needs, validated; secrets are ``SecretStr``."""

    stack: str
    domain: ZoneName
    web_host: DnsLabel = "nexus"
    registry_host: DnsLabel = "docker-registry"
    dns: Literal["dnspod", "none"] = "dnspod"
    certificate: Literal["tencent", "acme", "self-signed", "ssl-console"] = "tencent"
    certificate_validation: CertificateValidation | None = None
    acme: AcmeSettings = AcmeSettings()
    ssl_console: SslConsoleSettings = SslConsoleSettings()
    server: Server
    nexus: NexusSettings = NexusSettings()
    admin_password: SecretStr
    ssh_private_key: SecretStr | None = None
    docker_hub_token: SecretStr | None = None
    protect: bool = False
    renew_before_days: int = Field(default=30, ge=1, le=60)
    backup: BackupSettings | None = None
    web_max_upload_size: str = "1g"
    database: DatabaseSettings = DatabaseSettings()
    database_password: SecretStr | None = None
    users: tuple[UserSettings, ...] = DEFAULT_USERS
    user_passwords: dict[str, SecretStr] = {}
    registry_mirror_port: int = Field(default=DEFAULT_MIRROR_PORT, ge=1024, le=65535)
    web_allowed_cidrs: list[NetworkCidr] | None = Field(default=None, min_length=1)
    registry_allowed_cidrs: list[NetworkCidr] | None = Field(default=None, min_length=1)
    registry_mirror_allowed_cidrs: list[NetworkCidr] | None = Field(default=None, min_length=1)
    limits: LimitsSettings = LimitsSettings()
    private_dns: PrivateDnsSettings = PrivateDnsSettings()
    # Who may scrape Nexus's Prometheus endpoint through nginx; nobody when unset.
    metrics_allowed_cidrs: list[NetworkCidr] | None = Field(default=None, min_length=1)
    # Webhooks the health notifier posts to (WeCom, Feishu, DingTalk or any JSON receiver); each a secret.
    alert_webhooks: tuple[SecretStr, ...] = ()
    # Cloud Monitor alarms of a cvm stack (CAM receivers); none without a receiver.
    alerts: AlertSettings = AlertSettings()

    @field_validator("stack")
    @classmethod
    def _stack_name(cls, value: str) -> str:
        if not STACK_NAME.fullmatch(value):
            raise ValueError(_("{value!r} is not a stack name (letters, digits, '-', '_', '.')").format(value=value))
        return value

    @field_validator("admin_password")
    @classmethod
    def _password(cls, value: SecretStr) -> SecretStr:
        if not is_placeholder(value):
            check_password(value.get_secret_value())
        return value

    @field_validator("registry_mirror_port")
    @classmethod
    def _mirror_port(cls, value: int) -> int:
        if value in RESERVED_PORTS:
            taken = ", ".join(str(port) for port in sorted(RESERVED_PORTS))
            raise ValueError(_("{value} is already used on the host ({taken} are taken)").format(
                value=value, taken=taken))
        return value

    @field_validator("ssh_private_key")
    @classmethod
    def _private_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or is_placeholder(value):
            return value
        text = value.get_secret_value()
        if not re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", text):
            if re.fullmatch(r"\s*[~./]?[^\s]*/[^\s]*\s*|\s*id_[a-z0-9]+\s*", text):
                # `pulumi config set --secret sshPrivateKey ~/.ssh/id_ed25519` stores the path, not the key.
                raise ValueError(_("holds a file path, not the key: pass the file's content with "
                                   "`pulumi config set --secret sshPrivateKey < path` (note the <)"))
            raise ValueError(_("is not a PEM or OpenSSH private key (-----BEGIN ... PRIVATE KEY-----); "
                               "set it from the key file: `pulumi config set --secret sshPrivateKey < path`"))
        return value

    @field_validator("database_password")
    @classmethod
    def _database_password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or is_placeholder(value):
            return value
        problem = database_password_problem(value.get_secret_value())
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("alert_webhooks", mode="before")
    @classmethod
    def _webhook_list(cls, value: object) -> object:
        # Checked before pydantic's own errors, which would print the value (a token) back.
        if not isinstance(value, (list, tuple)) or not all(isinstance(item, (str, SecretStr)) for item in value):
            raise ValueError(_("is a list of webhook URLs, each a secret: "
                               "pulumi config set --secret --path 'alertWebhooks[0]' <url>"))
        return value

    @field_validator("alert_webhooks")
    @classmethod
    def _webhooks(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for index, url in enumerate(value):
            problem = None if is_placeholder(url) else webhook_url_problem(url.get_secret_value())
            if problem:
                raise KeyedError((index,), problem)
        return value

    @field_validator("web_max_upload_size")
    @classmethod
    def _nginx_size(cls, value: str) -> str:
        if not NGINX_SIZE.fullmatch(value):
            raise ValueError(_("{value!r} is not an nginx size (a number with optional k, m or g, e.g. 1g)").format(
                value=value))
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        """Every rule of ``rules.CROSS_CHECKS``, in order, once every field is valid."""
        for rule in CROSS_CHECKS:
            rule(self)
        return self

    # Derived names used everywhere; computed here so no module rebuilds them.
    @property
    def web_fqdn(self) -> str:
        return f"{self.web_host}.{self.domain}"

    @property
    def registry_fqdn(self) -> str:
        return f"{self.registry_host}.{self.domain}"

    @property
    def ci_user(self) -> UserSettings:
        """The first push user: the one whose ``docker login`` line is a stack output."""
        return next(user for user in self.users if user.role == "push")

    @property
    def mirror_enabled(self) -> bool:
        """The anonymous Docker Hub mirror endpoint exists only when anonymous pulls are on."""
        return self.nexus.anonymous_pull

    @property
    def private_dns_enabled(self) -> bool:
        """The private path (a Private DNS zone in the stack's VPC): on by default for cvm stacks only."""
        enabled = self.private_dns.enabled
        return self.server.is_cvm if enabled is None else enabled

    @property
    def private_network_cidr(self) -> str | None:
        """The stack's own VPC when the private path is on: its clients reach the host from there."""
        return STACK_VPC_CIDR if self.private_dns_enabled and self.server.is_cvm else None

    def with_private_network(self, cidrs: list[str] | None) -> list[str] | None:
        """An allow-list plus the stack's VPC when the private path is on (no list stays no list)."""
        vpc = self.private_network_cidr
        if cidrs is None or vpc is None or vpc in cidrs:
            return cidrs
        return [*cidrs, vpc]

    @property
    def resource_label(self) -> str:
        """Prefix of every cloud resource name: Tencent caps names at 60 characters, suffixes need ~25."""
        cleaned = re.sub(r"[^a-z0-9-]+", "-", f"nexus-registry-{self.stack}".lower())
        return cleaned[:35].rstrip("-")

    @property
    def effective_blob_store_quota_gb(self) -> int:
        """The soft quota in GiB (0: none): unset means 80 % of the CBS data disk, none on other servers."""
        if self.nexus.blob_store_quota_gb is not None:
            return self.nexus.blob_store_quota_gb
        if self.server.is_cvm:
            return self.server.data_disk_gb * 8 // 10
        return 0

    @property
    def effective_backup(self) -> BackupSettings:
        """Backups are on by default in ``prod`` only, and only where snapshots exist."""
        if self.backup is not None:
            return self.backup
        on = self.stack == "prod" and self.server.is_cvm
        return BackupSettings(retain_days=7 if on else 0)
