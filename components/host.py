"""NexusHost: the machine Nexus runs on, and how the program reaches it over SSH.

``server.mode: cvm`` builds a small, closed network around one CVM: a VPC and
subnet in the chosen (or first available) zone, a security group whose single
``GroupRuleSet`` lets in SSH from the admin CIDRs and HTTP(S) from anywhere, an
SSH key made by pulumi-tls and imported as a Tencent key pair, and a separate
CBS data disk so Nexus data outlives the instance.  ``server.mode: existing``
registers no cloud resource: the user's server is only an SSH address.

The zone and (with ``server.cpu``/``memoryGb``) the instance type come from
lookups the cloud may answer differently later, yet the zone is ForceNew on
subnet, CVM and data disk and a type change force-stops the CVM.  So a lookup
decides once: ``cvmPlacement`` (a stack output, read back through
``components.deployed``) keeps the choice, and a lookup that would now choose
otherwise is only logged.  Explicit settings are how a stack moves on purpose.

Either way the component exposes one ``remote.ConnectionArgs`` (with dial
retries, because a new CVM takes a minute to accept SSH) for every later step,
pinned to the server's SSH host key: pulumi-command ignores the host key when
none is given, and every step sends secrets.  On ``cvm`` the key is made by
pulumi-tls and installed by cloud-init at first boot (user data); on ``existing``
it is the ``server.hostKey`` setting.  README: SSH host keys.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_tls as tls
from pulumi_command import remote
from tencentcloud_iac_pulumi import availability, cbs, image, instance, key, security, subnet, vpc

from components.deployed import previous_output
from components.settings import IMAGE_FAMILIES, STACK_VPC_CIDR, CvmServer, Settings

VPC_CIDR = STACK_VPC_CIDR
SUBNET_CIDR = "10.70.1.0/24"
# A new CVM answers SSH only after cloud-init: retry dialing for ~10 minutes.
DIAL_ERROR_LIMIT = 40
PER_DIAL_TIMEOUT_SECONDS = 15
# Tencent's public Ubuntu images disable root login and ship user "ubuntu".
DEFAULT_SSH_USER = {"ubuntu-22.04": "ubuntu", "ubuntu-24.04": "ubuntu"}
HOST_KEY_MARKER = "# nexus-registry: pinned SSH host key"


def host_key_user_data(private_key_openssh: str, public_key_openssh: str) -> str:
    """cloud-config that installs our ed25519 host key before sshd first starts, and no other host key.

    cloud-init's ``ssh`` module writes ``ssh_keys`` in its init stage (before ssh.service);
    with ``ssh_genkeytypes`` empty it generates no other type, so the server can only
    present the key that the connection pins.  Contains the private key: a secret.
    """
    private = "\n".join(f"    {line}" for line in private_key_openssh.strip().splitlines())
    return (
        "#cloud-config\n"
        f"{HOST_KEY_MARKER} (components/host.py); read once, at first boot.\n"
        "ssh_deletekeys: true\n"
        "ssh_genkeytypes: []\n"
        "ssh_keys:\n"
        "  ed25519_private: |\n"
        f"{private}\n"
        f"  ed25519_public: {public_key_openssh.strip()}\n"
    )


def pinned_host_key(user_data: str | None, configured: str | None) -> str:
    """The host key a CVM was created with (from its own user data), else ``server.hostKey``.

    An instance created before host keys were pinned has no key in its user data, and
    its user data is never changed (it only runs at first boot): the operator reads the
    key once on the instance's console and sets ``server.hostKey``.  Never trust on first use.
    """
    installed = None
    if user_data and HOST_KEY_MARKER in user_data:
        match = re.search(r"^  ed25519_public: (\S+ \S+)", user_data, re.M)
        installed = match.group(1) if match else None
    if installed and configured and configured != installed:
        raise ValueError(
            "nexus-registry:server.hostKey: differs from the key this CVM was created with; "
            "remove the setting (README: SSH host keys)"
        )
    if installed or configured:
        return installed or configured  # type: ignore[return-value]
    raise ValueError(
        "nexus-registry:server.hostKey: is required for this stack: its CVM was created before SSH host keys "
        "were pinned. Read the key on the instance's console (VNC login in the Tencent console): "
        "cat /etc/ssh/ssh_host_ed25519_key.pub, then pulumi config set --path server.hostKey '<that line>' "
        "(README: SSH host keys)"
    )


# The program's CVMs are pay-as-you-go; getTypes answers one row per charge type.
CHARGE_TYPE = "POSTPAID_BY_HOUR"
# Standard families preferred when several types match cpu/memory.
PREFERRED_FAMILIES = ("S5", "SA5", "S6", "SA3", "SA2")
# The stack output recording what the lookups chose (components.deployed).
PLACEMENT_OUTPUT = "cvmPlacement"
KEY_PAIR_NAME_LIMIT = 25  # tencentcloud/common/validators.go ValidateKeyPairName: 1-25 of [a-zA-Z0-9_]
HOSTNAME_LIMIT = 15


def _short_hash(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def key_pair_name(project: str, stack: str) -> str:
    """A Tencent key pair name unique per project and stack (names are unique per account).

    Key names allow letters, digits and '_' only, at most 25 characters, so a
    readable prefix of the stack name is followed by a hash of project and stack:
    ``platform-team-a`` and ``platform-team-b`` no longer truncate to one name.
    """
    digest = _short_hash(project, stack)
    room = KEY_PAIR_NAME_LIMIT - len("nexus__") - len(digest)
    readable = re.sub(r"[^A-Za-z0-9]+", "_", stack).strip("_")[:room].rstrip("_")
    return f"nexus_{readable}_{digest}" if readable else f"nexus_{digest}"


def host_name(stack: str) -> str:
    """The CVM's hostname: RunInstances takes letters, digits, '.' and '-' (no '_'), no leading/trailing '-'."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", f"nexus-{stack}".lower()).strip("-")
    return cleaned[:HOSTNAME_LIMIT].rstrip("-")


