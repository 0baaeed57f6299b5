"""PrivateDns: inside the stack's VPC, both hostnames resolve to the host's private address.

A team's CI runners and cluster nodes usually live in the same VPC as the
registry, yet without this they pull over the public address, capped at
``server.bandwidthMbps`` and billed per GB.  On cvm stacks (``privateDns``, on
by default) a Tencent Cloud Private DNS zone for ``domain`` is bound to the
stack's VPC and holds A records for ``<webHost>`` and ``<registryHost>``
pointing at the CVM's private IP: the same names and certificate, the private
network.  Subdomain recursion is on, so every other name of the domain still
resolves to its public record inside the VPC (without it Private DNS answers
SOA for them: tencentcloud.com/document/product/1097/40566).

The account may already hold a zone for the domain (another stack's, or the
team's own).  ``resolve`` looks before any resource is registered: the zone
this stack made (its remark names the stack) is kept, other stacks' zones are
theirs (one zone per VPC), and a team's zone is adopted only when
``privateDns.zoneId`` names it; otherwise the run stops with one line saying
what to set.  An adopted zone is never created or deleted here: the stack adds
its VPC (``ZoneVpcAttachment``) and its two records, and removes only those.
The lookup decides nothing ForceNew on a later run (pitfall 16): zone ids come
from the stack's own Zone or from the setting.

Resources and their provider source (terraform-provider-tencentcloud v1.82.42,
``tencentcloud/services/privatedns/``): ``resource_tc_private_dns_zone.go``,
``resource_tc_private_dns_zone_vpc_attachment.go``, ``resource_tc_private_dns_record.go``,
``data_source_tc_private_dns_private_zone_list.go``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from tencentcloud_iac_pulumi import privatedns

from components.settings import NAMESPACE, REGION_KEY, Settings, SettingsError

RECORD_TTL_SECONDS = 600
README = "README: The private path"
# The stack output naming the zone in use (made or adopted), for the README's checks.
ZONE_OUTPUT = "privateDnsZoneId"


@dataclass(frozen=True)
class FoundZone:
    """One DescribePrivateZoneList entry, as the data source reports it."""

    zone_id: str
    domain: str
    remark: str


@dataclass(frozen=True)
class ZonePlan:
    """Which zone the stack's records go in: ``adopt`` names an existing one, else the stack makes its own."""

    adopt: str | None
    others: tuple[str, ...] = ()
    """Zones of the domain that are not this stack's (only warned about once the stack has its own)."""


REMARK_PREFIX = "nexus-registry "


def zone_remark(settings: Settings, project: str | None = None) -> str:
    """The remark that marks a zone as this stack's own (DescribePrivateZoneList returns it)."""
    return f"{REMARK_PREFIX}{project or pulumi.get_project()}/{settings.stack}"


def _field(raw: Any, name: str) -> Any:
    """A field of a data-source entry: an SDK result object, or a snake_case or camelCase mapping."""
    if isinstance(raw, Mapping):
        head, *rest = name.split("_")
        return raw.get(name, raw.get(head + "".join(part.title() for part in rest)))
    return getattr(raw, name, None)


def lookup(domain: str) -> list[FoundZone]:
    """Every Private DNS zone of the account for ``domain`` (a blocking invoke: it runs before any resource).

    The ``Domain`` filter is not documented as exact, so the answer is narrowed to the domain here.
    """
    result = privatedns.get_private_zone_list(filters=[{"name": "Domain", "values": [domain]}])
    found = []
    for raw in result.private_zone_sets or []:
        zone = FoundZone(str(_field(raw, "zone_id") or ""), str(_field(raw, "domain") or ""),
                         str(_field(raw, "remark") or ""))
        if zone.zone_id and zone.domain.rstrip(".").lower() == domain.lower():
            found.append(zone)
    return found


