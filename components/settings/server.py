"""``server``: the machine Nexus runs on, a new CVM (``mode: cvm``) or one the user has (``mode: existing``).

Callers ask the server what it is (``server.is_cvm``, ``server.is_existing``) rather than
testing its class, so a third mode would be a new model here, not a hunt through the program.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from components.i18n import _
from components.settings.base import SettingsModel
from components.settings.errors import KeyedError
from components.settings.facts import IMAGE_FAMILIES, TENCENT_DOCKER_MIRROR
from components.settings.fields import (
    DATA_DEVICE,
    IMAGE_ID,
    INSTANCE_TYPE,
    ZONE,
    NetworkCidr,
    OptionalUrl,
    SshHostKey,
    host_address,
    not_documentation_value,
    unix_user,
)


class _ServerModel(SettingsModel):
    """What every server mode answers; ``mode`` is each subclass's discriminator."""

    @property
    def is_cvm(self) -> bool:
        """This stack creates the machine: a CVM in its own VPC, with a CBS data disk that snapshots can back up."""
        return self.mode == "cvm"

    @property
    def is_existing(self) -> bool:
        """A machine the user already has, reached over SSH with ``sshPrivateKey``; nothing is created for it."""
        return self.mode == "existing"


class CvmServer(_ServerModel):
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
    docker_mirror: OptionalUrl = TENCENT_DOCKER_MIRROR
    # Only for an instance created before host keys were pinned (README: SSH host keys).
    host_key: SshHostKey | None = None

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str | None) -> str | None:
        if value is not None and not INSTANCE_TYPE.fullmatch(value):
            raise ValueError(_("{value!r} is not a CVM instance type (e.g. S5.MEDIUM4)").format(value=value))
        return value

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        if value not in IMAGE_FAMILIES and not IMAGE_ID.fullmatch(value):
            allowed = ", ".join(IMAGE_FAMILIES)
            raise ValueError(_("{value!r} is not a supported image; use one of {allowed} or an image id "
                               "img-xxxxxxxx").format(value=value, allowed=allowed))
        return value

    @field_validator("ssh_user")
    @classmethod
    def _ssh_user(cls, value: str | None) -> str | None:
        return unix_user(value) if value is not None else value

    @field_validator("availability_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None and not ZONE.fullmatch(value):
            raise ValueError(_("{value!r} is not an availability zone (e.g. ap-guangzhou-3)").format(value=value))
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
            raise ValueError(_("set instanceType, or both cpu and memoryGb"))
        if self.instance_type is not None and (self.cpu is not None or self.memory_gb is not None):
            raise ValueError(_("set instanceType or cpu/memoryGb, not both"))
        for index, cidr in enumerate(self.ssh_allowed_cidrs):
            if ipaddress.ip_network(cidr).prefixlen == 0 and not self.allow_ssh_from_anywhere:
                raise KeyedError(
                    ("sshAllowedCidrs", index),
                    _("{cidr!r} opens SSH to the whole internet; list your admin networks, "
                      "or set server.allowSshFromAnywhere: true to accept that").format(cidr=cidr),
                )
        return self


class ExistingServer(_ServerModel):
    """A Linux server the user already has, reached over SSH."""

    mode: Literal["existing"]
    address: str
    port: int = Field(default=22, ge=1, le=65535)
    user: str = "root"
    data_device: str | None = None
    # The user's own disk is formatted only on request, and only when it holds no signature at all.
    format_data_device: bool = False
    docker_mirror: OptionalUrl = ""
    host_key: SshHostKey

    @model_validator(mode="after")
    def _format_needs_a_device(self) -> ExistingServer:
        if self.format_data_device and not self.data_device:
            raise KeyedError(("formatDataDevice",), _("needs server.dataDevice (the disk to format)"))
        return self

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return not_documentation_value(host_address(value), _("your server's address"))

    @field_validator("user")
    @classmethod
    def _user(cls, value: str) -> str:
        return unix_user(value)

    @field_validator("data_device")
    @classmethod
    def _data_device(cls, value: str | None) -> str | None:
        if value is not None and not DATA_DEVICE.fullmatch(value):
            raise ValueError(_(
                "{value!r} is not a stable device path; use /dev/disk/by-id/..., by-uuid/... or by-label/..."
            ).format(value=value))
        return value


Server = Annotated[CvmServer | ExistingServer, Field(discriminator="mode")]
# The model of each ``server.mode`` (pydantic names the union's branch by it in an error's location).
SERVER_MODES: dict[str, type[_ServerModel]] = {"cvm": CvmServer, "existing": ExistingServer}
