"""Which inputs of each resource type the program uses cannot change in place, from the provider's source.

terraform-provider-tencentcloud v1.82.42, files below ``tencentcloud/services/``.
Per Pulumi type token, in the camelCase a program sends:

- ``force_new``: ``ForceNew: true`` in the schema: a change replaces the resource;
- ``refused``: the resource's Update returns an error for a change (or for a
  change in that direction), so ``pulumi up`` fails;
- ``disruptive``: Update succeeds but stops or reinstalls the machine;
- ``computed``: Optional + Computed among the above: leaving it out of the
  inputs keeps the stored value (no diff); any other input left out while the
  state holds a value is a change to "unset".

``plan`` turns two states into the steps the engine would take, so a test can
assert that a second ``pulumi up`` replaces nothing and changes nothing the
provider refuses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import rpc


@dataclass(frozen=True)
class Rules:
    source: str
    force_new: frozenset[str] = frozenset()
    refused: frozenset[str] = frozenset()
    disruptive: frozenset[str] = frozenset()
    computed: frozenset[str] = frozenset()
    notes: dict[str, str] = field(default_factory=dict)


def _set(*names: str) -> frozenset[str]:
    return frozenset(names)


RULES: dict[str, Rules] = {
    # pulumi-command 1.x (not Terraform): a Command without an ``update`` command is replaced, i.e. runs
    # ``create`` again, when its ``triggers`` change (its docstring); ``make converge`` relies on it.
    "command:remote:Command": Rules("pulumi-command remote.Command: triggers", force_new=_set("triggers")),
    "tencentcloud:Vpc/instance:Instance": Rules(
        "vpc/resource_tc_vpc.go", force_new=_set("cidrBlock")),
    "tencentcloud:Subnet/instance:Instance": Rules(
        "vpc/resource_tc_subnet.go", force_new=_set("vpcId", "availabilityZone", "cidrBlock", "cdcId")),
    "tencentcloud:Security/group:Group": Rules(
        "vpc/resource_tc_security_group.go", force_new=_set("projectId"), computed=_set("projectId")),
    "tencentcloud:Security/groupRuleSet:GroupRuleSet": Rules(
        "vpc/resource_tc_security_group_rule_set.go", force_new=_set("securityGroupId")),
    "tencentcloud:Key/pair:Pair": Rules(
        "cvm/resource_tc_key_pair.go (key_name: ModifyKeyPairName in place)",
        force_new=_set("publicKey", "projectId"), computed=_set("publicKey")),
    "tencentcloud:Instance/instance:Instance": Rules(
        "cvm/resource_tc_instance.go",
        force_new=_set("availabilityZone", "dedicatedClusterId", "spotMaxPrice", "cdhHostId", "allocatePublicIp",
                       "ipv4AddressType", "ipv6AddressType", "ipv6AddressCount", "antiDdosPackageId", "dataDisks",
                       "hpcClusterId", "launchTemplateId", "launchTemplateVersion"),
        # Update: data disk count "doesn't support add or remove for now"
        refused=_set(),
        disruptive=_set("instanceType", "cdhInstanceType", "systemDiskSize", "systemDiskType", "imageId",
                        "keyIds", "keyName", "password", "keepImageLogin", "disableSecurityService",
                        "disableMonitorService", "disableAutomationService"),
        computed=_set("availabilityZone", "cdhHostId", "ipv4AddressType", "ipv6AddressType", "ipv6AddressCount",
                      "antiDdosPackageId", "dataDisks", "hpcClusterId", "instanceType", "systemDiskSize",
                      "systemDiskType", "imageId", "keyIds", "keyName", "keepImageLogin"),
        notes={"instanceType": "service_tencentcloud_cvm.go ModifyInstanceType: ResetInstancesType ForceStop=true",
               "systemDiskSize": "ResizeInstanceDisks ForceStop=true",
               "imageId": "ResetInstance: reinstalls the system disk",
               "keyIds": "Associate/DisassociateInstancesKeyPairs ForceStop=true",
               "password": "ResetInstancesPassword ForceStop=true"}),
    "tencentcloud:Cbs/storage:Storage": Rules(
        "cbs/resource_tc_cbs_storage.go",
        force_new=_set("storageType", "availabilityZone", "dedicatedClusterId", "kmsKeyId", "encrypt",
                       "encryptType"),
        # "tencentcloud_cbs_storage do not support downgrade instance"; "storage size must be greater than ..."
        refused=_set("chargeType", "prepaidPeriod"),
        computed=_set("kmsKeyId", "encryptType", "prepaidPeriod")),
    "tencentcloud:Cbs/storageAttachment:StorageAttachment": Rules(
        "cbs/resource_tc_cbs_storage_attachment.go", force_new=_set("storageId", "instanceId")),
    "tencentcloud:Cbs/snapshotPolicy:SnapshotPolicy": Rules("cbs/resource_tc_cbs_snapshot_policy.go"),
    "tencentcloud:Cbs/snapshotPolicyAttachment:SnapshotPolicyAttachment": Rules(
        "cbs/resource_tc_cbs_snapshot_policy_attachment.go",
        force_new=_set("storageId", "storageIds", "snapshotPolicyId")),
    "tencentcloud:Cbs/snapshot:Snapshot": Rules(
        "cbs/resource_tc_cbs_snapshot.go", force_new=_set("storageId", "diskUsage"), computed=_set("diskUsage")),
    "tencentcloud:Dnspod/record:Record": Rules("dnspod/resource_tc_dnspod_record.go", force_new=_set("domain")),
    "tencentcloud:Ssl/freeCertificate:FreeCertificate": Rules(
        "ssl/resource_tc_ssl_free_certificate.go (Update: immutableFields 'cannot update argument')",
        force_new=_set("domain", "oldCertificateId"),
        refused=_set("dvAuthMethod", "packageType", "contactEmail", "contactPhone", "validityPeriod",
                     "csrEncryptAlgo", "csrKeyParameter", "csrKeyPassword")),
    "tencentcloud:Postgresql/instance:Instance": Rules(
        "postgresql/resource_tc_postgresql_instance.go",
        force_new=_set("charset"),
        # Update: ImmutableArgsChek(auto_voucher, voucher_ids, root_user); TDE/KMS "Not support change";
        # "The `availability_zone` cannot be modified, please use `db_node_set` instead of it."
        refused=_set("autoVoucher", "voucherIds", "rootUser", "needSupportTde", "kmsKeyId", "kmsRegion",
                     "kmsClusterId", "availabilityZone")),
    "tencentcloud:Postgresql/instanceSslConfig:InstanceSslConfig": Rules(
        "postgresql/resource_tc_postgresql_instance_ssl_config.go", force_new=_set("dbInstanceId")),
    "tencentcloud:PrivateDns/zone:Zone": Rules(
        "privatedns/resource_tc_private_dns_zone.go (Update: 'tag_set do not support change')",
        force_new=_set("domain"), refused=_set("tagSets"), computed=_set("tagSets", "vpcSets")),
    "tencentcloud:PrivateDns/zoneVpcAttachment:ZoneVpcAttachment": Rules(
        "privatedns/resource_tc_private_dns_zone_vpc_attachment.go (no Update)",
        force_new=_set("zoneId", "vpcSet", "accountVpcSet")),
    "tencentcloud:PrivateDns/record:Record": Rules(
        "privatedns/resource_tc_private_dns_record.go", force_new=_set("zoneId"), computed=_set("ttl", "status")),
    "tencentcloud:Monitor/alarmNotice:AlarmNotice": Rules("monitor/resource_tc_monitor_alarm_notice.go"),
    "tencentcloud:Monitor/alarmPolicy:AlarmPolicy": Rules(
        "monitor/resource_tc_monitor_alarm_policy.go",
        force_new=_set("monitorType", "namespace", "projectId", "conditonTemplateId", "policyTags"),
        computed=_set("conditions", "eventConditions")),
    "tencentcloud:Monitor/policyBindingObject:PolicyBindingObject": Rules(
        "monitor/resource_tc_monitor_policy_binding_object.go", force_new=_set("policyId", "dimensions")),
}

# Sets whose hash covers only some fields of each element (the schema's ``Set`` function): a change
# in any other field (e.g. one Read computes) is no change.
SET_HASH_FIELDS = {
    # monitor/resource_tc_monitor_policy_binding_object.go: hashes dimensions_json and region, not unique_id
    "tencentcloud:Monitor/policyBindingObject:PolicyBindingObject": {"dimensions": ("dimensionsJson", "region")},
}

# Update refuses a storage size below the stored one (cbs/resource_tc_cbs_storage.go).
SHRINK_REFUSED = {"tencentcloud:Cbs/storage:Storage": "storageSize"}


@dataclass(frozen=True)
class Step:
    type: str
    name: str
    key: str
    kind: str  # "replace" | "refused" | "disruptive" | "update"
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.kind}: {self.type} {self.name}.{self.key}: {self.old!r} -> {self.new!r}"


def _plain(value: Any) -> Any:
    if isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
        return _plain(value["value"])
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _unset(value: Any) -> bool:
    # terraform-plugin-sdk v2 treats a primitive's zero value as "not set".
    return value in (None, "", 0, False, [], {})


def _hashed_set(elements: Any, fields: tuple[str, ...]) -> Any:
    """A set as its hash sees it: each element's hashed fields only, order ignored."""
    if not isinstance(elements, list):
        return elements
    return sorted(json.dumps({f: e.get(f) for f in fields}, sort_keys=True) for e in elements if isinstance(e, dict))


