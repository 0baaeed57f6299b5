"""Tencent Cloud Private DNS as terraform-provider-tencentcloud v1.82.42 shows it (tests.mocks.tencentcloud uses it).

Files below ``tencentcloud/services/privatedns/`` at tag v1.82.42, and the error codes of the
vendored SDK (``vendor/github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/privatedns/
v20201028/errors.go``):

- ``resource_tc_private_dns_zone.go``: Create = CreatePrivateZone with the schema defaults
  (``dns_forward_status`` DISABLED, ``cname_speedup_status`` ENABLED, both checked against
  ENABLED/DISABLED; ``tags`` ConflictsWith ``tag_set``), then Read = DescribePrivateZone, which
  copies back ``vpc_set`` (every bound VPC, attachments included), ``tag_set``,
  ``account_vpc_set``, ``remark`` and both statuses;
- ``resource_tc_private_dns_zone_vpc_attachment.go``: no Update (every input ForceNew);
  ``vpc_set`` ExactlyOneOf ``account_vpc_set``, MaxItems 1 (flattened to one object by the
  Pulumi bridge); AddSpecifyPrivateZoneVpc; Read keeps only this VPC's entry;
- ``resource_tc_private_dns_record.go``: ``weight`` 1-100 and ``status`` enabled/disabled checked by
  the provider; CreatePrivateZoneRecord; Read sets ttl, mx and status (enabled/disabled from Enabled);
- ``data_source_tc_private_dns_private_zone_list.go``: DescribePrivateZoneList with filters
  (ZoneId, Domain, Vpc per its .md); entries skip fields the API returns as null.

The account's zones live here, so a test can give it a zone before the program runs
(``add_zone``: another stack's, or one the team made by hand).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

ZONE = "tencentcloud:PrivateDns/zone:Zone"
ZONE_VPC_ATTACHMENT = "tencentcloud:PrivateDns/zoneVpcAttachment:ZoneVpcAttachment"
RECORD = "tencentcloud:PrivateDns/record:Record"
GET_PRIVATE_ZONE_LIST = "tencentcloud:PrivateDns/getPrivateZoneList:getPrivateZoneList"

CREATED = "2026-11-29 09:00:00"
STATUSES = ("ENABLED", "DISABLED")  # extension_privatedns.go PRIVATE_DNS_FORWARD_STATUS, CNAME_SPEEDUP_STATUS
RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "PTR")  # the schema's record_type description
DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


class PrivateDnsError(Exception):
    """An API or schema error; tests.mocks.tencentcloud raises it as its ProviderError."""


@dataclass
class PrivateRecord:
    sub_domain: str
    record_type: str
    value: str
    ttl: int
    status: str = "enabled"


@dataclass
class PrivateZone:
    zone_id: str
    domain: str
    remark: str = ""
    dns_forward_status: str = "DISABLED"
    cname_speedup_status: str = "ENABLED"
    vpcs: list[tuple[str, str]] = field(default_factory=list)  # (uniq_vpc_id, region)
    records: dict[str, PrivateRecord] = field(default_factory=dict)  # resource id -> record


@dataclass
class PrivateDnsAccount:
    zones: dict[str, PrivateZone] = field(default_factory=dict)

    def add_zone(self, domain: str, zone_id: str = "zone-team0001", remark: str = "",
                 vpcs: list[tuple[str, str]] | None = None) -> PrivateZone:
        """A zone the account already has (made by hand, or by another stack)."""
        zone = self.zones[zone_id] = PrivateZone(zone_id, domain, remark, vpcs=list(vpcs or []))
        return zone

    def _zone_of(self, zone_id: str) -> PrivateZone:
        zone = self.zones.get(zone_id)
        if zone is None:
            raise PrivateDnsError(f"[TencentCloudSDKError] Code=InvalidParameter.ZoneNotExists, zone {zone_id!r}")
        return zone

    # --- resources: Create (or Update) followed by Read --------------------------------------

    def zone(self, name: str, inputs: dict[str, Any], resource_id: str) -> dict[str, Any]:
        if inputs.get("tags") and inputs.get("tagSets"):
            raise PrivateDnsError('"tags": conflicts with tag_set')
        for key, default in (("dnsForwardStatus", "DISABLED"), ("cnameSpeedupStatus", "ENABLED")):
            if inputs.get(key, default) not in STATUSES:
                raise PrivateDnsError(f"{key} must be one of {STATUSES}: {inputs[key]!r}")
        domain = inputs.get("domain", "")
        if not DOMAIN.fullmatch(domain):
            raise PrivateDnsError(f"CreatePrivateZone: InvalidParameter.IllegalDomain {domain!r}")
        zone = self.zones.get(resource_id)
        if zone is None:
            zone = self.zones[resource_id] = PrivateZone(resource_id, domain)
            for vpc in inputs.get("vpcSets") or []:
                zone.vpcs.append((vpc["uniqVpcId"], vpc["region"]))
        # ModifyPrivateZone on an update; Create sends the same fields.
        zone.remark = inputs.get("remark", "")
        zone.dns_forward_status = inputs.get("dnsForwardStatus", "DISABLED")
        zone.cname_speedup_status = inputs.get("cnameSpeedupStatus", "ENABLED")
        return {"domain": zone.domain, "tagSets": [], "tags": {}, "accountVpcSets": [],
                "vpcSets": [{"uniqVpcId": vpc, "region": region} for vpc, region in zone.vpcs],
                "remark": zone.remark, "dnsForwardStatus": zone.dns_forward_status,
                "cnameSpeedupStatus": zone.cname_speedup_status}

    def zone_vpc_attachment(self, name: str, inputs: dict[str, Any], resource_id: str) -> dict[str, Any]:
        vpc_set, account_vpc_set = inputs.get("vpcSet"), inputs.get("accountVpcSet")
        if (vpc_set is None) == (account_vpc_set is None):
            raise PrivateDnsError('"vpc_set": one of `account_vpc_set,vpc_set` must be specified')
        if vpc_set is None:
            raise PrivateDnsError("this mock models vpc_set only")
        zone = self._zone_of(inputs.get("zoneId", ""))
        entry = (vpc_set["uniqVpcId"], vpc_set["region"])
        if entry not in zone.vpcs:
            for other in self.zones.values():
                if other is not zone and other.domain == zone.domain and entry in other.vpcs:
                    raise PrivateDnsError("AddSpecifyPrivateZoneVpc: InvalidParameter.VpcBindedMainDomain "
                                          f"({entry[0]} is already bound to {other.zone_id} for {zone.domain})")
            zone.vpcs.append(entry)
        return {"zoneId": zone.zone_id, "vpcSet": {"uniqVpcId": entry[0], "region": entry[1]}}

    def record(self, name: str, inputs: dict[str, Any], resource_id: str) -> dict[str, Any]:
        if "weight" in inputs and not 1 <= int(inputs["weight"]) <= 100:
            raise PrivateDnsError(f"weight must be 1-100: {inputs['weight']!r}")
        if inputs.get("status", "enabled") not in ("enabled", "disabled"):
            raise PrivateDnsError(f"status must be enabled or disabled: {inputs['status']!r}")
        zone = self._zone_of(inputs.get("zoneId", ""))
        record_type, value = inputs.get("recordType", ""), inputs.get("recordValue", "")
        if record_type not in RECORD_TYPES:
            raise PrivateDnsError(f"CreatePrivateZoneRecord: InvalidParameter.IllegalRecord type {record_type!r}")
        if record_type == "A":
            try:
                ipaddress.IPv4Address(value)
            except ValueError:
                raise PrivateDnsError(f"InvalidParameter.IllegalRecordValue {value!r}") from None
        ttl = int(inputs.get("ttl", 600))  # PrivateZoneRecord.TTL: 1-86400, default 600
        if not 1 <= ttl <= 86400:
            raise PrivateDnsError(f"InvalidParameterValue.IllegalTTLValue {ttl}")
        record = PrivateRecord(inputs.get("subDomain", ""), record_type, value, ttl, inputs.get("status", "enabled"))
        for other_id, other in zone.records.items():
            if other_id != resource_id and (other.sub_domain, other.record_type, other.value) == (
                    record.sub_domain, record.record_type, record.value):
                raise PrivateDnsError(f"CreatePrivateZoneRecord: InvalidParameter.RecordExist {record.sub_domain}")
        zone.records[resource_id] = record
        # Numbers come back as the engine sent them (a float from the protobuf Struct).
        return {"zoneId": zone.zone_id, "recordType": record_type, "subDomain": record.sub_domain,
                "recordValue": value, "ttl": inputs.get("ttl", 600), "mx": 0, "status": record.status}

    def delete(self, type_: str, resource_id: str) -> None:
        if type_ == ZONE:
            self.zones.pop(resource_id, None)

    # --- data source ------------------------------------------------------------------------

    def zone_list(self, args: dict[str, Any]) -> dict[str, Any]:
        wanted = {f["name"]: list(f["values"]) for f in args.get("filters") or []}
        unknown = set(wanted) - {"ZoneId", "Domain", "Vpc"}
        if unknown:
            raise PrivateDnsError(f"DescribePrivateZoneList: InvalidParameter filter {sorted(unknown)}")
        listed = []
        for zone in self.zones.values():
            if "ZoneId" in wanted and zone.zone_id not in wanted["ZoneId"]:
                continue
            # Not documented as exact: answered here as a substring match, so callers must narrow it.
            if "Domain" in wanted and not any(value in zone.domain for value in wanted["Domain"]):
                continue
            if "Vpc" in wanted and not any(vpc in wanted["Vpc"] for vpc, _ in zone.vpcs):
                continue
            listed.append({
                "zoneId": zone.zone_id, "ownerUin": 100000000001, "domain": zone.domain, "createdOn": CREATED,
                "updatedOn": CREATED, "recordCount": len(zone.records), "remark": zone.remark,
                "vpcSets": [{"uniqVpcId": vpc, "region": region} for vpc, region in zone.vpcs],
                "status": "ENABLED" if zone.vpcs else "SUSPEND", "dnsForwardStatus": zone.dns_forward_status,
                "tags": [], "accountVpcSets": [], "isCustomTld": False,
                "cnameSpeedupStatus": zone.cname_speedup_status, "deletedVpcSets": [],
            })
        return {"privateZoneSets": listed, "id": "private-zone-list-hash"}
