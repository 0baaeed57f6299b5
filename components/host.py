"""NexusHost: the machine Nexus runs on, and how the program reaches it over SSH.

``server.mode: cvm`` builds a small, closed network around one CVM: a VPC and
subnet in the chosen (or first available) zone, a security group whose single
``GroupRuleSet`` lets in SSH from the admin CIDRs and HTTP(S) from anywhere, an
SSH key made by pulumi-tls and imported as a Tencent key pair, and a separate
CBS data disk so Nexus data outlives the instance.  ``server.mode: existing``
registers no cloud resource: the user's server is only an SSH address.

Either way the component exposes one ``remote.ConnectionArgs`` (with dial
retries, because a new CVM takes a minute to accept SSH) for every later step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_tls as tls
from pulumi_command import remote
from tencentcloud_iac_pulumi import availability, cbs, image, instance, key, security, subnet, vpc

from components.settings import IMAGE_FAMILIES, CvmServer, ExistingServer, Settings

VPC_CIDR = "10.70.0.0/16"
SUBNET_CIDR = "10.70.1.0/24"
# A new CVM answers SSH only after cloud-init: retry dialing for ~10 minutes.
DIAL_ERROR_LIMIT = 40
PER_DIAL_TIMEOUT_SECONDS = 15
# Tencent's public Ubuntu images disable root login and ship user "ubuntu".
DEFAULT_SSH_USER = {"ubuntu-22.04": "ubuntu", "ubuntu-24.04": "ubuntu"}


def key_pair_name(stack: str) -> str:
    """Tencent key pair names allow only letters, digits and '_', at most 25 characters."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", f"nexus_registry_{stack}")
    return cleaned[:25]


