"""Typed, validated view of a stack's configuration.

Every ``nexus-registry:*`` key is read here, once, into frozen pydantic models
before any resource is registered.  A bad value raises ``SettingsError`` whose
lines each name the full config key (``nexus-registry:server.sshAllowedCidrs[1]``)
and say what is allowed, so a typo never deploys half a stack.

Two sources feed the same models: the live Pulumi config (``from_pulumi``) and a
committed ``stacks/Pulumi.<stack>.yaml`` read alone (``from_stack_file``, used by
``python -m components.render``), where secrets become placeholders.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import ipaddress
import json
import os
import re
import typing
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

NAMESPACE = "nexus-registry"
REGION_KEY = "tencentcloud:region"
SECRET_KEYS = ("adminPassword", "sshPrivateKey", "dockerHubToken", "databasePassword", "userPasswords")
PLACEHOLDER_PREFIX = "<secret:"

# 3.93.2: the newest release published as an image (sonatype/docker-nexus3, release-3.93.2-01)
# that is outside every advisory below that could touch this stack: it has the fixes for
# CVE-2026-3199 (task RCE, < 3.91.0) and CVE-2026-7308 (XSS, < 3.92.0), has Nexus's SSRF
# protection API (3.92+, CVE-2026-0600), and predates the OCI-attestation XSS of 3.94.0-3.97.x
# (CVE-2026-113369).  Its one open advisory, CVE-2026-17594 (< 3.95.0), needs a delegated
# repository-admin role, which this stack never creates.  requirements-dev.txt pins
# nexus-api-client to the same release so payloads are checked against its models.
DEFAULT_NEXUS_VERSION = "3.93.2"
DEFAULT_DOCKER_HUB_REMOTE = "https://registry-1.docker.io"
DEFAULT_PYPI_REMOTE = "https://pypi.org/"
DEFAULT_YUM_REMOTE = "https://mirrors.cloud.tencent.com/rocky/"
TENCENT_DOCKER_MIRROR = "https://mirror.ccs.tencentyun.com"
# Tencent's PyPI mirror (HTTPS; Nexus appends /simple/), reachable from every mainland region.
TENCENT_PYPI_MIRROR = "https://mirrors.cloud.tencent.com/pypi/"
# Tencent regions outside the mainland: Docker Hub and PyPI are reachable from them.  Every
# other ``ap-*`` region is on the mainland, where the proxies default to Tencent's mirrors.
OVERSEAS_AP_REGIONS = frozenset(
    {"ap-hongkong", "ap-taipei", "ap-singapore", "ap-bangkok", "ap-jakarta", "ap-mumbai", "ap-seoul", "ap-tokyo"}
)

# Sonatype's memory requirements (help.sonatype.com, "System Requirements"): a heap of at
# least 2703 MB (the image's documented default), a host with at least 8 GB, and heap plus
# direct memory at most two thirds of the host's RAM.
MIN_HEAP_MB = 2703
MIN_HOST_MEMORY_GB = 8
# Sonatype sizes direct memory like the heap for OrientDB only (before 3.71); H2 and
# PostgreSQL need only the JVM's I/O buffers, capped so the JVM default (= heap) cannot
# silently double the memory budget.
H2_DIRECT_MEMORY_MB = 1024
FIRST_H2_RELEASE = (3, 71, 0)
# 3.87 lowered the Community Edition caps (nexus-public #883): crossing it needs nexus.acceptCommunityCaps.
LOWER_CAPS_RELEASE = (3, 87, 0)
# Sonatype's SSRF protection (GET/PUT /v1/security/ssrf-protection), the CVE-2026-0600 mitigation.
FIRST_SSRF_PROTECTION_RELEASE = (3, 92, 0)
# Hosts and networks a proxy must never reach (CVE-2026-0600): cloud metadata services and
# link-local addresses (Tencent's metadata.tencentyun.com is 169.254.0.23).
METADATA_HOSTS = frozenset(
    {"metadata.tencentyun.com", "metadata.google.internal", "metadata.azure.com", "instance-data",
     "instance-data.ec2.internal", "localhost"}
)
LETSENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory"
LETSENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"

# Passwords that ship with Nexus or appear in every tutorial: refusing them keeps
# a copy-pasted example from becoming the production admin password.
KNOWN_DEFAULT_PASSWORDS = frozenset(
    {"admin123", "admin1234567", "admin123456789", "password1234", "changeme1234",
     "nexus1234567", "123456789012", "adminadmin12", "passwordpassword"}
)

# OS images the host scripts support, as CVM public-image name patterns.
IMAGE_FAMILIES: dict[str, str] = {
    "ubuntu-22.04": "Ubuntu Server 22.04 LTS 64",
    "ubuntu-24.04": "Ubuntu Server 24.04 LTS 64",
    "debian-12": "Debian 12",
    "tencentos-3": "TencentOS Server 3",
    "tencentos-4": "TencentOS Server 4",
    "opencloudos-8": "OpenCloudOS 8",
    "opencloudos-9": "OpenCloudOS 9",
    "rocky-8": "Rocky Linux 8",
    "rocky-9": "Rocky Linux 9",
}

# Every pattern is applied with ``fullmatch``: Python's ``$`` also matches before a
# trailing newline, so "nexus\n" would pass a ``^...$`` check and split a rendered script.
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_ZONE = re.compile(r"[a-z]{2}-[a-z]+(-[a-z]+)?-\d+")  # ap-shanghai-fsi-1 too, like _REGION
_REGION = re.compile(r"[a-z]{2}-[a-z]+(-[a-z]+)?")
_INSTANCE_TYPE = re.compile(r"[A-Z0-9]+\.[A-Z0-9]+")
_IMAGE_ID = re.compile(r"img-[a-z0-9]{8}")
_NGINX_SIZE = re.compile(r"\d+[kKmMgG]?")
# Exactly the tags sonatype/docker-nexus3's release pipeline (Jenkinsfile-Release) has pushed
# for sonatype/nexus3: <release>, <release>-ubi, <release>-alpine, and, from the Java 8/11/17
# years, <release>-java{8,11,17}, <release>-java{8,11,17}-ubi, <release>-java{11,17}-alpine.
# Build suffixes (3.x.y-01) name downloads, never image tags.
IMAGE_TAG_VARIANTS = (
    "", "-ubi", "-alpine", "-java8", "-java11", "-java17", "-java8-ubi", "-java11-ubi", "-java17-ubi",
    "-java11-alpine", "-java17-alpine",
)
_PINNED_VERSION = re.compile(
    r"3\.(0|[1-9]\d*)\.(0|[1-9]\d*)(" + "|".join(re.escape(v) for v in IMAGE_TAG_VARIANTS if v) + ")?"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}")
_UNIX_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
# Docker IDs: 4-30 lowercase letters and digits; older accounts and organisations may hold '-' or '_'.
_DOCKER_HUB_USERNAME = re.compile(r"[a-z0-9][a-z0-9_-]{3,29}")
# udev's stable names: by-id (virtio-..., scsi-0QEMU_..., wwn-0x...), by-uuid, by-label, by-path (pci-0000:00:05.0).
_DATA_DEVICE = re.compile(r"/dev/disk/by-(id|uuid|label|path)/(?!\.\.?\Z)[A-Za-z0-9._:+@-]{1,200}")
# URL characters: RFC 3986 unreserved and reserved ones, minus what a shell or nginx treats specially.
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9._~:/?#\[\]@+,=%-]+")
_SSH_HOST_KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# Characters no plain setting needs and a shell, a config file or a log line would treat specially.
_SHELL_SPECIAL = frozenset("'\"`$\\;|&<>(){}")
# Nexus user ids of the users this program manages: lowercase, so they also work as file names
# on the host (each password travels in its own root-only file) and in a docker login line.
_NEXUS_USER = re.compile(r"[a-z][a-z0-9._-]{0,63}")
# Nexus's own users, which a settings entry must never take over.
RESERVED_USERS = frozenset({"admin", "anonymous"})
DEFAULT_MIRROR_PORT = 8443
# Ports the host already uses (SSH, nginx's own, Nexus's connectors on 127.0.0.1).
RESERVED_PORTS = frozenset({22, 80, 443, 8001, 8002, 8003, 8081})

# Names and addresses that exist only in documentation.  The shipped stack files
# use them as placeholders; deploying one builds a billed CVM nobody can reach
# (or retries SSH to nowhere for minutes), so they are refused up front.
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")  # RFC 2606 section 3
RESERVED_TLDS = ("example", "test", "invalid", "localhost")  # RFC 2606 section 2, RFC 6761
DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",  # RFC 5737
                    "2001:db8::/32")  # RFC 3849
)
# Stands for the stack's file in a message; ``validate`` fills in the stack name.
STACK_FILE = "stacks/Pulumi.<stack>.yaml"


# How Tencent free certificates prove domain control (components.certificates).
CertificateValidation = Literal["dns-auto", "dnspod-record", "manual"]


class SettingsError(ValueError):
    """Stack configuration is invalid; ``problems`` holds one line per bad value."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid stack configuration:\n  " + "\n  ".join(problems))