def ingress_rules(server: CvmServer, mirror_port: int | None = None,
                  mirror_cidrs: Sequence[str] | None = None, private_cidr: str | None = None) -> list[dict[str, str]]:
    """The whole inbound policy: SSH from admin networks, web from anywhere, the anonymous
    registry mirror's port (when there is one) from its allow-list or anywhere, HTTPS and the
    mirror from the stack's VPC on the private path, nothing else."""
    # Tencent takes IPv6 networks in a field of their own.
    rules = [
        {"action": "ACCEPT", "protocol": "TCP", "port": "22",
         ("ipv6_cidr_block" if ":" in cidr else "cidr_block"): cidr, "description": "SSH from admin network"}
        for cidr in server.ssh_allowed_cidrs
    ]
    rules += [
        {"action": "ACCEPT", "protocol": "TCP", "port": "80", "cidr_block": "0.0.0.0/0",
         "description": "HTTP, redirected to HTTPS"},
        {"action": "ACCEPT", "protocol": "TCP", "port": "443", "cidr_block": "0.0.0.0/0",
         "description": "HTTPS: Nexus UI and Docker registry"},
    ]
    if mirror_port is not None:
        rules += [
            {"action": "ACCEPT", "protocol": "TCP", "port": str(mirror_port),
             ("ipv6_cidr_block" if ":" in cidr else "cidr_block"): cidr,
             "description": "HTTPS: anonymous Docker Hub mirror (GET only)"}
            for cidr in (mirror_cidrs or ["0.0.0.0/0"])
        ]
    if private_cidr is not None:
        # Clients in the VPC (Private DNS answers them with the private address) reach the same ports.
        rules += [
            {"action": "ACCEPT", "protocol": "TCP", "port": str(port), "cidr_block": private_cidr,
             "description": f"HTTPS{' mirror' if port == mirror_port else ''} from the stack's VPC (private path)"}
            for port in (443, *([mirror_port] if mirror_port is not None else []))
        ]
    rules += [
        {"action": "DROP", "protocol": "ALL", "port": "ALL", "cidr_block": "0.0.0.0/0",
         "description": "everything else"},
    ]
    return rules


