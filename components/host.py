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
That policy is pure and lives in ``components.placement``; this module feeds it
the lookups and registers the resources, one private step per part
(``_placement``, ``_network``, ``_security_group``, ``_keys``, ``_instance``, ``_data_disk``).

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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_tls as tls
from pulumi_command import remote
from pydantic import SecretStr
from tencentcloud_iac_pulumi import availability, cbs, image, instance, key, security, subnet, vpc

from components.deployed import previous_output
from components.host_layout import HTTP_PORT, HTTPS_PORT, SSH_PORT
from components.placement import (
    CHARGE_TYPE,
    PLACEMENT_OUTPUT,
    Placement,
    Settled,
    available_zones,
    offered_types,
    settle_instance_type,
    settle_zone,
)
from components.settings import IMAGE_FAMILIES, STACK_VPC_CIDR, CvmServer, ExistingServer, Settings

VPC_CIDR = STACK_VPC_CIDR
SUBNET_CIDR = "10.70.1.0/24"
# A new CVM answers SSH only after cloud-init (packages, agents): pulumi-command v1.2.1 retries
# every dial error alike, limit + 1 attempts, waiting 100 ms x1.5 up to 5 s between them
# (remote/connection.go dialWithRetry, pulumi retry.Until).  120 is ~9.4 minutes of refused
# connections; when every dial times out instead (port 22 dropped: a wrong sshAllowedCidrs),
# each attempt adds PER_DIAL_TIMEOUT_SECONDS: ~40 minutes.  tests/unit/test_ssh_dial.py models it.
DIAL_ERROR_LIMIT = 120
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