# --- reusable field checks -------------------------------------------------


def _plain_text(value: str, allow: str = "") -> str:
    """Refuse what could escape a quoted shell word or a config line, whatever the field's own rule.

    Applied to every plain string setting of every model (``_Model``), so a new field
    is covered without remembering to: only printable ASCII, no whitespace (unless
    ``allow`` lists it), no quote, ``$``, backtick, backslash or command separator.
    """
    for char in value:
        if char in allow:
            continue
        if not (" " < char <= "~"):
            raise ValueError(f"{value!r} may hold only printable ASCII without spaces or control characters")
        if char in _SHELL_SPECIAL:
            raise ValueError(f"{value!r} holds {char!r}; quotes, $, backticks, backslashes and ;|&<>(){{}} "
                             "are not allowed")
    return value


class AllowChars(str):
    """Field metadata: characters (e.g. a space) that the plain-text check lets through for this field."""


def _dns_name(value: str) -> str:
    name = value.lower().rstrip(".")
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{value!r} is not a DNS name (letters, digits, '-', dot-separated, e.g. example.com)")
    if labels[-1].isdigit():
        raise ValueError(f"{value!r} is not a DNS name (the top-level label cannot be numeric)")
    return name


def reserved_name_reason(name: str) -> str | None:
    """Why ``name`` cannot be a real deployment's name (a documentation placeholder), or None."""
    labels = name.lower().rstrip(".").split(".")
    if labels[-1] in RESERVED_TLDS:
        return f".{labels[-1]} is a reserved top-level domain, RFC 2606/6761"
    for reserved in RESERVED_DOMAINS:
        if name.lower().rstrip(".") == reserved or name.lower().rstrip(".").endswith("." + reserved):
            return f"{reserved} is reserved for documentation, RFC 2606"
    return None


def documentation_network_reason(value: str) -> str | None:
    """Why an address or CIDR is a documentation placeholder (RFC 5737 / RFC 3849), or None."""
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    for documentation in DOCUMENTATION_NETWORKS:
        if network.version == documentation.version and network.subnet_of(documentation):
            rfc = "RFC 3849" if documentation.version == 6 else "RFC 5737"
            return f"{documentation} is reserved for documentation, {rfc}"
    return None


def _not_placeholder(value: str, what: str) -> str:
    reason = reserved_name_reason(value) if not _is_ip_or_network(value) else documentation_network_reason(value)
    if reason:
        raise ValueError(f"{value!r} is a placeholder ({reason}): set {what} in {STACK_FILE}")
    return value


