"""Field checks and field types: what one value must look like, whatever model holds it.

Each check takes the value and returns it (possibly normalised) or raises ``ValueError``
with a message that says what is allowed; the models attach them to fields, and pydantic
prefixes the key.  The ``Annotated`` types at the end bundle a check with its type.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import urllib.parse
from typing import Annotated

from pydantic import AfterValidator, SecretStr

from components.i18n import _
from components.settings.errors import KeyedError
from components.settings.facts import (
    DOCUMENTATION_NETWORKS,
    HOST_KEY_PLACEHOLDER,
    KNOWN_DEFAULT_PASSWORDS,
    METADATA_HOSTS,
    PLACEHOLDER_PREFIX,
    POSTGRESQL_PASSWORD_SYMBOLS,
    RESERVED_DOMAINS,
    RESERVED_TLDS,
    STACK_FILE,
)

# Every pattern is applied with ``fullmatch``: Python's ``$`` also matches before a
# trailing newline, so "nexus\n" would pass a ``^...$`` check and split a rendered script.
LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
ZONE = re.compile(r"[a-z]{2}-[a-z]+(-[a-z]+)?-\d+")  # ap-shanghai-fsi-1 too, like REGION
REGION = re.compile(r"[a-z]{2}-[a-z]+(-[a-z]+)?")
INSTANCE_TYPE = re.compile(r"[A-Z0-9]+\.[A-Z0-9]+")
IMAGE_ID = re.compile(r"img-[a-z0-9]{8}")
NGINX_SIZE = re.compile(r"\d+[kKmMgG]?")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}")
UNIX_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
# Docker IDs: 4-30 lowercase letters and digits; older accounts and organisations may hold '-' or '_'.
DOCKER_HUB_USERNAME = re.compile(r"[a-z0-9][a-z0-9_-]{3,29}")
# udev's stable names: by-id (virtio-..., scsi-0QEMU_..., wwn-0x...), by-uuid, by-label, by-path (pci-0000:00:05.0).
DATA_DEVICE = re.compile(r"/dev/disk/by-(id|uuid|label|path)/(?!\.\.?\Z)[A-Za-z0-9._:+@-]{1,200}")
# URL characters: RFC 3986 unreserved and reserved ones, minus what a shell or nginx treats specially.
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9._~:/?#\[\]@+,=%-]+")
_SSH_HOST_KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# Characters no plain setting needs and a shell, a config file or a log line would treat specially.
_SHELL_SPECIAL = frozenset("'\"`$\\;|&<>(){}")
# Nexus user ids of the users this program manages: lowercase, so they also work as file names
# on the host (each password travels in its own root-only file) and in a docker login line.
NEXUS_USER = re.compile(r"[a-z][a-z0-9._-]{0,63}")
# Tencent SSL console certificate ids (applied with ``match``, anchored both ends).
SSL_CERTIFICATE_ID = re.compile(r"^[A-Za-z0-9]{6,16}$")
# A Tencent Private DNS zone id, as DescribePrivateZoneList and the console show it (zone-6xg5xgky).
PRIVATE_ZONE_ID = re.compile(r"^zone-[a-z0-9]{6,16}$")
_PG_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


# --- secrets a stack file read alone does not hold ---------------------------


def secret_placeholder(key: str) -> str:
    """The stand-in for secret ``key`` (``<secret:adminPassword>``) when a stack file is read alone."""
    return f"{PLACEHOLDER_PREFIX}{key}>"


def is_placeholder(secret: SecretStr | None) -> bool:
    """Whether ``secret`` is a ``secret_placeholder`` stand-in: validators skip its rules, rendering shows it."""
    return secret is not None and secret.get_secret_value().startswith(PLACEHOLDER_PREFIX)


# --- text and names ----------------------------------------------------------


def plain_text(value: str, allow: str = "") -> str:
    """Refuse what could escape a quoted shell word or a config line, whatever the field's own rule.

    Applied to every plain string setting of every model (``base.SettingsModel``), so a new field
    is covered without remembering to: only printable ASCII, no whitespace (unless
    ``allow`` lists it), no quote, ``$``, backtick, backslash or command separator.
    """
    for char in value:
        if char in allow:
            continue
        if not (" " < char <= "~"):
            raise ValueError(_("{value!r} may hold only printable ASCII without spaces or control characters").format(
                value=value))
        if char in _SHELL_SPECIAL:
            raise ValueError(_("{value!r} holds {char!r}; quotes, $, backticks, backslashes and ;|&<>(){{}} "
                               "are not allowed").format(value=value, char=char))
    return value


class AllowChars(str):
    """Field metadata: characters (e.g. a space) that the plain-text check lets through for this field."""


def dns_name(value: str) -> str:
    name = value.lower().rstrip(".")
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(LABEL.fullmatch(label) for label in labels):
        raise ValueError(_("{value!r} is not a DNS name (letters, digits, '-', dot-separated, e.g. widgets-inc.cn)")
                         .format(value=value))
    if labels[-1].isdigit():
        raise ValueError(_("{value!r} is not a DNS name (the top-level label cannot be numeric)").format(value=value))
    return name


def dns_label(value: str) -> str:
    if not LABEL.fullmatch(value):
        raise ValueError(_("{value!r} is not a DNS label (1-63 of a-z, 0-9, '-', not starting or ending with '-')")
                         .format(value=value))
    return value


def unix_user(value: str) -> str:
    if not UNIX_USER.fullmatch(value):
        raise ValueError(_("{value!r} is not a Unix user name").format(value=value))
    return value


def pg_identifier(value: str) -> str:
    if not _PG_IDENTIFIER.fullmatch(value):
        raise ValueError(_("{value!r} is not a PostgreSQL name (a-z, 0-9, '_', not starting with a digit, 1-63)")
                         .format(value=value))
    return value


# --- addresses and documentation placeholders --------------------------------


def is_ip(value: str, *, network: bool = False) -> bool:
    """Whether ``value`` is an IP address or, with ``network``, also a network (``203.0.113.0/24``)."""
    try:
        if network:
            ipaddress.ip_network(value, strict=False)
        else:
            ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def reserved_name_reason(name: str) -> str | None:
    """Why ``name`` cannot be a real deployment's name (a documentation placeholder), or None."""
    labels = name.lower().rstrip(".").split(".")
    if labels[-1] in RESERVED_TLDS:
        return _(".{tld} is a reserved top-level domain, RFC 2606/6761").format(tld=labels[-1])
    for reserved in RESERVED_DOMAINS:
        if name.lower().rstrip(".") == reserved or name.lower().rstrip(".").endswith("." + reserved):
            return _("{name} is reserved for documentation, {rfc}").format(name=reserved, rfc="RFC 2606")
    return None