def plan(type_: str, name: str, state: dict[str, Any], inputs: dict[str, Any],
         ignore_changes: list[str] | None = None, replace_on_changes: list[str] | None = None) -> list[Step]:
    """The engine's steps for one resource: ``state`` is the last update's outputs, ``inputs`` the new ones."""
    rules = RULES.get(type_)
    if rules is None:
        return []
    ignored = set(ignore_changes or [])
    forced = set(replace_on_changes or [])
    state, inputs = _plain(state), _plain(inputs)
    steps = []
    for key in sorted(set(inputs) | (set(state) & (rules.force_new | rules.refused | rules.disruptive))):
        if key in ignored:
            continue
        old = state.get(key)
        if key in inputs:
            new = inputs[key]
            hashed = SET_HASH_FIELDS.get(type_, {}).get(key)
            if hashed:
                old, new = _hashed_set(old, hashed), _hashed_set(new, hashed)
            changed = json.dumps(old, sort_keys=True, default=str) != json.dumps(new, sort_keys=True, default=str)
            if changed and _unset(old) and _unset(new):
                changed = False
        else:
            new = None
            changed = key not in rules.computed and not _unset(old)
        if not changed:
            continue
        if key in rules.force_new or key in forced:
            kind = "replace"
        elif key in rules.refused or (SHRINK_REFUSED.get(type_) == key and (new or 0) < (old or 0)):
            kind = "refused"
        elif key in rules.disruptive:
            kind = "disruptive"
        else:
            kind = "update"
        steps.append(Step(type_, name, key, kind, old, new))
    return steps