def _is_ip_or_network(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
        return True
    except ValueError:
        return False


def _dns_label(value: str) -> str:
    if not _LABEL.fullmatch(value):
        raise ValueError(f"{value!r} is not a DNS label (1-63 of a-z, 0-9, '-', not starting or ending with '-')")
    return value


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR (e.g. 203.0.113.0/24)") from None


def _allow_list(key: str, cidrs: list[str] | None) -> None:
    """An nginx allow-list: a network of everyone would only hide that the list is not wanted."""
    for index, cidr in enumerate(cidrs or []):
        if ipaddress.ip_network(cidr).prefixlen == 0:
            raise _KeyedError(
                (key, index),
                f"{cidr!r} allows everyone; omit {key} to serve every address, or list your networks",
            )


def _check_password(password: str) -> None:
    if len(password) < 12:
        raise ValueError("must be at least 12 characters")
    if password.lower() in KNOWN_DEFAULT_PASSWORDS:
        raise ValueError("is a well-known default password; choose your own")
    if any(ch in password for ch in "\r\n\0"):
        raise ValueError("must be a single line")


def _unix_user(value: str) -> str:
    if not _UNIX_USER.fullmatch(value):
        raise ValueError(f"{value!r} is not a Unix user name")
    return value


def _host_address(value: str) -> str:
    """An IP address (no IPv6 zone: ``%...`` is free text) or a DNS name."""
    try:
        if "%" not in value:
            ipaddress.ip_address(value)
            return value
    except ValueError:
        pass
    try:
        return _dns_name(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or host name") from None


def _url(value: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """An absolute URL, parsed: allowed scheme, a host, no user:password@, no shell-special characters."""
    wanted = "an https URL" if schemes == ("https",) else "an http(s) URL"
    if not _URL_CHARACTERS.fullmatch(value):
        raise ValueError(f"{value!r} is not {wanted} (letters, digits and -._~:/?#[]@+,=% only)")
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc or not parts.hostname:
        raise ValueError(f"{value!r} is not {wanted} (e.g. https://registry-1.docker.io)")
    if "@" in parts.netloc:
        raise ValueError(f"{value!r} holds user:password@; credentials belong in secrets, never in a URL")
    try:
        parts.port  # noqa: B018 - parses the port, raising on a bad one
        _host_address(parts.hostname.strip("[]"))
    except ValueError:
        raise ValueError(f"{value!r} is not {wanted} (bad host or port)") from None
    _not_placeholder(parts.hostname.strip("[]"), "a reachable URL")
    return value


def _ssh_host_key(value: str) -> str:
    """An OpenSSH public host key line ``<type> <base64> [comment]``, normalised to ``<type> <base64>``."""
    fields = value.split()
    hint = "a public host key line such as 'ssh-ed25519 AAAAC3Nz...' (README: SSH host keys)"
    if len(fields) < 2 or fields[0] not in _SSH_HOST_KEY_TYPES:
        raise ValueError(f"{value!r} is not {hint}")
    try:
        blob = base64.b64decode(fields[1], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{value!r} is not {hint}: the key is not base64") from None
    # The blob starts with its own type as an SSH string: a key pasted under the wrong type is refused.
    length = int.from_bytes(blob[:4], "big") if len(blob) >= 4 else -1
    if blob[4:4 + length].decode("ascii", "replace") != fields[0]:
        raise ValueError(f"{value!r} is not {hint}: the key data is not a {fields[0]} key")
    return f"{fields[0]} {fields[1]}"


def _remote_url(value: str) -> str:
    """An upstream for a proxy repository: http(s), and never a metadata service or a link-local,
    loopback or unspecified address (CVE-2026-0600: a proxy is a request forger for whoever sets its URL)."""
    _url(value)
    host = (urlsplit(value).hostname or "").rstrip(".").lower()
    if host in METADATA_HOSTS:
        raise ValueError(f"{value!r} points at a cloud metadata service or this host; proxies must never reach it")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        # Resolvers read '2852039166' or '0xa9.0xfe.0.23' as addresses: only dotted decimal is an address here.
        if re.fullmatch(r"[0-9.]+|0x[0-9a-f]+(\.[0-9a-fx.]*)?", host):
            raise ValueError(f"{value!r} has a numeric host that is not a dotted IPv4 address") from None
        return value
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_link_local or address.is_loopback or address.is_unspecified or address.is_multicast:
        raise ValueError(
            f"{value!r} is a link-local, loopback or unspecified address (cloud metadata lives at "
            "169.254.0.0/16); proxies must never reach it"
        )
    return value


def release_of(version: str) -> tuple[int, int, int]:
    """The release of a sonatype/nexus3 tag: '3.93.2-java17-ubi' -> (3, 93, 2); (0, 0, 0) for text that
    names none (settings refuse such a tag; this only keeps rendering total)."""
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if match is None:
        return 0, 0, 0
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def is_mainland_region(region: str | None) -> bool:
    """A Tencent region on the Chinese mainland (where Docker Hub and pypi.org are unreliable)."""
    return bool(region) and region.startswith("ap-") and region not in OVERSEAS_AP_REGIONS


DnsName = Annotated[str, AfterValidator(_dns_name)]
ZoneName = Annotated[str, AfterValidator(_dns_name), AfterValidator(lambda v: _not_placeholder(v, "your own zone"))]
DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Cidr = Annotated[str, AfterValidator(_cidr)]
# A network the user names (admins, offices, CI): a documentation range is an unedited placeholder.
NetworkCidr = Annotated[Cidr, AfterValidator(lambda v: _not_placeholder(v, "your network(s)"))]
Url = Annotated[str, AfterValidator(_url)]
SshHostKey = Annotated[str, AllowChars(" "), AfterValidator(_ssh_host_key)]


def _strings(value: Any, loc: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], str]]:
    """Every string in ``value`` with its location: list items by index, map keys and values by key."""
    if isinstance(value, str):
        return [(loc, value)]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in _strings(item, (*loc, index))]
    if isinstance(value, Mapping):
        found = []
        for item_key, item in value.items():
            found += _strings(item_key, loc) + _strings(item, (*loc, str(item_key)))
        return found
    return []


def _holds_model(annotation: Any) -> bool:
    """Whether a field's type contains a settings model (which checks its own strings)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_model(arg) for arg in typing.get_args(annotation))


def _allowed_chars(annotation: Any) -> str:
    """The ``AllowChars`` of a field's type, wherever they sit in it (``SshHostKey | None``)."""
    found = "".join(meta for meta in getattr(annotation, "__metadata__", ()) if isinstance(meta, AllowChars))
    return found + "".join(_allowed_chars(arg) for arg in typing.get_args(annotation))


RemoteUrl = Annotated[str, AfterValidator(_remote_url)]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        strict=False,
    )

    @model_validator(mode="wrap")
    @classmethod
    def _no_shell_text(cls, data: Any, handler: ModelWrapValidatorHandler) -> Any:
        """Every plain string of every model (also inside lists and maps) passes ``_plain_text``; secrets do not.

        The fields' own rules run first (their messages are the more helpful ones); this is
        the safety net for whatever they let through, including fields added later.
        """
        validated = handler(data)
        if isinstance(data, Mapping):
            for name, field in cls.model_fields.items():
                if "SecretStr" in str(field.annotation) or _holds_model(field.annotation):
                    continue
                key = field.alias or name
                allow = _allowed_chars(field.annotation) + "".join(
                    meta for meta in field.metadata if isinstance(meta, AllowChars))
                for loc, text in _strings(data.get(key, data.get(name)), (key,)):
                    try:
                        _plain_text(text, allow)
                    except ValueError as error:
                        raise _KeyedError(loc, str(error)) from None
        return validated


# --- server ----------------------------------------------------------------