def documentation_network_reason(value: str) -> str | None:
    """Why an address or CIDR is a documentation placeholder (RFC 5737 / RFC 3849), or None."""
    if not is_ip(value, network=True):
        return None
    network = ipaddress.ip_network(value, strict=False)
    for documentation in DOCUMENTATION_NETWORKS:
        if network.version == documentation.version and network.subnet_of(documentation):
            rfc = "RFC 3849" if documentation.version == 6 else "RFC 5737"
            return _("{name} is reserved for documentation, {rfc}").format(name=documentation, rfc=rfc)
    return None


class PlaceholderValue(ValueError):
    """A documentation placeholder where a real value belongs (whatever the language of its message)."""


def not_documentation_value(value: str, what: str) -> str:
    """Refuse a name or address reserved for documentation: the shipped stack files' unedited examples."""
    reason = reserved_name_reason(value) if not is_ip(value, network=True) else documentation_network_reason(value)
    if reason:
        raise PlaceholderValue(_("{value!r} is a placeholder ({reason}): set {what} in {stack_file}").format(
            value=value, reason=reason, what=what, stack_file=STACK_FILE))
    return value


def cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(_("{value!r} is not a CIDR (an address and a prefix length, e.g. 10.8.0.0/16)").format(
            value=value)) from None
    raise ValueError(_("{value!r} is not a CIDR: host bits are set; did you mean {network}?").format(
        value=value, network=network))


def allow_list(key: str, cidrs: list[str] | None) -> None:
    """An nginx allow-list: a network of everyone would only hide that the list is not wanted."""
    for index, network in enumerate(cidrs or []):
        if ipaddress.ip_network(network).prefixlen == 0:
            raise KeyedError(
                (key, index),
                _("{network!r} allows everyone; omit {key} to serve every address, or list your networks").format(
                    network=network, key=key),
            )


