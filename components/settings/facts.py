"""Facts the settings rest on: the config namespace, defaults, Sonatype's limits, reserved values.

Plain data with the source of each value beside it; no validation happens here.  Nexus release
facts (the pinned default, image tag variants, feature thresholds) live in ``version``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from components import host_layout

NAMESPACE = "nexus-registry"
REGION_KEY = "tencentcloud:region"
SECRET_KEYS = ("adminPassword", "sshPrivateKey", "dockerHubToken", "databasePassword", "userPasswords",
               "alertWebhooks")
# Stand-ins for secrets a stack file read alone does not hold (``<secret:adminPassword>``):
# made and recognised only by ``fields.secret_placeholder`` and ``fields.is_placeholder``.
PLACEHOLDER_PREFIX = "<secret:"

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
# Upstreams a CVM on the mainland can reach, used where the stack sets none (Docker Hub and
# pypi.org are unreachable or throttled from mainland regions).
MAINLAND_REMOTES = {"dockerHubRemote": TENCENT_DOCKER_MIRROR, "pypiRemote": TENCENT_PYPI_MIRROR}

# Sonatype's memory requirements (help.sonatype.com, "System Requirements"): a heap of at
# least 2703 MB (the image's documented default), a host with at least 8 GB, and heap plus
# direct memory at most two thirds of the host's RAM.
MIN_HEAP_MB = 2703
MIN_HOST_MEMORY_GB = 8
# Sonatype sizes direct memory like the heap for OrientDB only (before 3.71); H2 and
# PostgreSQL need only the JVM's I/O buffers, capped so the JVM default (= heap) cannot
# silently double the memory budget.
H2_DIRECT_MEMORY_MB = 1024
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

# Nexus's own users, which a settings entry must never take over.
RESERVED_USERS = frozenset({"admin", "anonymous"})
DEFAULT_MIRROR_PORT = 8443
# The address range of the VPC a cvm stack creates (components.host): the private path's
# security-group rules and nginx allow-lists let it in (README: The private path).
STACK_VPC_CIDR = "10.70.0.0/16"
# Ports the host already uses (SSH, nginx's own, Nexus's connectors on 127.0.0.1).
RESERVED_PORTS = host_layout.HOST_PORTS

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
# The lab stack file's server.hostKey until the user sets their server's: refused, never trusted.
HOST_KEY_PLACEHOLDER = "REPLACE-WITH-YOUR-SERVERS-HOST-KEY"

# TencentDB for PostgreSQL major versions the provider accepts (db_major_version,
# terraform-provider-tencentcloud v1.82.42 resource_tc_postgresql_instance.go);
# Nexus needs PostgreSQL 13 or newer.
POSTGRESQL_MAJOR_VERSIONS = ("13", "14", "15", "16")
# ValidateMysqlPassword, which the provider applies to root_password: 8-64 characters
# with at least two of letters, digits and these symbols.
POSTGRESQL_PASSWORD_SYMBOLS = "_+-&=!@#$%^*()"

# Regions the Tencent provider knows (v1.82.42; the file says where each comes from): a region outside it
# is a typo (ap-guangzou), which the provider would only report after the first resource is planned.
TENCENTCLOUD_REGIONS = frozenset(
    line.strip()
    for line in (Path(__file__).parent / "data" / "tencentcloud_regions.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)

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

# How Tencent free certificates prove domain control (components.certificates).
CertificateValidation = Literal["dns-auto", "dnspod-record", "manual"]


def is_mainland_region(region: str | None) -> bool:
    """A Tencent region on the Chinese mainland (where Docker Hub and pypi.org are unreliable)."""
    return bool(region) and region.startswith("ap-") and region not in OVERSEAS_AP_REGIONS
