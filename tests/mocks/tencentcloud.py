"""A Tencent Cloud account as terraform-provider-tencentcloud v1.82.42 shows it to a program.

Every answer follows the provider file named next to it (paths below
``tencentcloud/services/`` at tag v1.82.42): the fields its Read sets after
Create (including Optional inputs it copies back from the API), the rows its
data sources return and the entries they skip.  ``TencentCloud`` holds the
account's state, so a test can change what the cloud says between two runs:
a zone stops selling, an instance type sells out, a certificate stays pending
or is rejected.

Times are in the API's own formats: CVM ``CreatedTime`` is ISO 8601 UTC
(``2026-11-29T01:00:00Z``); VPC, CBS and SSL times are ``YYYY-MM-DD HH:MM:SS``
in Beijing time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from tests.mocks import private_dns
from tests.mocks.private_dns import PrivateDnsAccount, PrivateDnsError

VPC = "tencentcloud:Vpc/instance:Instance"
SUBNET = "tencentcloud:Subnet/instance:Instance"
SECURITY_GROUP = "tencentcloud:Security/group:Group"
RULE_SET = "tencentcloud:Security/groupRuleSet:GroupRuleSet"
KEY_PAIR = "tencentcloud:Key/pair:Pair"
INSTANCE = "tencentcloud:Instance/instance:Instance"
STORAGE = "tencentcloud:Cbs/storage:Storage"
STORAGE_ATTACHMENT = "tencentcloud:Cbs/storageAttachment:StorageAttachment"
SNAPSHOT_POLICY = "tencentcloud:Cbs/snapshotPolicy:SnapshotPolicy"
SNAPSHOT_POLICY_ATTACHMENT = "tencentcloud:Cbs/snapshotPolicyAttachment:SnapshotPolicyAttachment"
SNAPSHOT = "tencentcloud:Cbs/snapshot:Snapshot"
RECORD = "tencentcloud:Dnspod/record:Record"
FREE_CERTIFICATE = "tencentcloud:Ssl/freeCertificate:FreeCertificate"
POSTGRESQL = "tencentcloud:Postgresql/instance:Instance"
POSTGRESQL_SSL = "tencentcloud:Postgresql/instanceSslConfig:InstanceSslConfig"
ALARM_NOTICE = "tencentcloud:Monitor/alarmNotice:AlarmNotice"
ALARM_POLICY = "tencentcloud:Monitor/alarmPolicy:AlarmPolicy"
POLICY_BINDING = "tencentcloud:Monitor/policyBindingObject:PolicyBindingObject"

GET_ZONES = "tencentcloud:Availability/getZonesByProduct:getZonesByProduct"
GET_TYPES = "tencentcloud:Instance/getTypes:getTypes"
GET_IMAGE = "tencentcloud:Image/getInstance:getInstance"
GET_CERTIFICATES = "tencentcloud:Ssl/getCertificates:getCertificates"
GET_DESCRIBE_CERTIFICATE = "tencentcloud:Ssl/getDescribeCertificate:getDescribeCertificate"

FAKE_PUBLIC_IP = "198.51.100.7"
CREATED_ISO = "2026-11-29T01:00:00Z"
CREATED_BEIJING = "2026-11-29 09:00:00"
ISSUED_BEGIN = "2026-11-29 08:00:00"
ISSUED_END = "2099-01-01 07:59:59"


@dataclass
class Zone:
    """One DescribeZones ZoneInfo (common/data_source_tc_availability_zones_by_product.go)."""

    name: str
    state: str = "AVAILABLE"  # cvm/extension_cvm.go ZONE_STATE_AVAILABLE / ZONE_STATE_UNAVAILABLE
    id: str = ""
    description: str = ""


@dataclass
class TypeRow:
    """One DescribeZoneInstanceConfigInfos InstanceTypeQuotaItem: a type, in a zone, for one charge type."""

    instance_type: str
    family: str
    cpu: int
    memory: int
    zone: str
    charge_type: str
    status: str = "SELL"  # cvm/extension_cvm.go CVM_SOLD_OUT_STATUS = "SOLD_OUT"


@dataclass
class Certificate:
    """What DescribeCertificateDetail / DescribeCertificates know about one certificate."""

    id: str
    domain: str
    alias: str | None
    verify_type: str
    status: int = 0
    package_type: str = "83"     # ApplyCertificate: "only 83 = TrustAsia C1 DV Free"; stored when not sent
    validity_period: str = "3"   # ApplyCertificate: "default 3 (months)"
    begin_time: str | None = None
    end_time: str | None = None
    cert: str = ""
    key: str = ""
    dv_auths: list[dict[str, str]] = field(default_factory=list)
    # Certificates in the SSL console that this stack did not apply for (certificate: ssl-console):
    subject_names: list[str] | None = None  # SubjectAltName; the provider sets subject_names only when non-empty
    certificate_type: str = "SVR"           # CertificateType: SVR (server) or CA (an uploaded CA)
    product: str = "TrustAsia C1 DV Free"   # ProductZhName


# What Tencent does with a new application before the program's first poll.
ISSUE, PENDING, REJECT = "issue", "pending", "reject"


def _default_zones() -> list[Zone]:
    return [Zone("ap-guangzhou-3", "UNAVAILABLE", "100003", "Guangzhou Zone 3"),
            Zone("ap-guangzhou-6", "AVAILABLE", "100006", "Guangzhou Zone 6"),
            Zone("ap-guangzhou-7", "AVAILABLE", "100007", "Guangzhou Zone 7")]


def _default_types() -> list[TypeRow]:
    rows = []
    for zone in ("ap-guangzhou-6", "ap-guangzhou-7"):
        for cpu, memory, size in ((2, 4, "MEDIUM4"), (2, 8, "MEDIUM8"), (4, 8, "LARGE8"), (4, 16, "LARGE16")):
            for family in ("S5", "SA2"):
                # One row per charge type, as DescribeZoneInstanceConfigInfos answers without that filter.
                for charge in ("POSTPAID_BY_HOUR", "PREPAID", "SPOTPAID"):
                    rows.append(TypeRow(f"{family}.{size}", family, cpu, memory, zone, charge))
    # A type sold only prepaid here: picking it for a pay-as-you-go CVM fails at RunInstances.
    rows.append(TypeRow("BF1.MEDIUM4", "BF1", 2, 4, "ap-guangzhou-6", "PREPAID"))
    return rows


class ProviderError(Exception):
    """What the provider plugin answers with an error (the invoke fails in the program)."""


@dataclass
class TencentCloud:
    """One account, as the provider's Read functions and data sources report it."""

    zones: list[Zone] = field(default_factory=_default_zones)
    types: list[TypeRow] = field(default_factory=_default_types)
    certificates: dict[str, Certificate] = field(default_factory=dict)
    application_outcome: str = ISSUE
    key_pairs: dict[str, str] = field(default_factory=dict)  # key name -> resource id (unique per account)
    private_dns: PrivateDnsAccount = field(default_factory=PrivateDnsAccount)  # tests.mocks.private_dns

    # --- what a test changes between runs -------------------------------------------------

    def stop_selling_zone(self, name: str) -> None:
        self.zones = [replace(z, state="UNAVAILABLE") if z.name == name else z for z in self.zones]

    def sell_out(self, instance_type: str) -> None:
        self.types = [replace(t, status="SOLD_OUT") if t.instance_type == instance_type else t for t in self.types]

    def withdraw(self, instance_type: str) -> None:
        self.types = [t for t in self.types if t.instance_type != instance_type]

    def issue(self, cert_id: str) -> None:
        cert = self.certificates[cert_id]
        cert.status, cert.begin_time, cert.end_time = 1, ISSUED_BEGIN, ISSUED_END
        cert.cert = (f"-----BEGIN CERTIFICATE-----\n{cert_id}\n-----END CERTIFICATE-----\n"
                     "-----BEGIN CERTIFICATE-----\nTrustAsia-intermediate\n-----END CERTIFICATE-----\n")
        cert.key = f"-----BEGIN RSA PRIVATE KEY-----\n{cert_id}\n-----END RSA PRIVATE KEY-----\n"

    def reject(self, cert_id: str, status: int = 2) -> None:
        self.certificates[cert_id].status = status

    def delete(self, type_: str, resource_id: str) -> None:
        """A resource's Delete (ssl: DeleteCertificate); only certificates are kept as account state."""
        if type_ == FREE_CERTIFICATE:
            self.certificates.pop(resource_id, None)
        self.private_dns.delete(type_, resource_id)

    # --- resources: Create followed by Read -------------------------------------------------

    def outputs(self, type_: str, name: str, inputs: dict[str, Any], resource_id: str) -> dict[str, Any]:
        """The state the provider stores after Create (which ends with its Read) for these inputs."""
        for key, (low, high) in _LENGTHS.get(type_, {}).items():
            value = inputs.get(key)
            if isinstance(value, str) and not low <= len(value) <= high:
                raise ProviderError(f"{type_} {name}: the length of {key} must be {low}-{high}: {value!r}")
        handler = _RESOURCES.get(type_)
        try:
            return handler(self, name, inputs, resource_id) if handler else {}
        except PrivateDnsError as error:
            raise ProviderError(f"{type_} {name}: {error}") from None

    def _vpc(self, name, inputs, resource_id):  # vpc/resource_tc_vpc.go Read
        return {"isDefault": False, "createTime": CREATED_BEIJING, "defaultRouteTableId": "rtb-1a2b3c4d",
                "dnsServers": ["183.60.83.19", "183.60.82.98"], "isMulticast": inputs.get("isMulticast", True),
                "assistantCidrs": [], "dockerAssistantCidrs": []}

    def _subnet(self, name, inputs, resource_id):  # vpc/resource_tc_subnet.go Read
        return {"isDefault": False, "availableIpCount": 253, "createTime": CREATED_BEIJING,
                "routeTableId": "rtb-1a2b3c4d", "isMulticast": inputs.get("isMulticast", True), "cdcId": ""}

    def _security_group(self, name, inputs, resource_id):  # vpc/resource_tc_security_group.go Read
        return {"projectId": 0, "description": inputs.get("description", "")}

    def _rule_set(self, name, inputs, resource_id):  # vpc/resource_tc_security_group_rule_set.go Read
        return {"version": "1"}

    def _key_pair(self, name, inputs, resource_id):
        """cvm/resource_tc_key_pair.go: key_name passes tccommon.ValidateKeyPairName (1-25 of [a-zA-Z0-9_])
        and is "the only in one TencentCloud account": ImportKeyPair refuses a name already taken."""
        key_name = inputs.get("keyName", "")
        if not re.fullmatch(r"[A-Za-z0-9_]{1,25}", key_name):
            raise ProviderError(f"key_name only support letters, numbers and \"_\", length 1-25: {key_name!r}")
        owner = self.key_pairs.setdefault(key_name, resource_id)
        if owner != resource_id:
            raise ProviderError(f"ImportKeyPair: a key pair named {key_name!r} already exists in this account")
        return {"createdTime": CREATED_ISO, "projectId": 0, "privateKey": ""}

    def _instance(self, name, inputs, resource_id):  # cvm/resource_tc_instance.go Read
        # RunInstances HostName (Linux): 2-60 characters, dot-separated segments of letters, digits and
        # '-', no segment starting or ending with '-', not all digits.
        hostname = inputs.get("hostname")
        if hostname is not None and not (
                2 <= len(hostname) <= 60 and not hostname.isdigit()
                and all(re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?", part) for part in hostname.split("."))):
            raise ProviderError(f"RunInstances: InvalidParameterValue.InvalidHostName {hostname!r}")
        row = next((t for t in self.types if t.instance_type == inputs.get("instanceType")), None)
        return {"publicIp": FAKE_PUBLIC_IP, "privateIp": "10.70.1.8", "instanceStatus": "RUNNING",
                "cpu": row.cpu if row else 2, "memory": row.memory if row else 4,
                "osName": "Ubuntu Server 22.04 LTS 64bit", "createTime": CREATED_ISO, "expiredTime": "",
                "systemDiskId": f"disk-sys{len(name):04d}", "systemDiskName": "",
                "uuid": "6a2d5e0a-0000-4000-8000-000000000001", "projectId": 0, "instanceStatusReason": None,
                "allocatePublicIp": bool(inputs.get("allocatePublicIp")), "runningFlag": True,
                "instanceChargeTypePrepaidRenewFlag": "", "placementGroupId": "", "camRoleName": "",
                "keepImageLogin": False, "forceDelete": False, "dataDisks": []}

    def _storage(self, name, inputs, resource_id):  # cbs/resource_tc_cbs_storage.go Read
        return {"storageStatus": "UNATTACHED", "attached": False, "projectId": 0, "throughputPerformance": 0,
                "encrypt": bool(inputs.get("encrypt")), "encryptType": "", "kmsKeyId": "",
                "chargeType": inputs.get("chargeType", "POSTPAID_BY_HOUR"), "prepaidRenewFlag": "",
                "burstPerformance": False, "dedicatedClusterId": ""}

    def _snapshot(self, name, inputs, resource_id):  # cbs/resource_tc_cbs_snapshot.go Read
        return {"snapshotStatus": "NORMAL", "diskUsage": "DATA_DISK", "diskType": "CLOUD_PREMIUM",
                "storageSize": 50, "percent": 100, "createTime": CREATED_BEIJING}

    def _record(self, name, inputs, resource_id):  # dnspod/resource_tc_dnspod_record.go Read
        return {"monitorStatus": "", "mx": 0, "status": inputs.get("status", "ENABLE"),
                "ttl": inputs.get("ttl", 600), "remark": ""}

    def _postgresql(self, name, inputs, resource_id):
        """postgresql/resource_tc_postgresql_instance.go Read: the private address and port come from
        DBInstanceNetInfo; engine and kernel versions, cpu and the backup plan are computed."""
        return {"privateAccessIp": "10.70.1.20", "privateAccessPort": 5432, "engineVersion": "16.0",
                "dbKernelVersion": "v16.0_r1.0", "cpu": 2, "uid": 1234, "createTime": CREATED_BEIJING,
                "publicAccessHost": "", "publicAccessPort": 0}

    def _alarm_notice(self, name, inputs, resource_id):  # monitor/resource_tc_monitor_alarm_notice.go Read
        return {"updatedBy": "100012345678", "updatedAt": CREATED_BEIJING, "isPreset": 0, "ampConsumerId": "",
                "policyIds": []}

    def _alarm_policy(self, name, inputs, resource_id):
        """monitor/resource_tc_monitor_alarm_policy.go Read: InsertTime/UpdateTime as "2006-01-02 15:04:05";
        ``enable`` defaults to 1 and ``project_id`` to -1 in the schema."""
        return {"createTime": CREATED_BEIJING, "updateTime": CREATED_BEIJING, "enable": inputs.get("enable", 1),
                "projectId": inputs.get("projectId", -1)}

    def _policy_binding(self, name, inputs, resource_id):
        """monitor/resource_tc_monitor_policy_binding_object.go: Create refuses a dimension whose region is not
        in MonitorRegionMap; Read sets each dimension's unique_id and region (the provider's region when unset)."""
        dimensions = []
        for index, dimension in enumerate(inputs.get("dimensions") or []):
            region = dimension.get("region") or "ap-guangzhou"
            if not re.fullmatch(r"[a-z]+-[a-z]+(-[0-9]+)?", region):
                raise ProviderError(f"{POLICY_BINDING} {name}: monitor not support region `{region}` bind")
            dimensions.append({**dimension, "region": region, "uniqueId": f"dms-{index:08d}"})
        return {"dimensions": dimensions}

    def _postgresql_ssl(self, name, inputs, resource_id):  # postgresql/resource_tc_postgresql_instance_ssl_config.go
        return {"caUrl": "https://postgres-ssl.example.invalid/ca.pem"}

    def _free_certificate(self, name, inputs, resource_id):
        """ssl/resource_tc_ssl_free_certificate.go: Create = ApplyCertificate, then Read.

        Read copies back ``package_type`` and ``validity_period`` (the API fills in
        83 and 3 when they were not sent) and sets ``dv_auths`` only when Tencent
        returned some.  A fresh application is pending: no begin/end time, no PEMs.
        """
        dns = inputs.get("dvAuthMethod") == "DNS"
        host = inputs.get("domain", name).split(".")[0]
        cert = self.certificates.get(resource_id)
        if cert is None:
            cert = self.certificates[resource_id] = Certificate(
                id=resource_id, domain=inputs.get("domain", ""), alias=inputs.get("alias") or None,
                verify_type=inputs.get("dvAuthMethod", "DNS_AUTO"),
                package_type=inputs.get("packageType") or "83",
                validity_period=inputs.get("validityPeriod") or "3",
                dv_auths=[{"dvAuthKey": f"_dnsauth.{host}", "dvAuthValue": f"20261129000000{len(name)}abcdef",
                           "dvAuthVerifyType": "TXT"}] if dns else [])
        else:  # an update: ModifyCertificateAlias, then Read
            cert.alias = inputs.get("alias") or None
        outputs: dict[str, Any] = {
            "dvAuthMethod": cert.verify_type, "domain": cert.domain, "packageType": cert.package_type,
            "validityPeriod": cert.validity_period, "status": cert.status, "statusName": "",
            "statusMsg": "PRE-REVIEWING" if cert.status == 0 else "", "productZhName": "TrustAsia C1 DV Free",
            "vulnerabilityStatus": "INACTIVE", "insertTime": CREATED_BEIJING, "renewable": False,
            "deployable": cert.status == 1, "projectId": 0,
        }
        if cert.alias is not None:
            outputs["alias"] = cert.alias
        if cert.begin_time is not None:
            outputs.update(certBeginTime=cert.begin_time, certEndTime=cert.end_time)
        if cert.cert:
            outputs.update(certificatePublicKey=cert.cert, certificatePrivateKey=cert.key)
        if cert.dv_auths:
            outputs["dvAuths"] = [dict(a) for a in cert.dv_auths]
        return outputs

    # --- data sources ------------------------------------------------------------------------

    def invoke(self, token: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """A data source's answer; None for a token this module does not model."""
        handler = _INVOKES.get(token)
        try:
            return handler(self, args) if handler else None
        except PrivateDnsError as error:
            raise ProviderError(str(error)) from None

    def _zones(self, args):
        """common/data_source_tc_availability_zones_by_product.go: UNAVAILABLE zones are dropped
        unless include_unavailable; ``name`` keeps one zone."""
        zones = [z for z in self.zones
                 if (args.get("includeUnavailable") or z.state != "UNAVAILABLE")
                 and (not args.get("name") or z.name == args["name"])]
        return {"zones": [{"id": z.id, "name": z.name, "description": z.description, "state": z.state}
                          for z in zones], "product": args.get("product"), "id": "zones-hash"}

    def _types(self, args):
        """cvm/data_source_tc_instance_types.go: ``availability_zone`` ConflictsWith ``filter``; filters go to
        DescribeZoneInstanceConfigInfos (names zone, instance-family, instance-charge-type), then rows are
        kept by cpu/gpu/memory and, with exclude_sold_out, status != SOLD_OUT.  One row per charge type."""
        filters = args.get("filters") or []
        if args.get("availabilityZone") and filters:
            raise ProviderError('"availability_zone": conflicts with filter')
        wanted = {f["name"]: list(f["values"]) for f in filters}
        unknown = set(wanted) - {"zone", "instance-family", "instance-charge-type"}
        if unknown:
            raise ProviderError(f"DescribeZoneInstanceConfigInfos: InvalidFilter {sorted(unknown)}")
        if args.get("availabilityZone"):
            wanted["zone"] = [args["availabilityZone"]]
        rows = [t for t in self.types
                if t.zone in wanted.get("zone", [t.zone])
                and t.family in wanted.get("instance-family", [t.family])
                and t.charge_type in wanted.get("instance-charge-type", [t.charge_type])
                and ("cpuCoreCount" not in args or int(args["cpuCoreCount"]) == t.cpu)
                and ("memorySize" not in args or int(args["memorySize"]) == t.memory)
                and not (args.get("excludeSoldOut") and t.status == "SOLD_OUT")]
        return {"instanceTypes": [
            {"availabilityZone": t.zone, "cpuCoreCount": t.cpu, "gpuCoreCount": 0, "memorySize": t.memory,
             "family": t.family, "instanceType": t.instance_type, "instanceChargeType": t.charge_type,
             "status": t.status, "cbsConfigs": []} for t in rows], "id": "types-hash"}

    def _image(self, args):  # cvm/data_source_tc_image.go
        return {"imageId": "img-487zeit5", "imageName": "Ubuntu Server 22.04 LTS 64bit", "id": "image-hash"}

    def _poll(self, cert: Certificate) -> None:
        """Tencent decides a pending application some time after it was made: here, at the first look."""
        if cert.status == 0 and self.application_outcome == ISSUE:
            self.issue(cert.id)
        elif cert.status == 0 and self.application_outcome == REJECT:
            self.reject(cert.id)

    def _certificates(self, args):
        """ssl/data_source_tc_ssl_certificates.go: DescribeCertificates(SearchKey = id or name), then every
        entry with a null alias, begin time or end time (a pending or rejected application) is skipped."""
        key = args.get("id") or args.get("name") or ""
        # ``type`` goes to DescribeCertificates as CertificateType.
        matches = [c for c in self.certificates.values()
                   if (not key or key in (c.id, c.domain) or (c.alias and key in c.alias))
                   and args.get("type") in (None, c.certificate_type)]
        for cert in matches:
            self._poll(cert)
        listed = []
        for c in matches:
            if c.alias is None or c.begin_time is None or c.end_time is None:
                continue
            entry = {"id": c.id, "name": c.alias, "type": c.certificate_type, "projectId": 0,
                     "productZhName": c.product, "domain": c.domain, "status": c.status,
                     "beginTime": c.begin_time, "endTime": c.end_time, "createTime": CREATED_BEIJING,
                     "ownerUin": "100000000001", "validityPeriod": c.validity_period,
                     "subjectNames": c.subject_names or [c.domain], "orderId": f"order-{c.id}"}
            if c.cert:
                entry.update(cert=c.cert, key=c.key)
            if c.dv_auths:
                entry["dvAuths"] = [dict(a) for a in c.dv_auths]
            listed.append(entry)
        return {"certificates": listed, "id": "certificates-hash"}

    def _describe_certificate(self, args):
        """ssl/data_source_tc_ssl_describe_certificate.go: DescribeCertificate(id) for any status.  Its Read
        sets ``dv_auth_detail.dv_auths`` as a list inside a list, so ``d.Set("result")`` fails (the error is
        dropped) whenever Tencent returned DV auth records: the result is then empty.  An unknown id is an
        API error."""
        cert = self.certificates.get(args.get("certificateId", ""))
        if cert is None:
            raise ProviderError("[TencentCloudSDKError] Code=FailedOperation.CertificateNotFound")
        self._poll(cert)
        if cert.dv_auths:
            return {"certificateId": cert.id, "results": [], "id": cert.id}
        result = {"status": cert.status, "domain": cert.domain, "packageType": cert.package_type,
                  "verifyType": cert.verify_type, "validityPeriod": cert.validity_period,
                  "insertTime": CREATED_BEIJING, "certificateType": "SVR", "projectId": "0"}
        if cert.alias is not None:
            result["alias"] = cert.alias
        if cert.begin_time is not None:
            result.update(certBeginTime=cert.begin_time, certEndTime=cert.end_time)
        return {"certificateId": cert.id, "results": [result], "id": cert.id}


# ValidateStringLengthInRange of each resource's name inputs.
_LENGTHS = {
    VPC: {"name": (1, 60)},                      # vpc/resource_tc_vpc.go
    SUBNET: {"name": (1, 60)},                   # vpc/resource_tc_subnet.go
    SECURITY_GROUP: {"name": (1, 60), "description": (1, 100)},  # vpc/resource_tc_security_group.go
    INSTANCE: {"instanceName": (2, 128)},        # cvm/resource_tc_instance.go
    STORAGE: {"storageName": (2, 60)},           # cbs/resource_tc_cbs_storage.go
    SNAPSHOT: {"snapshotName": (2, 60)},         # cbs/resource_tc_cbs_snapshot.go
    SNAPSHOT_POLICY: {"snapshotPolicyName": (2, 60)},  # cbs/resource_tc_cbs_snapshot_policy.go
}

_RESOURCES = {
    ALARM_NOTICE: TencentCloud._alarm_notice, ALARM_POLICY: TencentCloud._alarm_policy,
    POLICY_BINDING: TencentCloud._policy_binding,
    VPC: TencentCloud._vpc, SUBNET: TencentCloud._subnet, SECURITY_GROUP: TencentCloud._security_group,
    RULE_SET: TencentCloud._rule_set, KEY_PAIR: TencentCloud._key_pair, INSTANCE: TencentCloud._instance,
    STORAGE: TencentCloud._storage, SNAPSHOT: TencentCloud._snapshot, RECORD: TencentCloud._record,
    FREE_CERTIFICATE: TencentCloud._free_certificate, POSTGRESQL: TencentCloud._postgresql,
    POSTGRESQL_SSL: TencentCloud._postgresql_ssl,
    private_dns.ZONE: lambda cloud, *args: cloud.private_dns.zone(*args),
    private_dns.ZONE_VPC_ATTACHMENT: lambda cloud, *args: cloud.private_dns.zone_vpc_attachment(*args),
    private_dns.RECORD: lambda cloud, *args: cloud.private_dns.record(*args),
}
_INVOKES = {
    GET_ZONES: TencentCloud._zones, GET_TYPES: TencentCloud._types, GET_IMAGE: TencentCloud._image,
    GET_CERTIFICATES: TencentCloud._certificates, GET_DESCRIBE_CERTIFICATE: TencentCloud._describe_certificate,
    private_dns.GET_PRIVATE_ZONE_LIST: lambda cloud, args: cloud.private_dns.zone_list(args),
}
