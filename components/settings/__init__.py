"""Typed, validated view of a stack's configuration.

Every ``nexus-registry:*`` key is read here, once, into frozen pydantic models
before any resource is registered.  A bad value raises ``SettingsError`` whose
lines each name the full config key (``nexus-registry:server.sshAllowedCidrs[1]``)
and say what is allowed, so a typo never deploys half a stack.

Two sources feed the same models: the live Pulumi config (``from_pulumi``) and a
committed ``stacks/Pulumi.<stack>.yaml`` read alone (``from_stack_file``, used by
``python -m components.render``), where secrets become placeholders.

The package's layers, each importing only those above it:

- ``facts``: the namespace, defaults, Sonatype's limits, reserved names and ports;
- ``version``: ``NexusVersion``, the one parser of a sonatype/nexus3 version, and release thresholds;
- ``errors``: ``SettingsError`` (for the user) and ``KeyedError`` (a rule naming a key below its model);
- ``fields``: checks of one value and the ``Annotated`` field types built from them;
- ``base``: ``SettingsModel``, whose safety net keeps shell-special text out of every string;
- ``server``, ``models``: the server modes and the other sections (``privateDns`` among them);
- ``rules``: the cross-checks, one named function each, in the ``CROSS_CHECKS`` table;
- ``stack``: ``Settings``, the whole stack, which runs the table;
- ``messages``: pydantic's errors as one line per key (``validate``);
- ``sources``: Pulumi config and stack files in, ``Settings`` out.

Import from ``components.settings``: the names below are its interface.
"""

from pydantic import BaseModel, ValidationError

from components.settings.base import SettingsModel
from components.settings.errors import KeyedError, SettingsError
from components.settings.facts import (
    CONFIG_NAMESPACES,
    DEFAULT_DOCKER_HUB_REMOTE,
    DEFAULT_MIRROR_PORT,
    DEFAULT_PYPI_REMOTE,
    DEFAULT_YUM_REMOTE,
    DOCUMENTATION_NETWORKS,
    H2_DIRECT_MEMORY_MB,
    HOST_KEY_PLACEHOLDER,
    IMAGE_FAMILIES,
    KNOWN_DEFAULT_PASSWORDS,
    LETSENCRYPT_PRODUCTION,
    LETSENCRYPT_STAGING,
    MAINLAND_REMOTES,
    METADATA_HOSTS,
    MIN_HEAP_MB,
    MIN_HOST_MEMORY_GB,
    NAMESPACE,
    OVERSEAS_AP_REGIONS,
    PLACEHOLDER_PREFIX,
    POSTGRESQL_MAJOR_VERSIONS,
    POSTGRESQL_PASSWORD_SYMBOLS,
    REGION_KEY,
    RESERVED_DOMAINS,
    RESERVED_PORTS,
    RESERVED_TLDS,
    RESERVED_USERS,
    SECRET_KEYS,
    STACK_FILE,
    STACK_VPC_CIDR,
    TENCENT_DOCKER_MIRROR,
    TENCENT_PYPI_MIRROR,
    TENCENTCLOUD_KEYS,
    TENCENTCLOUD_REGIONS,
    CertificateValidation,
    is_mainland_region,
)
from components.settings.fields import (
    AllowChars,
    Cidr,
    DnsLabel,
    DnsName,
    NetworkCidr,
    PgIdentifier,
    RemoteUrl,
    SshHostKey,
    Url,
    ZoneName,
    database_password_problem,
    documentation_network_reason,
    is_placeholder,
    reserved_name_reason,
    secret_placeholder,
)
from components.settings.messages import validate
from components.settings.models import (
    DEFAULT_USERS,
    AcmeSettings,
    AlertSettings,
    BackupSettings,
    CleanupSettings,
    DatabaseSettings,
    LimitsSettings,
    NexusSettings,
    PrivateDnsSettings,
    RetentionSettings,
    SslConsoleSettings,
    UserSettings,
)
from components.settings.rules import CROSS_CHECKS
from components.settings.server import SERVER_MODES, CvmServer, ExistingServer, Server
from components.settings.sources import (
    config_key_problems,
    from_mapping,
    from_pulumi,
    from_stack_file,
    is_secret_setting,
    load_stack_yaml,
    plaintext_secret_problems,
    region_problems,
    runtime_plaintext_secret_problems,
    uses_tencent_provider,
    without_plaintext_secrets,
)
from components.settings.stack import Settings
from components.settings.version import (
    DEFAULT_NEXUS_VERSION,
    FIRST_H2_RELEASE,
    FIRST_POSTGRESQL_RELEASE,
    FIRST_SSRF_PROTECTION_RELEASE,
    IMAGE_TAG_VARIANTS,
    LOWER_CAPS_RELEASE,
    NexusVersion,
    release_of,
)