@dataclass(frozen=True)
class NexusHostArgs:
    settings: Settings
    data_disk_gb: pulumi.Input[int] | None = None
    """``server.dataDiskGb`` once checked against the deployed size (``components.deployed``)."""


@dataclass(frozen=True)
class HostNetwork:
    """Where a CVM stack's other private services (its database) join the host."""

    vpc_id: pulumi.Output[str]
    subnet_id: pulumi.Output[str]
    availability_zone: pulumi.Output[str]
    security_group_id: pulumi.Output[str]


class NexusHost(pulumi.ComponentResource):
    """A host reachable over SSH: a new CVM with a data disk, or an existing server."""

    public_ip: pulumi.Output[str]
    connection: remote.ConnectionArgs
    ssh_user: str
    data_disk_id: pulumi.Output[str]
    """The CBS disk id (``disk-xxxxxxxx``) on cvm; the configured device path or "" on existing."""
    data_disk: cbs.Storage | None
    instance: instance.Instance | None
    network: HostNetwork | None
    """The CVM's VPC, subnet, zone and security group; None for an existing server."""
    decisions: dict[str, pulumi.Output[Any]]
    """Stack outputs the next update reads back (``components.deployed``); export each under its key."""
    generated_private_key: pulumi.Output[str] | None
    """cvm: the SSH private key this stack generated (secret), for ``make ssh``; None on existing."""
    private_ip: pulumi.Output[str] | None
    """cvm: the CVM's address in its VPC (the private path's A records); None on existing."""

    def __init__(self, name: str, args: NexusHostArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nexus-registry:host:NexusHost", name, None, opts)
        settings = args.settings
        server = settings.server
        self.instance = None
        self.data_disk = None
        self.network = None
        self.decisions = {}
        self.generated_private_key = None
        self.private_ip = None
        if server.is_cvm:
            private_key, host_key = self._build_cvm(name, settings, server, args.data_disk_gb)
            self.generated_private_key = pulumi.Output.secret(private_key)
            self.ssh_user = server.ssh_user or DEFAULT_SSH_USER.get(server.image, "root")
            port = 22
        else:
            self.public_ip = pulumi.Output.from_input(server.address)
            self.data_disk_id = pulumi.Output.from_input(server.data_device or "")
            self.ssh_user = server.user
            port = server.port
            assert settings.ssh_private_key is not None  # enforced by Settings
            private_key = pulumi.Output.secret(settings.ssh_private_key.get_secret_value())
            host_key = pulumi.Output.from_input(server.host_key)

        self.connection = remote.ConnectionArgs(
            host=self.public_ip,
            port=port,
            user=self.ssh_user,
            private_key=private_key,
            host_key=host_key,
            dial_error_limit=DIAL_ERROR_LIMIT,
            per_dial_timeout=PER_DIAL_TIMEOUT_SECONDS,
        )
        self.ssh_command = self.public_ip.apply(
            lambda ip: f"ssh -p {port} {self.ssh_user}@{ip}" if port != 22 else f"ssh {self.ssh_user}@{ip}"
        )
        self.host_key = host_key
        self.known_hosts = pulumi.Output.all(self.public_ip, host_key).apply(
            lambda values: f"[{values[0]}]:{port} {values[1]}" if port != 22 else f"{values[0]} {values[1]}"
        )
        self.register_outputs({"publicIp": self.public_ip, "sshCommand": self.ssh_command,
                               "sshKnownHosts": self.known_hosts})

    def _build_cvm(
        self, name: str, settings: Settings, server: CvmServer, data_disk_gb: pulumi.Input[int] | None
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=settings.protect, retain_on_delete=settings.protect)
        label = settings.resource_label

        invoke = pulumi.InvokeOutputOptions(parent=self)
        recorded = previous_output(PLACEMENT_OUTPUT).apply(Placement.from_output)
        zones = (
            pulumi.Output.from_input([])
            if server.availability_zone
            else availability.get_zones_by_product_output(product="cvm", opts=invoke).zones.apply(
                lambda found: [zone.name for zone in found if _field(zone, "state") == "AVAILABLE"])
        )
        zone = pulumi.Output.all(recorded, zones).apply(
            lambda values: settle_zone(server.availability_zone, values[0], values[1], self))
        image_id = (
            pulumi.Output.from_input(server.image)
            if server.image.startswith("img-")
            else image.get_instance_output(
                image_name_regex=f"^{re.escape(IMAGE_FAMILIES[server.image])}",
                filters=[{"name": "image-type", "values": ["PUBLIC_IMAGE"]}],
                opts=invoke,
            ).image_id
        )
        if server.instance_type:
            offered: pulumi.Output[list[str]] = pulumi.Output.from_input([])
        else:
            offered = zone.apply(lambda z: instance.get_types_output(
                # `availability_zone` conflicts with `filter` in the provider's schema; both go in filters.
                filters=[{"name": "zone", "values": [z]}, {"name": "instance-charge-type", "values": [CHARGE_TYPE]}],
                cpu_core_count=server.cpu,
                memory_size=server.memory_gb,
                exclude_sold_out=True,
                opts=invoke,
            )).apply(lambda result: offered_types(result.instance_types, server, CHARGE_TYPE))
        instance_type = pulumi.Output.all(recorded, zone, offered).apply(
            lambda values: settle_instance_type(server, values[0], values[1], values[2], self))
        self.decisions = {PLACEMENT_OUTPUT: pulumi.Output.all(zone, instance_type).apply(
            lambda values: Placement(values[0], values[1], server.cpu, server.memory_gb).to_output())}

        network = vpc.Instance(f"{name}-vpc", name=label, cidr_block=VPC_CIDR, opts=child)
        subnet_ = subnet.Instance(
            f"{name}-subnet", name=label, vpc_id=network.id, cidr_block=SUBNET_CIDR,
            availability_zone=zone, opts=child,
        )
        group = security.Group(
            f"{name}-sg", name=label, description="nexus-registry: SSH from admins, HTTP(S) from anywhere",
            opts=child,
        )
        security.GroupRuleSet(
            f"{name}-sg-rules",
            security_group_id=group.id,
            ingresses=[security.GroupRuleSetIngressArgs(**rule) for rule in ingress_rules(
                server,
                settings.registry_mirror_port if settings.mirror_enabled else None,
                settings.registry_mirror_allowed_cidrs,
                settings.private_network_cidr,
            )],
            egresses=[security.GroupRuleSetEgressArgs(
                action="ACCEPT", protocol="ALL", port="ALL", cidr_block="0.0.0.0/0",
                description="host may reach package mirrors, Docker Hub and upstream registries",
            )],
            opts=child,
        )
        # RSA: Tencent's ImportKeyPair documents OpenSSH RSA public keys.
        ssh_key = tls.PrivateKey(f"{name}-ssh-key", algorithm="RSA", rsa_bits=4096, opts=child)
        key_pair = key.Pair(
            f"{name}-key-pair", key_name=key_pair_name(pulumi.get_project(), settings.stack),
            public_key=ssh_key.public_key_openssh,
            opts=child,
        )
        host_key = tls.PrivateKey(f"{name}-host-key", algorithm="ED25519", opts=child)
        user_data = pulumi.Output.secret(pulumi.Output.all(host_key.private_key_openssh, host_key.public_key_openssh)
                                         .apply(lambda keys: host_key_user_data(*keys)))
        self.instance = instance.Instance(
            f"{name}-cvm",
            instance_name=label,
            hostname=host_name(settings.stack),
            availability_zone=zone,
            image_id=image_id,
            instance_type=instance_type,
            instance_charge_type="POSTPAID_BY_HOUR",
            system_disk_type="CLOUD_PREMIUM",
            system_disk_size=server.system_disk_gb,
            vpc_id=network.id,
            subnet_id=subnet_.id,
            orderly_security_groups=[group.id],
            key_ids=[key_pair.id],
            allocate_public_ip=True,
            internet_charge_type="TRAFFIC_POSTPAID_BY_HOUR",
            internet_max_bandwidth_out=server.bandwidth_mbps,
            disable_api_termination=settings.protect,
            running_flag=True,
            # Plain text: the provider base64-encodes it (user_data wants base64 already).
            user_data_raw=user_data,
            # User data runs at first boot only, so changing it cannot re-key a host; an instance made
            # before host keys were pinned keeps its (empty) user data and needs server.hostKey.
            # The provider reads user data back into both fields: both hold the private key.
            opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(
                ignore_changes=["image_id", "user_data", "user_data_raw"],
                additional_secret_outputs=["user_data", "user_data_raw"],
            )),
        )
        self.data_disk = cbs.Storage(
            f"{name}-data-disk",
            storage_name=f"{label}-data",
            storage_type="CLOUD_PREMIUM",
            # Grows in place (ResizeDisk); a shrink is refused before it gets here.
            storage_size=data_disk_gb if data_disk_gb is not None else server.data_disk_gb,
            availability_zone=zone,
            charge_type="POSTPAID_BY_HOUR",
            # Encrypted at rest (CBS with the account's default KMS key).  encrypt is ForceNew: a disk
            # created unencrypted before this setting keeps its state value instead of being replaced.
            encrypt=True,
            opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(ignore_changes=["encrypt"])),
        )
        self.data_disk_attachment = cbs.StorageAttachment(
            f"{name}-data-disk-attachment", storage_id=self.data_disk.id, instance_id=self.instance.id,
            # Both ids are ForceNew and Create only attaches: a new attachment cannot be made while the
            # old one still holds the disk, so a replacement must detach first.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        self.public_ip = self.instance.public_ip
        self.private_ip = self.instance.private_ip
        self.network = HostNetwork(
            vpc_id=network.id, subnet_id=subnet_.id, availability_zone=pulumi.Output.from_input(zone),
            security_group_id=group.id,
        )
        # Wait for the attachment before anything looks for the disk on the host.
        self.data_disk_id = pulumi.Output.all(self.data_disk.id, self.data_disk_attachment.id).apply(lambda v: v[0])
        # The key the instance was created with (its state's user data), else server.hostKey; public.
        pinned = pulumi.Output.unsecret(
            self.instance.user_data_raw.apply(lambda text: pinned_host_key(text, server.host_key))
        )
        return ssh_key.private_key_openssh, pinned  # the private key is marked secret by pulumi-tls


def _field(obj: Any, name: str) -> Any:
    """A field of an SDK result object, or of a plain (snake_case or camelCase) mapping."""
    if isinstance(obj, Mapping):
        head, *rest = name.split("_")
        return obj.get(name, obj.get(head + "".join(part.title() for part in rest)))
    return getattr(obj, name, None)


@dataclass(frozen=True)
class Placement:
    """Where the CVM went and what it is: decided once by lookups, then kept (``cvmPlacement``)."""

    availability_zone: str
    instance_type: str
    cpu: int | None = None
    memory_gb: int | None = None

    def to_output(self) -> dict[str, Any]:
        return {"availabilityZone": self.availability_zone, "instanceType": self.instance_type,
                "cpu": self.cpu, "memoryGb": self.memory_gb}

    @staticmethod
    def from_output(value: Any) -> Placement | None:
        if not isinstance(value, Mapping):
            return None
        zone, type_ = value.get("availabilityZone"), value.get("instanceType")
        if not (isinstance(zone, str) and zone and isinstance(type_, str) and type_):
            return None

        def number(key: str) -> int | None:
            raw = value.get(key)
            return int(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else None

        return Placement(zone, type_, number("cpu"), number("memoryGb"))


def settle_zone(explicit: str | None, recorded: Placement | None, available: Sequence[str],
                resource: pulumi.Resource | None = None) -> str:
    """The zone for subnet, CVM and data disk (all ForceNew there).

    An explicit ``server.availabilityZone`` wins (that is how a stack moves on
    purpose).  Otherwise the zone this stack already uses stays, whatever the
    lookup says now; only a new stack takes the first AVAILABLE zone.
    """
    if explicit:
        if recorded is not None and recorded.availability_zone != explicit:
            pulumi.log.warn(
                f"server.availabilityZone moves this stack from {recorded.availability_zone} to {explicit}: "
                "subnet, CVM and data disk are replaced (the data disk starts empty; README: Decisions that stay made)",
                resource=resource)
        return explicit
    if recorded is not None:
        zone = recorded.availability_zone
        if zone not in available:
            fresh = f"; a new stack would use {available[0]}" if available else ""
            pulumi.log.warn(
                f"availability zone {zone} is no longer offered for new CVMs; this stack stays there{fresh}. "
                "To move, set server.availabilityZone (README: Decisions that stay made)", resource=resource)
        elif available and available[0] != zone:
            pulumi.log.warn(
                f"the zone lookup now prefers {available[0]}; this stack stays in {zone} "
                "(set server.availabilityZone to move it)", resource=resource)
        return zone
    if not available:
        raise ValueError("nexus-registry:server.availabilityZone: no CVM zone is available in this region; set one")
    return available[0]


def offered_types(types: Iterable[Any], server: CvmServer, charge_type: str = CHARGE_TYPE) -> list[str]:
    """Types on sale for ``charge_type`` with exactly the wanted cpu/memory, preferred families first.

    The data source answers one row per charge type (DescribeZoneInstanceConfigInfos),
    so a type sold only prepaid or as spot must not be picked for a pay-as-you-go CVM.
    """
    candidates = sorted({
        _field(t, "instance_type") for t in types
        if _field(t, "cpu_core_count") == server.cpu and _field(t, "memory_size") == server.memory_gb
        and _field(t, "instance_charge_type") == charge_type and _field(t, "status") == "SELL"
    })
    families = {_field(t, "instance_type"): _field(t, "family") for t in types}
    return ([c for c in candidates if families.get(c) in PREFERRED_FAMILIES]
            + [c for c in candidates if families.get(c) not in PREFERRED_FAMILIES])


def settle_instance_type(server: CvmServer, recorded: Placement | None, zone: str, offered: Sequence[str],
                         resource: pulumi.Resource | None = None) -> str:
    """The CVM's instance type: changing it resizes the host with a forced stop (ResetInstancesType).

    An explicit ``server.instanceType`` wins.  Otherwise the type this stack
    already runs stays while cpu/memory and zone are unchanged, even when it is
    sold out now (a running CVM keeps its type); only a new stack, a new size
    or a new zone takes the lookup's first choice.
    """
    if server.instance_type:
        if recorded is not None and recorded.instance_type != server.instance_type:
            pulumi.log.warn(
                f"server.instanceType changes {recorded.instance_type} to {server.instance_type}: the CVM is "
                "stopped and resized (README: Decisions that stay made)", resource=resource)
        return server.instance_type
    same_size = (recorded is not None and (recorded.cpu, recorded.memory_gb) == (server.cpu, server.memory_gb)
                 and recorded.availability_zone == zone)
    if recorded is not None and same_size:
        if recorded.instance_type not in offered:
            fresh = f"; a new stack would get {offered[0]}" if offered else ""
            pulumi.log.warn(
                f"instance type {recorded.instance_type} is not on sale in {zone} now; this CVM keeps it{fresh}",
                resource=resource)
        elif offered and offered[0] != recorded.instance_type:
            pulumi.log.warn(
                f"the instance type lookup now prefers {offered[0]}; this CVM stays {recorded.instance_type} "
                "(set server.instanceType to change it)", resource=resource)
        return recorded.instance_type
    if not offered:
        raise ValueError(
            f"nexus-registry:server: no instance type with cpu={server.cpu} memoryGb={server.memory_gb} "
            f"is on sale ({CHARGE_TYPE}) in {zone}; set server.instanceType"
        )
    return offered[0]
