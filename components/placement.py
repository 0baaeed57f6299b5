"""Where a stack's CVM goes and what it is: the policy over the cloud's lookups, as pure functions.

The zone and (with ``server.cpu``/``memoryGb``) the instance type come from
lookups the cloud may answer differently later, yet the zone is ForceNew on
subnet, CVM and data disk and a type change force-stops the CVM (pitfall 16).
So a lookup decides once: ``Placement`` is recorded in the ``cvmPlacement``
stack output (read back through ``components.deployed``), the recorded choice
stays, and a lookup that would now choose otherwise only yields a warning.
Explicit settings are how a stack moves on purpose.

Nothing here talks to Pulumi or the cloud: ``components.host`` feeds the lookups'
answers in and logs each ``Settled.warnings`` line against its resource.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.settings import CvmServer

# The program's CVMs are pay-as-you-go; getTypes answers one row per charge type.
CHARGE_TYPE = "POSTPAID_BY_HOUR"
# Standard families preferred when several types match cpu/memory.
PREFERRED_FAMILIES = ("S5", "SA5", "S6", "SA3", "SA2")
# The stack output recording what the lookups chose (components.deployed).
PLACEMENT_OUTPUT = "cvmPlacement"


def lookup_field(obj: Any, name: str) -> Any:
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


@dataclass(frozen=True)
class Settled:
    """One decision and what the operator should hear about it (logged as warnings by the caller)."""

    value: str
    warnings: tuple[str, ...] = ()


def available_zones(zones: Iterable[Any]) -> list[str]:
    """The names of the zones ``getZonesByProduct(product="cvm")`` reports AVAILABLE, in its order."""
    return [lookup_field(zone, "name") for zone in zones if lookup_field(zone, "state") == "AVAILABLE"]


def settle_zone(explicit: str | None, recorded: Placement | None, available: Sequence[str]) -> Settled:
    """The zone for subnet, CVM and data disk (all ForceNew there).

    An explicit ``server.availabilityZone`` wins (that is how a stack moves on
    purpose).  Otherwise the zone this stack already uses stays, whatever the
    lookup says now; only a new stack takes the first AVAILABLE zone.
    """
    if explicit:
        if recorded is not None and recorded.availability_zone != explicit:
            return Settled(explicit, (
                f"server.availabilityZone moves this stack from {recorded.availability_zone} to {explicit}: "
                "subnet, CVM and data disk are replaced (the data disk starts empty; README: Decisions that stay made)",
            ))
        return Settled(explicit)
    if recorded is not None:
        zone = recorded.availability_zone
        if zone not in available:
            fresh = f"; a new stack would use {available[0]}" if available else ""
            return Settled(zone, (
                f"availability zone {zone} is no longer offered for new CVMs; this stack stays there{fresh}. "
                "To move, set server.availabilityZone (README: Decisions that stay made)",
            ))
        if available and available[0] != zone:
            return Settled(zone, (
                f"the zone lookup now prefers {available[0]}; this stack stays in {zone} "
                "(set server.availabilityZone to move it)",
            ))
        return Settled(zone)
    if not available:
        raise ValueError("nexus-registry:server.availabilityZone: no CVM zone is available in this region; set one")
    return Settled(available[0])


def offered_types(types: Iterable[Any], server: CvmServer, charge_type: str = CHARGE_TYPE) -> list[str]:
    """Types on sale for ``charge_type`` with exactly the wanted cpu/memory, preferred families first.

    The data source answers one row per charge type (DescribeZoneInstanceConfigInfos),
    so a type sold only prepaid or as spot must not be picked for a pay-as-you-go CVM.
    """
    types = list(types)
    candidates = sorted({
        lookup_field(t, "instance_type") for t in types
        if lookup_field(t, "cpu_core_count") == server.cpu and lookup_field(t, "memory_size") == server.memory_gb
        and lookup_field(t, "instance_charge_type") == charge_type and lookup_field(t, "status") == "SELL"
    })
    families = {lookup_field(t, "instance_type"): lookup_field(t, "family") for t in types}
    return ([c for c in candidates if families.get(c) in PREFERRED_FAMILIES]
            + [c for c in candidates if families.get(c) not in PREFERRED_FAMILIES])


def settle_instance_type(server: CvmServer, recorded: Placement | None, zone: str, offered: Sequence[str]) -> Settled:
    """The CVM's instance type: changing it resizes the host with a forced stop (ResetInstancesType).

    An explicit ``server.instanceType`` wins.  Otherwise the type this stack
    already runs stays while cpu/memory and zone are unchanged, even when it is
    sold out now (a running CVM keeps its type); only a new stack, a new size
    or a new zone takes the lookup's first choice.
    """
    if server.instance_type:
        if recorded is not None and recorded.instance_type != server.instance_type:
            return Settled(server.instance_type, (
                f"server.instanceType changes {recorded.instance_type} to {server.instance_type}: the CVM is "
                "stopped and resized (README: Decisions that stay made)",
            ))
        return Settled(server.instance_type)
    same_size = (recorded is not None and (recorded.cpu, recorded.memory_gb) == (server.cpu, server.memory_gb)
                 and recorded.availability_zone == zone)
    if recorded is not None and same_size:
        if recorded.instance_type not in offered:
            fresh = f"; a new stack would get {offered[0]}" if offered else ""
            return Settled(recorded.instance_type, (
                f"instance type {recorded.instance_type} is not on sale in {zone} now; this CVM keeps it{fresh}",
            ))
        if offered and offered[0] != recorded.instance_type:
            return Settled(recorded.instance_type, (
                f"the instance type lookup now prefers {offered[0]}; this CVM stays {recorded.instance_type} "
                "(set server.instanceType to change it)",
            ))
        return Settled(recorded.instance_type)
    if not offered:
        raise ValueError(
            f"nexus-registry:server: no instance type with cpu={server.cpu} memoryGb={server.memory_gb} "
            f"is on sale ({CHARGE_TYPE}) in {zone}; set server.instanceType"
        )
    return Settled(offered[0])