def ingress_rules(server: CvmServer) -> list[dict[str, str]]:
    """The whole inbound policy: SSH from admin networks, web from anywhere, nothing else."""
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

    def __init__(self, name: str, args: NexusHostArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nexus-registry:host:NexusHost", name, None, opts)
        settings = args.settings
        server = settings.server
        self.instance = None
        self.data_disk = None
        self.network = None
        if isinstance(server, CvmServer):
            private_key = self._build_cvm(name, settings, server, args.data_disk_gb)
            self.ssh_user = server.ssh_user or DEFAULT_SSH_USER.get(server.image, "root")
            port = 22
        else:
            assert isinstance(server, ExistingServer)
            self.public_ip = pulumi.Output.from_input(server.address)
            self.data_disk_id = pulumi.Output.from_input(server.data_device or "")
            self.ssh_user = server.user
            port = server.port
            assert settings.ssh_private_key is not None  # enforced by Settings
            private_key = pulumi.Output.secret(settings.ssh_private_key.get_secret_value())

        self.connection = remote.ConnectionArgs(
            host=self.public_ip,
            port=port,
            user=self.ssh_user,
            private_key=private_key,
            dial_error_limit=DIAL_ERROR_LIMIT,
            per_dial_timeout=PER_DIAL_TIMEOUT_SECONDS,
        )
        self.ssh_command = self.public_ip.apply(
            lambda ip: f"ssh -p {port} {self.ssh_user}@{ip}" if port != 22 else f"ssh {self.ssh_user}@{ip}"
        )
        self.register_outputs({"publicIp": self.public_ip, "sshCommand": self.ssh_command})

    def _build_cvm(
        self, name: str, settings: Settings, server: CvmServer, data_disk_gb: pulumi.Input[int] | None
    ) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=settings.protect, retain_on_delete=settings.protect)
        label = settings.resource_label

        zone = (
            pulumi.Output.from_input(server.availability_zone)
            if server.availability_zone
            else availability.get_zones_by_product_output(product="cvm", opts=pulumi.InvokeOutputOptions(parent=self))
            .zones.apply(_first_available_zone)
        )
        image_id = (
            pulumi.Output.from_input(server.image)
            if server.image.startswith("img-")
            else image.get_instance_output(
                image_name_regex=f"^{re.escape(IMAGE_FAMILIES[server.image])}",
                filters=[{"name": "image-type", "values": ["PUBLIC_IMAGE"]}],
                opts=pulumi.InvokeOutputOptions(parent=self),
            ).image_id
        )
        instance_type = (
            pulumi.Output.from_input(server.instance_type)
            if server.instance_type
            else zone.apply(
                lambda z: instance.get_types_output(
                    availability_zone=z,
                    cpu_core_count=server.cpu,
                    memory_size=server.memory_gb,
                    exclude_sold_out=True,
                    opts=pulumi.InvokeOutputOptions(parent=self),
                )
            ).apply(lambda result: _pick_instance_type(result.instance_types, server))
        )

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
            ingresses=[security.GroupRuleSetIngressArgs(**rule) for rule in ingress_rules(server)],
            egresses=[security.GroupRuleSetEgressArgs(
                action="ACCEPT", protocol="ALL", port="ALL", cidr_block="0.0.0.0/0",
                description="host may reach package mirrors, Docker Hub and upstream registries",
            )],
            opts=child,
        )
        # RSA: Tencent's ImportKeyPair documents OpenSSH RSA public keys.
        ssh_key = tls.PrivateKey(f"{name}-ssh-key", algorithm="RSA", rsa_bits=4096, opts=child)
        key_pair = key.Pair(
            f"{name}-key-pair", key_name=key_pair_name(settings.stack), public_key=ssh_key.public_key_openssh,
            opts=child,
        )
        self.instance = instance.Instance(
            f"{name}-cvm",
            instance_name=label,
            hostname=f"nexus-{settings.stack}"[:15].rstrip("-"),
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
            opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(ignore_changes=["image_id"])),
        )
        self.data_disk = cbs.Storage(
            f"{name}-data-disk",
            storage_name=f"{label}-data",
            storage_type="CLOUD_PREMIUM",
            # Grows in place (ResizeDisk); a shrink is refused before it gets here.
            storage_size=data_disk_gb if data_disk_gb is not None else server.data_disk_gb,
            availability_zone=zone,
            charge_type="POSTPAID_BY_HOUR",
            encrypt=False,
            opts=stateful,
        )
        self.data_disk_attachment = cbs.StorageAttachment(
            f"{name}-data-disk-attachment", storage_id=self.data_disk.id, instance_id=self.instance.id,
            opts=child,
        )
        self.public_ip = self.instance.public_ip
        self.network = HostNetwork(
            vpc_id=network.id, subnet_id=subnet_.id, availability_zone=pulumi.Output.from_input(zone),
            security_group_id=group.id,
        )
        # Wait for the attachment before anything looks for the disk on the host.
        self.data_disk_id = pulumi.Output.all(self.data_disk.id, self.data_disk_attachment.id).apply(lambda v: v[0])
        return ssh_key.private_key_openssh  # marked secret by pulumi-tls


def _first_available_zone(zones) -> str:
    available = [zone.name for zone in zones if getattr(zone, "state", "AVAILABLE") == "AVAILABLE"]
    if not available:
        raise ValueError("nexus-registry:server.availabilityZone: no CVM zone is available in this region; set one")
    return available[0]


def _pick_instance_type(types, server: CvmServer) -> str:
    candidates = sorted(
        (t for t in types if t.cpu_core_count == server.cpu and t.memory_size == server.memory_gb),
        key=lambda t: t.instance_type,
    )
    # Prefer current standard families; any exact cpu/memory match beats failing.
    preferred = [t for t in candidates if t.family in ("S5", "SA5", "S6", "SA3", "SA2")]
    chosen = (preferred or candidates)
    if not chosen:
        raise ValueError(
            f"nexus-registry:server: no instance type with cpu={server.cpu} memoryGb={server.memory_gb} "
            "is on sale in this zone; set server.instanceType"
        )
    return chosen[0].instance_type