# The CVM's disks and public traffic billing (components.preflight dry-runs and prices the same).
SYSTEM_DISK_TYPE = "CLOUD_PREMIUM"
DATA_DISK_TYPE = "CLOUD_PREMIUM"
INTERNET_CHARGE_TYPE = "TRAFFIC_POSTPAID_BY_HOUR"
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
        {"action": "ACCEPT", "protocol": "TCP", "port": str(SSH_PORT),
         ("ipv6_cidr_block" if ":" in cidr else "cidr_block"): cidr, "description": "SSH from admin network"}
        for cidr in server.ssh_allowed_cidrs
    ]
    rules += [
        {"action": "ACCEPT", "protocol": "TCP", "port": str(HTTP_PORT), "cidr_block": "0.0.0.0/0",
         "description": "HTTP, redirected to HTTPS"},
        {"action": "ACCEPT", "protocol": "TCP", "port": str(HTTPS_PORT), "cidr_block": "0.0.0.0/0",
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
            for port in (HTTPS_PORT, *([mirror_port] if mirror_port is not None else []))
        ]
    rules += [
        {"action": "DROP", "protocol": "ALL", "port": "ALL", "cidr_block": "0.0.0.0/0",
         "description": "everything else"},
    ]
    return rules


@dataclass(frozen=True)
class NexusHostArgs:
    """What the host is made of; ``from_settings`` picks it out of the stack's settings."""

    server: CvmServer | ExistingServer
    stack: str
    """Names the key pair and the CVM's hostname."""
    label: str
    """``Settings.resource_label``: the name of every cloud resource."""
    protect: bool = False
    """``protect``: the CVM and its data disk survive a delete or replace."""
    mirror_port: int | None = None
    """The anonymous registry mirror's port, opened in the security group; None without a mirror."""
    mirror_allowed_cidrs: Sequence[str] | None = None
    """Who may reach the mirror's port; None: anyone."""
    private_cidr: str | None = None
    """The stack's VPC, let in on 443 and the mirror port (the private path); None: off."""
    ssh_private_key: SecretStr | None = None
    """``sshPrivateKey``: how the program logs in to an existing server (a cvm makes its own key)."""
    data_disk_gb: pulumi.Input[int] | None = None
    """``server.dataDiskGb`` once checked against the deployed size (``components.deployed``)."""

    @classmethod
    def from_settings(cls, settings: Settings, data_disk_gb: pulumi.Input[int] | None = None) -> NexusHostArgs:
        return cls(
            server=settings.server,
            stack=settings.stack,
            label=settings.resource_label,
            protect=settings.protect,
            mirror_port=settings.registry_mirror_port if settings.mirror_enabled else None,
            mirror_allowed_cidrs=settings.registry_mirror_allowed_cidrs,
            private_cidr=settings.private_network_cidr,
            ssh_private_key=settings.ssh_private_key,
            data_disk_gb=data_disk_gb,
        )


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
        server = args.server
        self.instance = None
        self.data_disk = None
        self.network = None
        self.decisions = {}
        self.generated_private_key = None
        self.private_ip = None
        if server.is_cvm:
            private_key, host_key = self._build_cvm(name, args, server)
            self.generated_private_key = pulumi.Output.secret(private_key)
            self.ssh_user = server.ssh_user or DEFAULT_SSH_USER.get(server.image, "root")
            port = SSH_PORT
        else:
            self.public_ip = pulumi.Output.from_input(server.address)
            self.data_disk_id = pulumi.Output.from_input(server.data_device or "")
            self.ssh_user = server.user
            port = server.port
            assert args.ssh_private_key is not None  # enforced by Settings
            private_key = pulumi.Output.secret(args.ssh_private_key.get_secret_value())
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
            lambda ip: f"ssh -p {port} {self.ssh_user}@{ip}" if port != SSH_PORT else f"ssh {self.ssh_user}@{ip}"
        )
        self.host_key = host_key
        self.known_hosts = pulumi.Output.all(self.public_ip, host_key).apply(
            lambda values: f"[{values[0]}]:{port} {values[1]}" if port != SSH_PORT else f"{values[0]} {values[1]}"
        )
        self.register_outputs({"publicIp": self.public_ip, "sshCommand": self.ssh_command,
                               "sshKnownHosts": self.known_hosts})

    # --- cvm: one private step per part, in the order they are registered -------------------------

    def _build_cvm(
        self, name: str, args: NexusHostArgs, server: CvmServer
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """Placement, network, security group, keys, instance, data disk; returns (SSH key, pinned host key)."""
        zone, instance_type, image_id = self._placement(server)
        network, subnet_ = self._network(name, args.label, zone)
        group = self._security_group(name, args, server)
        ssh_key, key_pair, user_data = self._keys(name, args.stack)
        self.instance = self._instance(
            name, args, server, zone=zone, image_id=image_id, instance_type=instance_type,
            network=network, subnet_=subnet_, group=group, key_pair=key_pair, user_data=user_data,
        )
        self.data_disk, self.data_disk_attachment = self._data_disk(name, args, server, zone)
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

    def _settled(self, settled: Settled) -> str:
        for line in settled.warnings:
            pulumi.log.warn(line, resource=self)
        return settled.value

    def _placement(self, server: CvmServer) -> tuple[pulumi.Output[str], pulumi.Output[str], pulumi.Output[str]]:
        """Zone, instance type and image: lookups, settled by ``components.placement`` (pitfall 16).

        Records the choice as the ``cvmPlacement`` decision for the next update.
        """
        invoke = pulumi.InvokeOutputOptions(parent=self)
        recorded = previous_output(PLACEMENT_OUTPUT).apply(Placement.from_output)
        zones = (
            pulumi.Output.from_input([])
            if server.availability_zone
            else availability.get_zones_by_product_output(product="cvm", opts=invoke).zones.apply(available_zones)
        )
        zone = pulumi.Output.all(recorded, zones).apply(
            lambda values: self._settled(settle_zone(server.availability_zone, values[0], values[1])))
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
            lambda values: self._settled(settle_instance_type(server, values[0], values[1], values[2])))
        self.decisions = {PLACEMENT_OUTPUT: pulumi.Output.all(zone, instance_type).apply(
            lambda values: Placement(values[0], values[1], server.cpu, server.memory_gb).to_output())}
        return zone, instance_type, image_id

    def _network(self, name: str, label: str, zone: pulumi.Output[str]) -> tuple[vpc.Instance, subnet.Instance]:
        child = pulumi.ResourceOptions(parent=self)
        network = vpc.Instance(f"{name}-vpc", name=label, cidr_block=VPC_CIDR, opts=child)
        subnet_ = subnet.Instance(
            f"{name}-subnet", name=label, vpc_id=network.id, cidr_block=SUBNET_CIDR,
            availability_zone=zone, opts=child,
        )
        return network, subnet_

    def _security_group(self, name: str, args: NexusHostArgs, server: CvmServer) -> security.Group:
        child = pulumi.ResourceOptions(parent=self)
        group = security.Group(
            f"{name}-sg", name=args.label, description="nexus-registry: SSH from admins, HTTP(S) from anywhere",
            opts=child,
        )
        security.GroupRuleSet(
            f"{name}-sg-rules",
            security_group_id=group.id,
            ingresses=[security.GroupRuleSetIngressArgs(**rule) for rule in ingress_rules(
                server, args.mirror_port, args.mirror_allowed_cidrs, args.private_cidr)],
            egresses=[security.GroupRuleSetEgressArgs(
                action="ACCEPT", protocol="ALL", port="ALL", cidr_block="0.0.0.0/0",
                description="host may reach package mirrors, Docker Hub and upstream registries",
            )],
            opts=child,
        )
        return group

    def _keys(self, name: str, stack: str) -> tuple[tls.PrivateKey, key.Pair, pulumi.Output[str]]:
        """The SSH login key (imported as a Tencent key pair) and the pinned host key's cloud-init user data."""
        child = pulumi.ResourceOptions(parent=self)
        # RSA: Tencent's ImportKeyPair documents OpenSSH RSA public keys.
        ssh_key = tls.PrivateKey(f"{name}-ssh-key", algorithm="RSA", rsa_bits=4096, opts=child)
        key_pair = key.Pair(
            f"{name}-key-pair", key_name=key_pair_name(pulumi.get_project(), stack),
            public_key=ssh_key.public_key_openssh,
            opts=child,
        )
        host_key = tls.PrivateKey(f"{name}-host-key", algorithm="ED25519", opts=child)
        user_data = pulumi.Output.secret(pulumi.Output.all(host_key.private_key_openssh, host_key.public_key_openssh)
                                         .apply(lambda keys: host_key_user_data(*keys)))
        return ssh_key, key_pair, user_data

    def _stateful(self, args: NexusHostArgs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)

    def _instance(self, name: str, args: NexusHostArgs, server: CvmServer, *, zone: pulumi.Output[str],
                  image_id: pulumi.Output[str], instance_type: pulumi.Output[str], network: vpc.Instance,
                  subnet_: subnet.Instance, group: security.Group, key_pair: key.Pair,
                  user_data: pulumi.Output[str]) -> instance.Instance:
        return instance.Instance(
            f"{name}-cvm",
            instance_name=args.label,
            hostname=host_name(args.stack),
            availability_zone=zone,
            image_id=image_id,
            instance_type=instance_type,
            instance_charge_type=CHARGE_TYPE,
            system_disk_type=SYSTEM_DISK_TYPE,
            system_disk_size=server.system_disk_gb,
            vpc_id=network.id,
            subnet_id=subnet_.id,
            orderly_security_groups=[group.id],
            key_ids=[key_pair.id],
            allocate_public_ip=True,
            internet_charge_type=INTERNET_CHARGE_TYPE,
            internet_max_bandwidth_out=server.bandwidth_mbps,
            disable_api_termination=args.protect,
            running_flag=True,
            # Plain text: the provider base64-encodes it (user_data wants base64 already).
            user_data_raw=user_data,
            # User data runs at first boot only, so changing it cannot re-key a host; an instance made
            # before host keys were pinned keeps its (empty) user data and needs server.hostKey.
            # The provider reads user data back into both fields: both hold the private key.
            opts=pulumi.ResourceOptions.merge(self._stateful(args), pulumi.ResourceOptions(
                ignore_changes=["image_id", "user_data", "user_data_raw"],
                additional_secret_outputs=["user_data", "user_data_raw"],
            )),
        )

    def _data_disk(self, name: str, args: NexusHostArgs, server: CvmServer,
                   zone: pulumi.Output[str]) -> tuple[cbs.Storage, cbs.StorageAttachment]:
        assert self.instance is not None
        data_disk = cbs.Storage(
            f"{name}-data-disk",
            storage_name=f"{args.label}-data",
            storage_type=DATA_DISK_TYPE,
            # Grows in place (ResizeDisk); a shrink is refused before it gets here.
            storage_size=args.data_disk_gb if args.data_disk_gb is not None else server.data_disk_gb,
            availability_zone=zone,
            charge_type="POSTPAID_BY_HOUR",
            # Encrypted at rest (CBS with the account's default KMS key).  encrypt is ForceNew: a disk
            # created unencrypted before this setting keeps its state value instead of being replaced.
            encrypt=True,
            opts=pulumi.ResourceOptions.merge(self._stateful(args), pulumi.ResourceOptions(ignore_changes=["encrypt"])),
        )
        attachment = cbs.StorageAttachment(
            f"{name}-data-disk-attachment", storage_id=data_disk.id, instance_id=self.instance.id,
            # Both ids are ForceNew and Create only attaches: a new attachment cannot be made while the
            # old one still holds the disk, so a replacement must detach first.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        return data_disk, attachment