def host_address(value: str) -> str:
    """An IP address (no IPv6 zone: ``%...`` is free text) or a DNS name."""
    if "%" not in value and is_ip(value):
        return value
    try:
        return dns_name(value)
    except ValueError:
        raise ValueError(_("{value!r} is not an IP address or host name").format(value=value)) from None


def url(value: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """An absolute URL, parsed: allowed scheme, a host, no user:password@, no shell-special characters."""
    wanted = _("an https URL") if schemes == ("https",) else _("an http(s) URL")
    if not _URL_CHARACTERS.fullmatch(value):
        raise ValueError(_("{value!r} is not {wanted} (only letters, digits and -._~:/?#[]@+,=%)").format(
            value=value, wanted=wanted))
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc or not parts.hostname:
        raise ValueError(_("{value!r} is not {wanted} (e.g. https://registry-1.docker.io)").format(
            value=value, wanted=wanted))
    if "@" in parts.netloc:
        raise ValueError(_("{value!r} holds user:password@; credentials belong in secrets, never in a URL").format(
            value=value))
    try:
        parts.port  # noqa: B018 - parses the port, raising on a bad one
        host_address(parts.hostname.strip("[]"))
    except ValueError:
        raise ValueError(_("{value!r} is not {wanted} (bad host or port)").format(value=value, wanted=wanted)) from None
    not_documentation_value(parts.hostname.strip("[]"), _("a reachable URL"))
    return value


def optional_url(value: str) -> str:
    """``url``, or "" for none (``server.dockerMirror: ""`` turns the mirror off)."""
    return url(value) if value else value


def remote_url(value: str) -> str:
    """An upstream for a proxy repository: http(s), and never a metadata service or a link-local,
    loopback or unspecified address (CVE-2026-0600: a proxy is a request forger for whoever sets its URL)."""
    url(value)
    host = (urllib.parse.urlsplit(value).hostname or "").rstrip(".").lower()
    if host in METADATA_HOSTS:
        raise ValueError(_("{value!r} points at a cloud metadata service or this host; proxies must never reach it")
                         .format(value=value))
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        # Resolvers read '2852039166' or '0xa9.0xfe.0.23' as addresses: only dotted decimal is an address here.
        if re.fullmatch(r"[0-9.]+|0x[0-9a-f]+(\.[0-9a-fx.]*)?", host):
            raise ValueError(_("{value!r} has a numeric host that is not a dotted IPv4 address").format(
                value=value)) from None
        return value
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_link_local or address.is_loopback or address.is_unspecified or address.is_multicast:
        raise ValueError(_(
            "{value!r} is a link-local, loopback or unspecified address (cloud metadata lives at "
            "169.254.0.0/16); proxies must never reach it"
        ).format(value=value))
    return value


def ssh_host_key(value: str) -> str:
    """An OpenSSH public host key line ``<type> <base64> [comment]``, normalised to ``<type> <base64>``."""
    if value.strip() == HOST_KEY_PLACEHOLDER:
        raise ValueError(_(
            "{value!r} is a placeholder (read the real one on the server's console: cat "
            "/etc/ssh/ssh_host_ed25519_key.pub, or ssh-keyscan -t ed25519 <server.address> with its fingerprint "
            "checked there by ssh-keygen -lf; README: SSH host keys): set your server's host key in {stack_file}"
        ).format(value=value, stack_file=STACK_FILE))
    fields = value.split()
    hint = _("a public host key line such as 'ssh-ed25519 AAAAC3Nz...' (README: SSH host keys)")
    if len(fields) < 2 or fields[0] not in _SSH_HOST_KEY_TYPES:
        raise ValueError(_("{value!r} is not {hint}").format(value=value, hint=hint))
    try:
        blob = base64.b64decode(fields[1], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(_("{value!r} is not {hint}: the key is not base64").format(value=value, hint=hint)) from None
    # The blob starts with its own type as an SSH string: a key pasted under the wrong type is refused.
    length = int.from_bytes(blob[:4], "big") if len(blob) >= 4 else -1
    if blob[4:4 + length].decode("ascii", "replace") != fields[0]:
        raise ValueError(_("{value!r} is not {hint}: the key data is not a {type} key").format(
            value=value, hint=hint, type=fields[0]))
    return f"{fields[0]} {fields[1]}"


# --- passwords ---------------------------------------------------------------


# The host library's read_line (components/templates/host/lib/common.sh.j2, SECRET_MAX_BYTES) reads a secret
# file as one line of at most this many bytes with no control character: a password the host would refuse
# is refused here, before anything is deployed.
HOST_SECRET_MAX_BYTES = 4096


def host_line_problem(secret: str) -> str | None:
    """Why the host scripts would refuse ``secret`` as a secret file's one line, or None."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in secret):
        return _("must be one line without control characters (newline, tab, NUL, ESC, DEL ...)")
    if len(secret.encode()) > HOST_SECRET_MAX_BYTES:
        return _("must be at most {limit} bytes").format(limit=HOST_SECRET_MAX_BYTES)
    return None


def check_password(password: str) -> None:
    """A Nexus password (admin or a managed user's): long, not a known default, one line the host accepts."""
    if len(password) < 12:
        raise ValueError(_("must be at least 12 characters"))
    if password.lower() in KNOWN_DEFAULT_PASSWORDS:
        raise ValueError(_("is a well-known default password; choose your own"))
    if problem := host_line_problem(password):
        raise ValueError(problem)


def database_password_problem(password: str) -> str | None:
    """Why ``password`` cannot be a TencentDB root password or a JDBC env-file value, or None."""
    if problem := host_line_problem(password):
        return problem
    if not 8 <= len(password) <= 64:
        return _("must be 8-64 characters (TencentDB's rule)")
    kinds = sum((any(c.isascii() and c.isalpha() for c in password), any(c.isdigit() for c in password),
                 any(c in POSTGRESQL_PASSWORD_SYMBOLS for c in password)))
    if kinds < 2:
        return _("must mix at least two of letters, digits and {symbols} (TencentDB's rule)").format(
            symbols=POSTGRESQL_PASSWORD_SYMBOLS)
    return None


# --- field types ---------------------------------------------------------------

DnsName = Annotated[str, AfterValidator(dns_name)]
ZoneName = Annotated[str, AfterValidator(dns_name),
                     AfterValidator(lambda v: not_documentation_value(v, _("your own zone")))]
DnsLabel = Annotated[str, AfterValidator(dns_label)]
Cidr = Annotated[str, AfterValidator(cidr)]
# A network the user names (admins, offices, CI): a documentation range is an unedited placeholder.
NetworkCidr = Annotated[Cidr, AfterValidator(lambda v: not_documentation_value(v, _("your network(s)")))]
Url = Annotated[str, AfterValidator(url)]
OptionalUrl = Annotated[str, AfterValidator(optional_url)]
RemoteUrl = Annotated[str, AfterValidator(remote_url)]
SshHostKey = Annotated[str, AllowChars(" "), AfterValidator(ssh_host_key)]
PgIdentifier = Annotated[str, AfterValidator(pg_identifier)]


# --- alert webhooks (secrets: no message below ever holds the URL, which carries a token) -----------

# Receivers whose JSON body differs from the generic one, by the host their webhook URLs name.
WEBHOOK_HOSTS = {
    "qyapi.weixin.qq.com": "wecom",
    "open.feishu.cn": "feishu",
    "open.larksuite.com": "feishu",
    "oapi.dingtalk.com": "dingtalk",
}
_WEBHOOK_URL = re.compile(r"https?://([A-Za-z0-9.-]+)(:[0-9]{1,5})?(/[!#-~]*)?")


def webhook_kind(url: str) -> str:
    """``wecom``, ``feishu``, ``dingtalk`` or ``generic`` (any other HTTP receiver of a JSON POST)."""
    match = _WEBHOOK_URL.fullmatch(url)
    return WEBHOOK_HOSTS.get(match.group(1).lower(), "generic") if match else "generic"


def webhook_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook, in words that never repeat it; None when it can.

    The host script hands the URL to curl in a config file line (``url = "..."``), so it is
    printable ASCII without spaces, quotes or backslashes.
    """
    if len(url) > 2048:
        return _("is longer than {limit} characters").format(limit=2048)
    if not _WEBHOOK_URL.fullmatch(url) or '"' in url or "\\" in url:
        return _("is not an http(s) URL of printable characters without spaces or quotes "
                 "(e.g. https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...)")
    return None