# The base model under its earlier name: tests/unit/test_hostile_settings.py subclasses it.
_Model = SettingsModel

__all__ = [
    # reading and validating a stack
    "Settings", "SettingsError", "from_mapping", "from_pulumi", "from_stack_file", "validate",
    "config_key_problems", "region_problems", "uses_tencent_provider",
    "plaintext_secret_problems", "without_plaintext_secrets", "load_stack_yaml",
    "is_secret_setting", "runtime_plaintext_secret_problems",
    # the models
    "AcmeSettings", "AlertSettings", "BackupSettings", "CleanupSettings", "CvmServer", "DatabaseSettings",
    "ExistingServer", "LimitsSettings", "NexusSettings", "PrivateDnsSettings", "RetentionSettings", "SERVER_MODES",
    "Server", "SettingsModel",
    "SslConsoleSettings", "UserSettings", "DEFAULT_USERS", "CROSS_CHECKS", "KeyedError",
    # Nexus versions
    "NexusVersion", "DEFAULT_NEXUS_VERSION", "IMAGE_TAG_VARIANTS", "FIRST_H2_RELEASE", "FIRST_POSTGRESQL_RELEASE",
    "LOWER_CAPS_RELEASE", "FIRST_SSRF_PROTECTION_RELEASE", "release_of",
    # field types and single-value checks
    "AllowChars", "Cidr", "DnsLabel", "DnsName", "NetworkCidr", "PgIdentifier", "RemoteUrl", "SshHostKey", "Url",
    "ZoneName", "database_password_problem", "documentation_network_reason", "reserved_name_reason",
    "is_placeholder", "secret_placeholder", "is_mainland_region", "CertificateValidation",
    # facts
    "NAMESPACE", "REGION_KEY", "SECRET_KEYS", "PLACEHOLDER_PREFIX", "STACK_FILE", "CONFIG_NAMESPACES",
    "TENCENTCLOUD_KEYS", "TENCENTCLOUD_REGIONS",
    "DEFAULT_DOCKER_HUB_REMOTE", "DEFAULT_PYPI_REMOTE", "DEFAULT_YUM_REMOTE",
    "TENCENT_DOCKER_MIRROR", "TENCENT_PYPI_MIRROR", "OVERSEAS_AP_REGIONS", "MAINLAND_REMOTES", "MIN_HEAP_MB",
    "MIN_HOST_MEMORY_GB", "HOST_KEY_PLACEHOLDER", "H2_DIRECT_MEMORY_MB", "METADATA_HOSTS",
    "LETSENCRYPT_PRODUCTION", "LETSENCRYPT_STAGING",
    "KNOWN_DEFAULT_PASSWORDS", "IMAGE_FAMILIES", "RESERVED_USERS", "DEFAULT_MIRROR_PORT", "RESERVED_PORTS",
    "RESERVED_DOMAINS", "RESERVED_TLDS", "STACK_VPC_CIDR", "DOCUMENTATION_NETWORKS", "POSTGRESQL_MAJOR_VERSIONS",
    "POSTGRESQL_PASSWORD_SYMBOLS",
    # pydantic's, as the tests reach them through this package
    "BaseModel", "ValidationError",
]