class CvmServer(_Model):
    """A new Tencent CVM with its own VPC and a separate CBS data disk."""

    mode: Literal["cvm"]
    instance_type: str | None = None
    cpu: int | None = Field(default=None, ge=1, le=64)
    memory_gb: int | None = Field(default=None, ge=1, le=512)
    image: str = "ubuntu-22.04"
    system_disk_gb: int = Field(default=50, ge=20, le=1024)
    data_disk_gb: int = Field(default=100, ge=10, le=32000)
    bandwidth_mbps: int = Field(default=10, ge=1, le=100)
    ssh_allowed_cidrs: list[NetworkCidr] = Field(min_length=1)
    allow_ssh_from_anywhere: bool = False
    availability_zone: str | None = None
    ssh_user: str | None = None
    docker_mirror: Annotated[str, AfterValidator(lambda v: _url(v) if v else v)] = TENCENT_DOCKER_MIRROR
    # Only for an instance created before host keys were pinned (README: SSH host keys).
    host_key: SshHostKey | None = None

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str | None) -> str | None:
        if value is not None and not _INSTANCE_TYPE.fullmatch(value):
            raise ValueError(f"{value!r} is not a CVM instance type (e.g. S5.MEDIUM4)")
        return value

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        if value not in IMAGE_FAMILIES and not _IMAGE_ID.fullmatch(value):
            allowed = ", ".join(IMAGE_FAMILIES)
            raise ValueError(f"{value!r} is not a supported image; use one of {allowed} or an image id img-xxxxxxxx")
        return value

    @field_validator("ssh_user")
    @classmethod
    def _ssh_user(cls, value: str | None) -> str | None:
        return _unix_user(value) if value is not None else value

    @field_validator("availability_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None and not _ZONE.fullmatch(value):
            raise ValueError(f"{value!r} is not an availability zone (e.g. ap-guangzhou-3)")
        return value

    @property
    def nominal_memory_gb(self) -> int | None:
        """memoryGb, or the memory Tencent's instance type names carry at their end (S5.LARGE16: 16 GB)."""
        if self.memory_gb is not None:
            return self.memory_gb
        match = re.search(r"(\d+)$", self.instance_type or "")
        return int(match.group(1)) if match else None

    @model_validator(mode="after")
    def _size_and_ssh(self) -> CvmServer:
        if self.instance_type is None and (self.cpu is None or self.memory_gb is None):
            raise ValueError("set instanceType, or both cpu and memoryGb")
        if self.instance_type is not None and (self.cpu is not None or self.memory_gb is not None):
            raise ValueError("set instanceType or cpu/memoryGb, not both")
        for index, cidr in enumerate(self.ssh_allowed_cidrs):
            if ipaddress.ip_network(cidr).prefixlen == 0 and not self.allow_ssh_from_anywhere:
                raise _KeyedError(
                    ("sshAllowedCidrs", index),
                    f"{cidr!r} opens SSH to the whole internet; list your admin networks, "
                    "or set server.allowSshFromAnywhere: true to accept that",
                )
        return self


class ExistingServer(_Model):
    """A Linux server the user already has, reached over SSH."""

    mode: Literal["existing"]
    address: str
    port: int = Field(default=22, ge=1, le=65535)
    user: str = "root"
    data_device: str | None = None
    # The user's own disk is formatted only on request, and only when it holds no signature at all.
    format_data_device: bool = False
    docker_mirror: Annotated[str, AfterValidator(lambda v: _url(v) if v else v)] = ""
    host_key: SshHostKey

    @model_validator(mode="after")
    def _format_needs_a_device(self) -> ExistingServer:
        if self.format_data_device and not self.data_device:
            raise _KeyedError(("formatDataDevice",), "needs server.dataDevice (the disk to format)")
        return self

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return _not_placeholder(_host_address(value), "your server's address")

    @field_validator("user")
    @classmethod
    def _user(cls, value: str) -> str:
        return _unix_user(value)

    @field_validator("data_device")
    @classmethod
    def _data_device(cls, value: str | None) -> str | None:
        if value is not None and not _DATA_DEVICE.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a stable device path; use /dev/disk/by-id/..., by-uuid/... or by-label/..."
            )
        return value


Server = Annotated[CvmServer | ExistingServer, Field(discriminator="mode")]


# --- nexus, acme, backup ----------------------------------------------------


class CleanupSettings(_Model):
    """Storage lifecycle (components.render.nexus_lifecycle): what is deleted, and when the tasks run.

    Day counts of 0 turn a criterion off; hosted images are never deleted unless opted in.
    """

    proxy_unused_days: int = Field(default=30, ge=0, le=3650)
    hosted_unused_days: int = Field(default=0, ge=0, le=3650)
    hosted_age_days: int = Field(default=0, ge=0, le=3650)
    hour: int = Field(default=0, ge=0, le=23)
    incomplete_upload_hours: int = Field(default=24, ge=1, le=8760)
    unused_manifest_hours: int = Field(default=24, ge=1, le=8760)


class NexusSettings(_Model):
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
    blob_store_quota_gb: int | None = Field(default=None, ge=0, le=32000)
    accept_community_caps: bool = False

    @field_validator("version")
    @classmethod
    def _pinned(cls, value: str) -> str:
        if not _PINNED_VERSION.fullmatch(value):
            forms = ", ".join(f"'3.x.y{variant}'" for variant in IMAGE_TAG_VARIANTS)
            raise ValueError(
                f"{value!r} is not a sonatype/nexus3 release tag; use one of {forms} "
                f"(e.g. {DEFAULT_NEXUS_VERSION!r}; never 'latest', no build suffix like '-01')"
            )
        return value

    @field_validator("docker_hub_username")
    @classmethod
    def _docker_id(cls, value: str | None) -> str | None:
        if value is not None and not _DOCKER_HUB_USERNAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a Docker Hub user name (4-30 of a-z, 0-9, '-', '_')")
        return value

    @field_validator("image_digest")
    @classmethod
    def _digest(cls, value: str | None) -> str | None:
        if value is not None and not _DIGEST.fullmatch(value):
            raise ValueError(
                f"{value!r} is not an image digest (sha256: and 64 lowercase hex digits, as `docker buildx imagetools "
                "inspect sonatype/nexus3:<version>` prints)"
            )
        return value

    @property
    def release(self) -> tuple[int, int, int]:
        return release_of(self.version)

    @property
    def runs_orientdb(self) -> bool:
        """Releases before 3.71 run OrientDB; later ones H2 or PostgreSQL."""
        return self.release < FIRST_H2_RELEASE

    @property
    def direct_memory_mb(self) -> int | None:
        """Fixed direct memory for H2/PostgreSQL; None for OrientDB, where it follows the heap."""
        return None if self.runs_orientdb else H2_DIRECT_MEMORY_MB

    @model_validator(mode="after")
    def _heap_minimum(self) -> NexusSettings:
        if self.heap_mb is not None and self.heap_mb < MIN_HEAP_MB and not self.allow_below_minimum_memory:
            raise _KeyedError(
                ("heapMb",),
                f"{self.heap_mb} is below Sonatype's minimum heap of {MIN_HEAP_MB} MB; raise it, or set "
                "nexus.allowBelowMinimumMemory: true to accept an unsupported size",
            )
        return self

    @model_validator(mode="after")
    def _anonymous(self) -> NexusSettings:
        if self.anonymous_team_images and not self.anonymous_pull:
            raise _KeyedError(("anonymousTeamImages",), "needs nexus.anonymousPull: true")
        return self