def plan_zone(settings: Settings, found: Sequence[FoundZone], project: str | None = None) -> ZonePlan:
    """The zone to use, or a SettingsError naming ``privateDns.zoneId`` and what to set.

    Private DNS allows several zones of one domain in an account, one per VPC (its only check
    is InvalidParameter.VpcBindedMainDomain), so every stack may have its own zone for its own
    VPC: zones of other nexus-registry stacks (their remark says so) are left alone.  A zone
    made any other way is the team's: its VPCs are where its runners are, so the stack joins it
    (``zoneId``) or leaves in-VPC resolution alone (``enabled: false``), but never guesses.
    """
    key = f"{NAMESPACE}:privateDns.zoneId"
    mine = zone_remark(settings, project)
    ours = [zone.zone_id for zone in found if zone.remark == mine]
    stacks = [zone.zone_id for zone in found if zone.remark != mine and zone.remark.startswith(REMARK_PREFIX)]
    teams = [zone.zone_id for zone in found if not zone.remark.startswith(REMARK_PREFIX)]
    pinned = settings.private_dns.zone_id
    if pinned is not None:
        if pinned in ours:
            raise SettingsError([f"{key}: {pinned} is this stack's own zone (remark {mine!r}); remove the setting, "
                                 f"or the stack would delete the zone it then adopts ({README})"])
        if pinned not in stacks + teams:
            listed = ", ".join(stacks + teams) or "none"
            raise SettingsError([f"{key}: {pinned} is not a Private DNS zone of {settings.domain} in this account "
                                 f"(zones of {settings.domain}: {listed}); set one of them, or remove the setting "
                                 f"to let the stack create its own ({README})"])
        return ZonePlan(adopt=pinned, others=tuple(z for z in teams if z != pinned))
    if teams and not ours:
        raise SettingsError([
            f"{key}: this account already has a Private DNS zone for {settings.domain} ({', '.join(teams)}); "
            f"set privateDns.zoneId: {teams[0]} to add this stack's VPC and records to it, or "
            f"privateDns.enabled: false to leave name resolution in the VPC alone ({README})"])
    return ZonePlan(adopt=None, others=tuple(teams))


_resolved: tuple[Settings, ZonePlan] | None = None


def resolve(settings: Settings) -> ZonePlan:
    """``plan_zone`` for the account as it is now, kept for the same ``settings`` object.

    ``components.program.load_settings`` calls it before any resource (a clean one-line stop)
    and the component calls it again: the account is read once per run.
    """
    global _resolved
    if _resolved is not None and _resolved[0] is settings:
        return _resolved[1]
    plan = plan_zone(settings, lookup(settings.domain))
    _resolved = (settings, plan)
    return plan


def provider_region() -> str:
    """The provider's region (checked by the settings before any resource), for the zone's VPC binding."""
    region = pulumi.Config("tencentcloud").get("region") or os.environ.get("TENCENTCLOUD_REGION")
    if not region:
        raise SettingsError([f"{REGION_KEY}: is required for the private path's VPC binding"])
    return region


@dataclass(frozen=True)
class PrivateDnsArgs:
    settings: Settings
    vpc_id: pulumi.Input[str]
    private_ip: pulumi.Input[str]


class PrivateDns(pulumi.ComponentResource):
    """A Private DNS zone for the domain (made or adopted), bound to the stack's VPC, with both A records."""

    zone_id: pulumi.Output[str]
    zone: privatedns.Zone | None
    records: dict[str, privatedns.Record]

    def __init__(self, name: str, args: PrivateDnsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nexus-registry:private_dns:PrivateDns", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        plan = resolve(settings)
        for other in plan.others:
            pulumi.log.warn(f"Private DNS zone {other} is also for {settings.domain}; this stack uses "
                            f"{plan.adopt or 'its own zone'} ({README})", resource=self)
        self.zone = None
        if plan.adopt is None:
            self.zone = privatedns.Zone(
                f"{name}-zone",
                domain=settings.domain,
                remark=zone_remark(settings),
                # Names of the domain without a record here resolve publicly (else: SOA, i.e. no answer).
                dns_forward_status="ENABLED",
                opts=child,
            )
            self.zone_id = self.zone.id
        else:
            self.zone_id = pulumi.Output.from_input(plan.adopt)
        self.records = {
            role: privatedns.Record(
                f"{name}-{role}",
                zone_id=self.zone_id,
                record_type="A",
                sub_domain=label,
                record_value=args.private_ip,
                ttl=RECORD_TTL_SECONDS,
                opts=child,
            )
            for role, label in (("web", settings.web_host), ("registry", settings.registry_host))
        }
        # Bound after the records, so it is unbound before them on delete: Private DNS refuses to delete
        # the last record of a zone bound to a VPC (FailedOperation.DeleteLastBindVpcRecordFailed,
        # privatedns/v20201028/errors.go) and to delete a zone that is still bound.
        self.attachment = privatedns.ZoneVpcAttachment(
            f"{name}-vpc",
            zone_id=self.zone_id,
            vpc_set={"uniq_vpc_id": args.vpc_id, "region": provider_region()},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.records.values())),
        )
        self.register_outputs({"zoneId": self.zone_id})