class UserSettings(_Model):
    """A Nexus user this program creates and keeps in step; its password is ``userPasswords.<name>``."""

    name: str
    role: Literal["push", "pull"]

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NEXUS_USER.fullmatch(value):
            raise ValueError(f"{value!r} is not a user name (1-64 of a-z, 0-9, '.', '_', '-', starting with a letter)")
        if value in RESERVED_USERS:
            raise ValueError(f"{value!r} is Nexus's own user; pick another name")
        return value


DEFAULT_USERS = (UserSettings(name="ci", role="push"),)


class AcmeSettings(_Model):
    email: str | None = None
    server: str = LETSENCRYPT_PRODUCTION

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.fullmatch(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        if value is not None:
            _not_placeholder(value.rpartition("@")[2], "your own e-mail address")
        return value

    @field_validator("server")
    @classmethod
    def _server(cls, value: str) -> str:
        shorthands = {"letsencrypt": LETSENCRYPT_PRODUCTION, "letsencrypt-staging": LETSENCRYPT_STAGING}
        value = shorthands.get(value, value)
        try:
            return _url(value, ("https",))
        except ValueError as error:
            if "is a placeholder" in str(error):
                raise
            raise ValueError(
                f"{value!r} is not an ACME directory; use an https:// URL, letsencrypt or letsencrypt-staging"
            ) from None


_SSL_CERTIFICATE_ID = re.compile(r"^[A-Za-z0-9]{6,16}$")


class SslConsoleSettings(_Model):
    """``certificate: ssl-console``: which certificate of Tencent's SSL console serves each hostname.

    Unset: the newest issued, unexpired certificate (with its private key) that covers the
    hostname, looked up on every ``pulumi up``, so a renewal in the console is picked up.
    """

    web_certificate_id: str | None = None
    registry_certificate_id: str | None = None

    @field_validator("web_certificate_id", "registry_certificate_id")
    @classmethod
    def _certificate_id(cls, value: str | None) -> str | None:
        if value is not None and not _SSL_CERTIFICATE_ID.match(value):
            raise ValueError(f"{value!r} is not an SSL console certificate id (e.g. a1B2c3D4, from the console's list)")
        return value


class BackupSettings(_Model):
    retain_days: int = Field(default=7, ge=0, le=365)
    hour: int = Field(default=3, ge=0, le=23)
    database_keep_days: int = Field(default=3, ge=1, le=365)

    @property
    def enabled(self) -> bool:
        return self.retain_days > 0


# --- database -------------------------------------------------------------

# TencentDB for PostgreSQL major versions the provider accepts (db_major_version,
# terraform-provider-tencentcloud v1.82.42 resource_tc_postgresql_instance.go);
# Nexus needs PostgreSQL 13 or newer.
POSTGRESQL_MAJOR_VERSIONS = ("13", "14", "15", "16")
# ValidateMysqlPassword, which the provider applies to root_password: 8-64 characters
# with at least two of letters, digits and these symbols.
POSTGRESQL_PASSWORD_SYMBOLS = "_+-&=!@#$%^*()"
_PG_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _pg_identifier(value: str) -> str:
    if not _PG_IDENTIFIER.fullmatch(value):
        raise ValueError(f"{value!r} is not a PostgreSQL name (a-z, 0-9, '_', not starting with a digit, 1-63)")
    return value


PgIdentifier = Annotated[str, AfterValidator(_pg_identifier)]


def database_password_problem(password: str) -> str | None:
    """Why ``password`` cannot be a TencentDB root password or a JDBC env-file value, or None."""
    if any(ch in password for ch in "\r\n\0"):
        return "must be a single line"
    if not 8 <= len(password) <= 64:
        return "must be 8-64 characters (TencentDB's rule)"
    kinds = sum((any(c.isascii() and c.isalpha() for c in password), any(c.isdigit() for c in password),
                 any(c in POSTGRESQL_PASSWORD_SYMBOLS for c in password)))
    if kinds < 2:
        return f"must mix at least two of letters, digits and {POSTGRESQL_PASSWORD_SYMBOLS} (TencentDB's rule)"
    return None


class DatabaseSettings(_Model):
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
    migrator_sha256: str | None = None

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if value not in POSTGRESQL_MAJOR_VERSIONS:
            raise ValueError(f"{value!r} is not allowed; expected one of {', '.join(POSTGRESQL_MAJOR_VERSIONS)}")
        return value

    @field_validator("migrator_sha256")
    @classmethod
    def _migrator_sha256(cls, value: str | None) -> str | None:
        if value is not None and not _SHA256_HEX.fullmatch(value):
            raise ValueError(f"{value!r} is not a SHA-256 (64 lowercase hex digits, as sha256sum prints)")
        return value

    @field_validator("storage_gb")
    @classmethod
    def _storage(cls, value: int) -> int:
        if value % 10:
            raise ValueError(f"{value!r} is not a multiple of 10 (TencentDB's storage step)")
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        return value if value is None else _host_address(value)

    @field_validator("user")
    @classmethod
    def _user_name(cls, value: str) -> str:
        # TencentDB refuses "postgres" and names starting with pg_ or tencentdb_ for its accounts.
        if value == "postgres" or value.startswith(("pg_", "tencentdb_")):
            raise ValueError(f"{value!r} is reserved; choose another database user")
        return value

    @property
    def postgresql(self) -> bool:
        return self.engine == "postgresql"


# --- the whole stack --------------------------------------------------------


# --- front-door limits (nginx, per client address) ----------------------------------------


class LimitsSettings(_Model):
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


class Settings(_Model):
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

    @field_validator("stack")
    @classmethod
    def _stack_name(cls, value: str) -> str:
        if not _STACK_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a stack name (letters, digits, '-', '_', '.')")
        return value

    @field_validator("admin_password")
    @classmethod
    def _password(cls, value: SecretStr) -> SecretStr:
        password = value.get_secret_value()
        if password.startswith(PLACEHOLDER_PREFIX):
            return value
        _check_password(password)
        return value

    @field_validator("registry_mirror_port")
    @classmethod
    def _mirror_port(cls, value: int) -> int:
        if value in RESERVED_PORTS:
            taken = ", ".join(str(port) for port in sorted(RESERVED_PORTS))
            raise ValueError(f"{value} is already used on the host ({taken} are taken)")
        return value

    @field_validator("ssh_private_key")
    @classmethod
    def _private_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        key = value.get_secret_value()
        if not key.startswith(PLACEHOLDER_PREFIX) and not re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", key):
            raise ValueError("is not a PEM or OpenSSH private key (-----BEGIN ... PRIVATE KEY-----)")
        return value

    @field_validator("database_password")
    @classmethod
    def _database_password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value().startswith(PLACEHOLDER_PREFIX):
            return value
        problem = database_password_problem(value.get_secret_value())
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("web_max_upload_size")
    @classmethod
    def _nginx_size(cls, value: str) -> str:
        if not _NGINX_SIZE.fullmatch(value):
            raise ValueError(f"{value!r} is not an nginx size (a number with optional k, m or g, e.g. 1g)")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        if self.web_host == self.registry_host:
            raise _KeyedError(("registryHost",), f"{self.registry_host!r} must differ from webHost")
        if isinstance(self.server, ExistingServer) and self.ssh_private_key is None:
            raise _KeyedError(
                ("sshPrivateKey",),
                "required when server.mode is existing (pulumi config set --secret sshPrivateKey < key)",
            )
        if self.certificate != "ssl-console" and self.ssl_console != SslConsoleSettings():
            raise _KeyedError(("sslConsole",), "applies only with certificate: ssl-console; remove it or set that")
        if self.certificate == "acme" and self.acme.email is None:
            raise _KeyedError(("acme", "email"), "required when certificate is acme")
        if self.certificate == "tencent" and self.renew_before_days >= 90:
            raise _KeyedError(("renewBeforeDays",), "must be below 90 (Tencent free certificates last 90 days)")
        if (self.nexus.docker_hub_username is None) != (self.docker_hub_token is None):
            raise _KeyedError(("nexus", "dockerHubUsername"), "set together with the dockerHubToken secret, or neither")
        if self.dns == "dnspod" and isinstance(self.server, ExistingServer) and not _is_ip(self.server.address):
            raise _KeyedError(("server", "address"), "must be an IP address when dns is dnspod (A records need one)")
        quota = self.nexus.blob_store_quota_gb
        if quota and isinstance(self.server, CvmServer) and quota >= self.server.data_disk_gb:
            raise _KeyedError(
                ("nexus", "blobStoreQuotaGb"),
                f"{quota} must be below server.dataDiskGb ({self.server.data_disk_gb}): "
                "the quota is there to warn before the disk is full",
            )
        if self.backup is not None and self.backup.enabled and isinstance(self.server, ExistingServer):
            raise _KeyedError(("backup", "retainDays"), "snapshots need server.mode cvm; set 0 and see README: Backups")
        self._database_checks()
        self._check_users()
        _allow_list("webAllowedCidrs", self.web_allowed_cidrs)
        _allow_list("registryAllowedCidrs", self.registry_allowed_cidrs)
        _allow_list("registryMirrorAllowedCidrs", self.registry_mirror_allowed_cidrs)
        if self.registry_mirror_allowed_cidrs is not None and not self.mirror_enabled:
            raise _KeyedError(("registryMirrorAllowedCidrs",), "the mirror exists only with nexus.anonymousPull: true")
        self._check_memory()
        return self

    def _database_checks(self) -> None:
        database = self.database
        existing = isinstance(self.server, ExistingServer)
        if not database.postgresql:
            return
        release = tuple(int(part) for part in re.match(r"(\d+)\.(\d+)\.(\d+)", self.nexus.version).groups())
        if release < (3, 77, 0):
            raise _KeyedError(
                ("database", "engine"),
                f"postgresql needs nexus.version 3.77 or later in Community Edition (not {self.nexus.version})",
            )
        if existing and database.host is None:
            raise _KeyedError(("database", "host"), "required with database.engine postgresql on an existing server")
        if existing and self.database_password is None:
            raise _KeyedError(
                ("databasePassword",),
                "required with database.engine postgresql on an existing server "
                "(pulumi config set --secret databasePassword)",
            )
        if not existing and database.host is not None:
            raise _KeyedError(("database", "host"), "only for existing servers; cvm stacks create their own TencentDB")
        if not existing and database.ssl_mode == "disable":
            raise _KeyedError(("database", "sslMode"), "TencentDB connections stay encrypted; use require")
        if database.migrate_from_h2 and database.migrator_sha256 is None:
            raise _KeyedError(
                ("database", "migratorSha256"),
                "required with database.migrateFromH2: the SHA-256 of Sonatype's nexus-db-migrator jar for "
                f"nexus.version {self.nexus.version} (sha256sum of a copy you checked), so the host runs only that "
                "migrator (README: Moving to PostgreSQL)",
            )

    def _check_users(self) -> None:
        names = [user.name for user in self.users]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise _KeyedError(("users", index, "name"), f"{name!r} is listed twice")
        if not any(user.role == "push" for user in self.users):
            raise _KeyedError(("users",), "needs at least one user with role push (the CI user that pushes images)")
        for name in self.user_passwords:
            if name not in names:
                raise _KeyedError(("userPasswords", name), f"{name!r} is not in users; remove it or add the user")
        admin = self.admin_password.get_secret_value()
        for name in names:
            secret = self.user_passwords.get(name)
            if secret is None:
                raise _KeyedError(
                    ("userPasswords", name),
                    f"is required for user {name!r}: pulumi config set --secret --path 'userPasswords.{name}'",
                )
            password = secret.get_secret_value()
            if password.startswith(PLACEHOLDER_PREFIX):
                continue
            try:
                _check_password(password)
            except ValueError as error:
                raise _KeyedError(("userPasswords", name), str(error)) from None
            if password == admin:
                raise _KeyedError(("userPasswords", name), "must differ from adminPassword")

    def _check_memory(self) -> None:
        """Sonatype's sizing rules, where the host's memory is known before deploy (cvm with memoryGb);
        the container step checks the host's real memory in every case."""
        memory_gb = self.server.nominal_memory_gb if isinstance(self.server, CvmServer) else None
        if memory_gb is None:
            return
        nexus = self.nexus
        key = "memoryGb" if self.server.memory_gb is not None else "instanceType"
        if memory_gb < MIN_HOST_MEMORY_GB and not nexus.allow_below_minimum_memory:
            raise _KeyedError(
                ("server", key),
                f"{memory_gb} GB is below Sonatype's minimum of {MIN_HOST_MEMORY_GB} GB for Nexus; use "
                f"{MIN_HOST_MEMORY_GB} or more, or set nexus.allowBelowMinimumMemory: true to accept "
                "an unsupported host",
            )
        if nexus.heap_mb is not None:
            direct = nexus.direct_memory_mb or nexus.heap_mb
            budget = memory_gb * 1024 * 2 // 3
            if nexus.heap_mb + direct > budget:
                raise _KeyedError(
                    ("nexus", "heapMb"),
                    f"{nexus.heap_mb} MB heap + {direct} MB direct memory exceeds two thirds of "
                    f"the server's {memory_gb} GB ({budget} MB, Sonatype's limit); lower nexus.heapMb "
                    "or leave it unset to derive it",
                )

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
    def resource_label(self) -> str:
        """Prefix of every cloud resource name: Tencent caps names at 60 characters, suffixes need ~25."""
        cleaned = re.sub(r"[^a-z0-9-]+", "-", f"nexus-registry-{self.stack}".lower())
        return cleaned[:35].rstrip("-")

    @property
    def effective_blob_store_quota_gb(self) -> int:
        """The soft quota in GiB (0: none): unset means 80 % of the CBS data disk, none on other servers."""
        if self.nexus.blob_store_quota_gb is not None:
            return self.nexus.blob_store_quota_gb
        if isinstance(self.server, CvmServer):
            return self.server.data_disk_gb * 8 // 10
        return 0

    @property
    def effective_backup(self) -> BackupSettings:
        """Backups are on by default in ``prod`` only, and only where snapshots exist."""
        if self.backup is not None:
            return self.backup
        on = self.stack == "prod" and isinstance(self.server, CvmServer)
        return BackupSettings(retain_days=7 if on else 0)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


class _KeyedError(ValueError):
    """A model-level error that belongs to one key below the model."""

    def __init__(self, loc: tuple[str | int, ...], message: str):
        self.loc = loc
        self.message = message
        super().__init__(message)


# --- error formatting -------------------------------------------------------

_UNION_TAGS = {"cvm", "existing"}


def _key_path(loc: tuple[str | int, ...]) -> str:
    path = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
        elif index > 0 and part in _UNION_TAGS and loc[index - 1] == "server":
            continue  # pydantic's discriminated-union branch, not a config key
        else:
            path += f".{part}" if path else part
    return f"{NAMESPACE}:{path}"


def _describe(error: dict[str, Any]) -> tuple[tuple, str]:
    loc = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "value_error" and isinstance(ctx.get("error"), _KeyedError):
        keyed: _KeyedError = ctx["error"]
        return loc + keyed.loc, keyed.message
    value = error.get("input")
    if kind == "missing":
        return loc, "is required"
    if kind == "extra_forbidden":
        return loc, "is not a known setting (check the spelling; see README: Stack settings)"
    if kind == "literal_error":
        return loc, f"{value!r} is not allowed; expected {ctx.get('expected')}"
    if kind == "union_tag_invalid":
        return loc + ("mode",), f"{ctx.get('tag')!r} is not allowed; expected 'cvm' or 'existing'"
    if kind == "union_tag_not_found":
        return loc + ("mode",), "is required: 'cvm' or 'existing'"
    if kind in ("greater_than_equal", "less_than_equal"):
        bounds = _bounds(loc)
        return loc, f"{value!r} is out of range; allowed {bounds}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return loc, f"{value!r} is not a whole number"
    if kind in ("bool_parsing", "bool_type"):
        return loc, f"{value!r} is not true or false"
    if kind in ("string_type",):
        return loc, f"{value!r} is not a string"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return loc, f"{value!r} is not an object with keys"
    if kind in ("list_type",):
        return loc, f"{value!r} is not a list"
    if kind == "too_short":
        return loc, "must not be empty"
    message = error["msg"]
    message = message.removeprefix("Value error, ")
    return loc, message


def _bounds(loc: tuple) -> str:
    """The ge/le limits of the field at ``loc``, for an out-of-range message."""
    model: Any = Settings
    info = None
    for part in loc:
        if isinstance(part, int) or part in _UNION_TAGS:
            if part in _UNION_TAGS:
                model = CvmServer if part == "cvm" else ExistingServer
            continue
        fields = {f.alias or name: f for name, f in model.model_fields.items()}
        info = fields.get(part)
        if info is None:
            return "a smaller or larger value"
        annotation = info.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                model = candidate
    low = high = None
    for meta in getattr(info, "metadata", []):
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
    return f"{low}..{high}"


def validate(raw: Mapping[str, Any]) -> Settings:
    """Validate a dict of camelCase settings (plus ``stack``); raise SettingsError."""
    try:
        return Settings.model_validate(dict(raw))
    except ValidationError as exc:
        problems = []
        stack_file = f"stacks/Pulumi.{raw.get('stack')}.yaml"
        for error in exc.errors(include_url=False):
            loc, message = _describe(error)
            problems.append(f"{_key_path(loc)}: {message.replace(STACK_FILE, stack_file)}")
        raise SettingsError(problems) from None


# --- sources ----------------------------------------------------------------


def _parse(value: Any) -> Any:
    """Pulumi hands structured config over as JSON text; scalars stay text."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in "{[" or stripped in ("true", "false"):
            try:
                return json.loads(stripped)
            except json.JSONDecodeError:
                return value
    return value


# Settings of the Tencent provider (tencentcloud_iac_pulumi.config), so a typo there is caught too.
TENCENTCLOUD_KEYS = frozenset({
    "allowedAccountIds", "assumeRole", "assumeRoleWithSaml", "assumeRoleWithWebIdentity", "camRoleName",
    "cosDomain", "domain", "forbiddenAccountIds", "mfaCertification", "profile", "protocol", "region",
    "secretId", "secretKey", "securityToken", "sharedCredentialsDir",
})
# Namespaces a stack may set; None: any key (Pulumi's own).  Anything else is a typo.
CONFIG_NAMESPACES: dict[str, frozenset[str] | None] = {
    NAMESPACE: None, "tencentcloud": TENCENTCLOUD_KEYS, "pulumi": None,
}


def _nearest(word: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


def _is_flat_key(key: str) -> bool:
    """``server.address`` set without ``--path``: Pulumi stores it as one literal key."""
    return "." in key or "[" in key


def config_key_problems(config: Mapping[str, Any]) -> list[str]:
    """Keys no setting reads: a misspelt namespace or provider key, or a nested key set without ``--path``."""
    problems = []
    for full_key in config:
        namespace, colon, key = full_key.partition(":")
        if not colon:
            problems.append(f"{full_key}: is not a namespaced key; use {NAMESPACE}:<key> (see README: Stack settings)")
        elif namespace not in CONFIG_NAMESPACES:
            problems.append(f"{full_key}: {namespace!r} is not a namespace this project reads"
                            f"{_nearest(namespace, CONFIG_NAMESPACES)}; use {', '.join(CONFIG_NAMESPACES)}")
        elif namespace == NAMESPACE and _is_flat_key(key):
            problems.append(f"{full_key}: a nested setting stored as one flat key; set it with "
                            f"`pulumi config set --path '{key}' <value>` and remove this one with "
                            f"`pulumi config rm '{key}'`")
        elif (known := CONFIG_NAMESPACES[namespace]) is not None and key not in known:
            problems.append(f"{full_key}: is not a {namespace} provider setting{_nearest(key, known)}")
    return problems


def from_mapping(stack: str, config: Mapping[str, Any], secret_placeholders: bool = False) -> Settings:
    """Build settings from ``{"nexus-registry:key": value}``; keys of no known setting are reported."""
    key_problems = config_key_problems(config)
    raw: dict[str, Any] = {"stack": stack}
    for full_key, value in config.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE or not key or _is_flat_key(key):
            continue
        if isinstance(value, Mapping) and set(value) == {"secure"}:
            value = f"{PLACEHOLDER_PREFIX}{key}>" if secret_placeholders else None
            if value is None:
                continue
        if key == "userPasswords" and isinstance(value, Mapping):
            # `pulumi config set --secret --path userPasswords.ci` encrypts each leaf in the stack file.
            value = {
                name: (f"{PLACEHOLDER_PREFIX}{key}.{name}>" if isinstance(leaf, Mapping) and set(leaf) == {"secure"}
                       else leaf)
                for name, leaf in value.items()
                if secret_placeholders or not (isinstance(leaf, Mapping) and set(leaf) == {"secure"})
            }
        raw[key] = _parse(value)
    if secret_placeholders:
        # Rendering needs no real secret: stand-ins let every file be produced.
        raw.setdefault("adminPassword", f"{PLACEHOLDER_PREFIX}adminPassword>")
        server = raw.get("server")
        if isinstance(server, Mapping) and server.get("mode") == "existing":
            raw.setdefault("sshPrivateKey", f"{PLACEHOLDER_PREFIX}sshPrivateKey>")
        nexus = raw.get("nexus") or {}
        if isinstance(nexus, Mapping) and nexus.get("dockerHubUsername"):
            raw.setdefault("dockerHubToken", f"{PLACEHOLDER_PREFIX}dockerHubToken>")
        users = raw.get("users", [user.model_dump() for user in DEFAULT_USERS])
        passwords = dict(raw.get("userPasswords") or {})
        for user in users if isinstance(users, list) else []:
            if isinstance(user, Mapping) and isinstance(user.get("name"), str):
                passwords.setdefault(user["name"], f"{PLACEHOLDER_PREFIX}userPasswords.{user['name']}>")
        raw["userPasswords"] = passwords
    region = config.get(REGION_KEY) or os.environ.get("TENCENTCLOUD_REGION")
    region = region if isinstance(region, str) else None
    _apply_regional_defaults(raw, region)
    try:
        settings = validate(raw)
    except SettingsError as error:
        raise SettingsError(key_problems + error.problems) from None
    problems = key_problems + region_problems(settings, region)
    if problems:
        raise SettingsError(problems)
    return settings


# Upstreams a CVM on the mainland can reach, used where the stack sets none (Docker Hub and
# pypi.org are unreachable or throttled from mainland regions).
MAINLAND_REMOTES = {"dockerHubRemote": TENCENT_DOCKER_MIRROR, "pypiRemote": TENCENT_PYPI_MIRROR}


def _apply_regional_defaults(raw: dict[str, Any], region: str | None) -> None:
    """On a CVM in a mainland region, unset proxy upstreams default to Tencent's mirrors."""
    server = raw.get("server")
    if not (isinstance(server, Mapping) and server.get("mode") == "cvm" and is_mainland_region(region)):
        return
    nexus = raw.get("nexus")
    if nexus is None:
        nexus = {}
    if not isinstance(nexus, Mapping):
        return  # validation reports it
    defaults = dict(MAINLAND_REMOTES)
    if nexus.get("dockerHubUsername"):
        # Docker Hub credentials are for Docker Hub: never hand them to a mirror nobody chose.
        defaults.pop("dockerHubRemote")
    raw["nexus"] = {**defaults, **nexus}


def uses_tencent_provider(settings: Settings) -> bool:
    """Whether any tencentcloud resource or lookup is registered (the lab stack needs none)."""
    return (isinstance(settings.server, CvmServer) or settings.dns == "dnspod"
            or settings.certificate in ("tencent", "ssl-console"))


def region_problems(settings: Settings, region: str | None) -> list[str]:
    """The provider's region, checked here so a missing one fails before any resource, with its key."""
    if not uses_tencent_provider(settings):
        return []
    if not region:
        return [f"{REGION_KEY}: is required for Tencent resources (e.g. ap-guangzhou): "
                "pulumi config set tencentcloud:region ap-guangzhou, or export TENCENTCLOUD_REGION"]
    if not _REGION.fullmatch(region):
        return [f"{REGION_KEY}: {region!r} is not a Tencent Cloud region (e.g. ap-guangzhou, eu-frankfurt)"]
    zone = settings.server.availability_zone if isinstance(settings.server, CvmServer) else None
    if zone and not zone.startswith(f"{region}-"):
        return [f"{NAMESPACE}:server.availabilityZone: {zone!r} is not in the region {region!r} ({REGION_KEY})"]
    return []


def from_stack_file(path: str | Path) -> Settings:
    """Read ``stacks/Pulumi.<stack>.yaml`` alone (no Pulumi), secrets as placeholders."""
    path = Path(path)
    stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    document = yaml.safe_load(path.read_text()) or {}
    config = document.get("config") or {}
    return from_mapping(stack, config, secret_placeholders=True)


def from_pulumi() -> Settings:
    """Read the running stack's config (all keys, so unknown top-level keys are caught)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    config = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return from_mapping(pulumi.get_stack(), config)


def is_placeholder(secret: SecretStr | None) -> bool:
    return secret is not None and secret.get_secret_value().startswith(PLACEHOLDER_PREFIX)
