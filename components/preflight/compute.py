"""The CVM (and PostgreSQL) a ``cvm`` stack would create, asked of the API before anything is created.

The instance specification is the one ``components.host`` registers: the zone
(``server.availabilityZone`` or the first AVAILABLE CVM zone, api
``DescribeZones``), the type (``server.instanceType`` or the preferred type on
sale with ``server.cpu``/``memoryGb``, cvm ``DescribeZoneInstanceConfigInfos``
through ``host.offered_types``), the image (an ``img-`` id, or the newest public
image whose name starts with the family's name, cvm ``DescribeImages`` sorted by
``CreatedTime`` as the provider's ``data_source_tc_image.go`` does), the system
disk, the pay-as-you-go charge types and the bandwidth.  ``RunInstances`` with
``DryRun`` then checks parameters, CAM permission, quota and stock at once: the
documented answer ``DryRunOperation`` means the real call would pass.

For a stack already deployed the zone and type in its ``cvmPlacement`` output
win over the lookups (``components.deployed``); the preflight cannot read state
before the backend is chosen, so it checks what a new stack would get.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from components.host import DATA_DISK_TYPE, INTERNET_CHARGE_TYPE, SYSTEM_DISK_TYPE, host_name
from components.i18n import _
from components.placement import CHARGE_TYPE, offered_types
from components.preflight import Finding, error, warning
from components.preflight.tencent import Api, ApiError, Denied, denied_finding
from components.settings import IMAGE_FAMILIES, NAMESPACE, CvmServer, Settings

SERVER = f"{NAMESPACE}:server"
IMAGE_PAGE = 100  # DescribeImages' largest Limit, as the provider pages it (service_tencentcloud_cvm.go)


@dataclass(frozen=True)
class CvmSpec:
    zone: str
    instance_type: str
    image_id: str
    system_disk_gb: int
    data_disk_gb: int
    bandwidth_mbps: int
    host_name: str
    instance_name: str
    protect: bool

    def run_instances(self, subnet: tuple[str, str] | None = None, dry_run: bool = True) -> dict[str, Any]:
        """RunInstances parameters for the instance ``components.host`` creates (``dry_run=False``: the
        InquiryPriceRunInstances subset, which has no DryRun or DisableApiTermination)."""
        params: dict[str, Any] = {
            "InstanceChargeType": CHARGE_TYPE,
            "Placement": {"Zone": self.zone},
            "InstanceType": self.instance_type,
            "ImageId": self.image_id,
            "SystemDisk": {"DiskType": SYSTEM_DISK_TYPE, "DiskSize": self.system_disk_gb},
            "InternetAccessible": {"InternetChargeType": INTERNET_CHARGE_TYPE,
                                   "InternetMaxBandwidthOut": self.bandwidth_mbps, "PublicIpAssigned": True},
            "InstanceCount": 1,
            "InstanceName": self.instance_name,
            "HostName": self.host_name,
        }
        if subnet:
            params["VirtualPrivateCloud"] = {"VpcId": subnet[0], "SubnetId": subnet[1]}
        if dry_run:
            params.update(DryRun=True, DisableApiTermination=self.protect)
        return params


def _type_key(server: CvmServer) -> str:
    return f"{SERVER}.instanceType" if server.instance_type else f"{SERVER}.cpu/memoryGb"


def resolve_zone(api: Api, server: CvmServer) -> tuple[str | None, list[Finding]]:
    if server.availability_zone:
        return server.availability_zone, []
    try:
        answer = api.call("api", "DescribeZones", {"Product": "cvm"})
    except Denied as denied:
        return None, [denied_finding(denied, _("choosing the availability zone (server.availabilityZone is unset)"))]
    zones = [z.get("Zone") for z in answer.get("ZoneSet") or [] if z.get("ZoneState") == "AVAILABLE"]
    if not zones:
        return None, [error(f"{SERVER}.availabilityZone", _("no CVM zone is AVAILABLE in this region; set one"))]
    return zones[0], []


def resolve_image(api: Api, server: CvmServer) -> tuple[str | None, list[Finding]]:
    key = f"{SERVER}.image"
    try:
        if server.image.startswith("img-"):
            answer = api.call("cvm", "DescribeImages", {"ImageIds": [server.image]})
            if not answer.get("ImageSet"):
                return None, [error(key, _("image {image} does not exist in this region").format(image=server.image))]
            return server.image, []
        prefix = re.compile(f"^{re.escape(IMAGE_FAMILIES[server.image])}")
        images: list[dict[str, Any]] = []
        offset = 0
        while True:
            answer = api.call("cvm", "DescribeImages", {
                "Filters": [{"Name": "image-type", "Values": ["PUBLIC_IMAGE"]}], "Offset": offset, "Limit": IMAGE_PAGE})
            page = answer.get("ImageSet") or []
            images += page
            offset += len(page)
            if len(page) < IMAGE_PAGE:
                break
    except Denied as denied:
        return None, [denied_finding(denied, _("finding the image (server.image)"))]
    except ApiError as failure:
        return None, [error(key, _("{image!r} was refused: {code} {message}").format(
            image=server.image, code=failure.code, message=failure.message))]
    matching = sorted((i for i in images if prefix.search(i.get("ImageName") or "")),
                      key=lambda i: i.get("CreatedTime") or "", reverse=True)
    if not matching:
        return None, [error(key, _("no public image in this region is named like {name!r}; choose another family or "
                                   "an image id img-xxxxxxxx").format(name=IMAGE_FAMILIES[server.image]))]
    return matching[0]["ImageId"], []


def _type_rows(api: Api, zone: str, instance_type: str | None = None) -> list[dict[str, Any]]:
    filters = [{"Name": "zone", "Values": [zone]}, {"Name": "instance-charge-type", "Values": [CHARGE_TYPE]}]
    if instance_type:
        filters.append({"Name": "instance-type", "Values": [instance_type]})
    answer = api.call("cvm", "DescribeZoneInstanceConfigInfos", {"Filters": filters})
    return answer.get("InstanceTypeQuotaSet") or []


def resolve_type(api: Api, server: CvmServer, zone: str) -> tuple[str | None, list[Finding]]:
    """The type, and whether the zone sells it pay-as-you-go."""
    try:
        rows = _type_rows(api, zone, server.instance_type)
    except Denied as denied:
        return server.instance_type, [denied_finding(
            denied, _("checking that {zone} sells the instance type").format(zone=zone),
            needed=not server.instance_type)]
    if server.instance_type:
        states = {row.get("Status") for row in rows if row.get("InstanceType") == server.instance_type}
        if "SELL" in states:
            return server.instance_type, []
        state = ", ".join(sorted(s for s in states if s)) or _("not offered")
        return server.instance_type, [error(
            _type_key(server), _("{type} is not on sale {charge} in {zone} ({state}); choose another type, or another "
                                 "zone with {key}").format(type=server.instance_type, charge=CHARGE_TYPE, zone=zone,
                                                           state=state, key=f"{SERVER}.availabilityZone"))]
    # The provider's instance.getTypes fields, which host.offered_types reads.
    provider_rows = [{"instance_type": r.get("InstanceType"), "cpu_core_count": r.get("Cpu"),
                      "memory_size": r.get("Memory"), "instance_charge_type": r.get("InstanceChargeType"),
                      "status": r.get("Status"), "family": r.get("InstanceFamily")} for r in rows]
    offered = offered_types(provider_rows, server, CHARGE_TYPE)
    if not offered:
        return None, [error(_type_key(server), _("no instance type with cpu={cpu} memoryGb={memory} is on sale "
                                                 "{charge} in {zone}; set {key} or another zone").format(
            cpu=server.cpu, memory=server.memory_gb, charge=CHARGE_TYPE, zone=zone, key=f"{SERVER}.instanceType"))]
    return offered[0], []


def first_subnet(api: Api, zone: str) -> tuple[tuple[str, str] | None, list[Finding]]:
    """Any subnet of the account in the zone: RunInstances without one would ask for the (retired) basic network."""
    try:
        answer = api.call("vpc", "DescribeSubnets", {"Filters": [{"Name": "zone", "Values": [zone]}], "Limit": "1"})
    except Denied as denied:
        return None, [denied_finding(denied, _("reading subnets (the stack creates and reads its own)"))]
    subnets = answer.get("SubnetSet") or []
    return ((subnets[0]["VpcId"], subnets[0]["SubnetId"]) if subnets else None), []


# RunInstances errors (cvm errorcodes, "RunInstances" API doc) and the setting each one is about.
_CODE_SUBJECTS = (
    (("ResourceInsufficient.SpecifiedInstanceType", "ResourceInsufficient.ZoneSoldOutForSpecifiedInstance",
      "ResourceNotFound.InvalidZoneInstanceType", "InvalidParameterValue.InstanceTypeNotFound",
      "ResourceInsufficient.InsufficientOfferingMinimum"), "type"),
    (("ResourceInsufficient.AvailabilityZoneSoldOut", "InvalidParameterValue.InvalidZone",
      "InvalidZone.MismatchRegion"), f"{SERVER}.availabilityZone"),
    (("ResourceInsufficient.CloudDiskSoldOut", "ResourceInsufficient.CloudDiskUnavailable",
      "InvalidParameterValue.InvalidDiskSize", "ResourceNotFound.NoDefaultCbs"), f"{SERVER}.systemDiskGb"),
    (("LimitExceeded.InstanceTypeBandwidth", "InvalidParameterValue.BandwidthTooLarge"), f"{SERVER}.bandwidthMbps"),
    (("InvalidAccount.InsufficientBalance", "InvalidAccount.UnpaidOrder"), "balance"),
    (("LimitExceeded.InstanceQuota", "LimitExceeded.CvmInstanceQuota", "LimitExceeded.UserReturnQuota"), "quota"),
)
_WORD_SUBJECTS = (("Image", f"{SERVER}.image"), ("InstanceType", "type"), ("Zone", f"{SERVER}.availabilityZone"),
                  ("Bandwidth", f"{SERVER}.bandwidthMbps"), ("Disk", f"{SERVER}.systemDiskGb"),
                  ("HostName", f"{NAMESPACE}:stack name (the CVM hostname)"))


def _subject_of(code: str, server: CvmServer) -> str:
    for codes, subject in _CODE_SUBJECTS:
        if code in codes:
            return _type_key(server) if subject == "type" else subject
    for word, subject in _WORD_SUBJECTS:
        if word.lower() in code.lower():
            return _type_key(server) if subject == "type" else subject
    return SERVER


def dry_run(api: Api, server: CvmServer, spec: CvmSpec, subnet: tuple[str, str] | None) -> list[Finding]:
    """RunInstances with DryRun: parameters, CAM permission, quota and stock, nothing created."""
    try:
        api.call("cvm", "RunInstances", spec.run_instances(subnet))
    except Denied as denied:
        return [denied_finding(denied, _("creating the CVM"))]
    except ApiError as failure:
        if failure.code == "DryRunOperation":
            return []
        if subnet is None and re.search(r"Vpc|Subnet|BasicNetwork", failure.code):
            return [warning(SERVER, _("the dry run needs a subnet in {zone} and the account has none yet ({code}); "
                                      "the stack creates its own, so this is not a problem by itself").format(
                zone=spec.zone, code=failure.code))]
        if failure.code.startswith("LimitExceeded.") and "Quota" in failure.code:
            return [error("quota", _("the account's CVM quota is used up ({code}: {message}); release instances or "
                                     "ask for a higher quota in the CVM console").format(
                code=failure.code, message=failure.message))]
        subject = _subject_of(failure.code, server)
        what = _("{type} in {zone}, image {image}, {disk} GB {disk_type}, {bandwidth} Mbps").format(
            type=spec.instance_type, zone=spec.zone, image=spec.image_id, disk=spec.system_disk_gb,
            disk_type=SYSTEM_DISK_TYPE, bandwidth=spec.bandwidth_mbps)
        return [error(subject, _("RunInstances (DryRun) refused {what}: {code}: {message}").format(
            what=what, code=failure.code, message=failure.message))]
    return [error(SERVER, _("RunInstances answered without DryRunOperation although DryRun was set: check the CVM "
                            "console for an instance named {name}").format(name=spec.instance_name))]


def hourly_price(api: Api, spec: CvmSpec, subnet: tuple[str, str] | None) -> tuple[float | None, list[Finding]]:
    """Pay-as-you-go price of the first hour (CVM + data disk), from the read-only InquiryPrice calls."""
    try:
        cvm = api.call("cvm", "InquiryPriceRunInstances", spec.run_instances(subnet, dry_run=False))
        disk = api.call("cbs", "InquiryPriceCreateDisks", {
            "DiskChargeType": CHARGE_TYPE, "DiskType": DATA_DISK_TYPE, "DiskSize": spec.data_disk_gb})
    except Denied as denied:
        return None, [denied_finding(denied, _("the price that the balance must cover"), needed=False)]
    except ApiError as failure:
        subject = f"{SERVER}.dataDiskGb" if "Disk" in failure.code else SERVER
        return None, [error(subject, _("the price inquiry refused the stack's CVM or data disk: {code}: {message}")
                            .format(code=failure.code, message=failure.message))]
    price = cvm.get("Price") or {}
    instance = (price.get("InstancePrice") or {}).get("UnitPriceDiscount") or 0
    bandwidth = (price.get("BandwidthPrice") or {}).get("UnitPriceDiscount") or 0
    data_disk = ((disk.get("DiskPrice") or {}).get("UnitPriceDiscount")) or 0
    # Traffic is billed per GB used, so only a per-hour bandwidth price counts toward the first hour.
    hourly_bandwidth = bandwidth if (price.get("BandwidthPrice") or {}).get("ChargeUnit") == "HOUR" else 0
    return float(instance) + float(hourly_bandwidth) + float(data_disk), []


def cvm_spec(api: Api, settings: Settings) -> tuple[CvmSpec | None, list[Finding]]:
    """The instance the stack would create, each lookup as the program makes it."""
    server = settings.server
    assert server.is_cvm
    findings: list[Finding] = []
    zone, problems = resolve_zone(api, server)
    findings += problems
    image_id, problems = resolve_image(api, server)
    findings += problems
    instance_type = None
    if zone:
        instance_type, problems = resolve_type(api, server, zone)
        findings += problems
    if not (zone and image_id and instance_type) or any(f.severity == "error" for f in findings):
        return None, findings
    return CvmSpec(zone, instance_type, image_id, server.system_disk_gb, server.data_disk_gb, server.bandwidth_mbps,
                   host_name(settings.stack), settings.resource_label, settings.protect), findings


def deployed_instance(api: Api, settings: Settings) -> str | None:
    """The id of this stack's CVM when it exists already (its name is the stack's resource label)."""
    try:
        answer = api.call("cvm", "DescribeInstances", {
            "Filters": [{"Name": "instance-name", "Values": [settings.resource_label]}], "Limit": 1})
    except (Denied, ApiError):
        return None  # the permission probe reports a denial
    instances = answer.get("InstanceSet") or []
    return instances[0].get("InstanceId") if instances else None


def for_a_deployed_stack(findings: list[Finding], instance_id: str) -> list[Finding]:
    """An update of a deployed stack creates no CVM: what would stop a new one (stock, quota, a first hour's
    balance) is then a warning, permissions stay errors."""
    note = _(" (this stack's CVM {instance} exists already: an update creates no new one)").format(
        instance=instance_id)
    return [warning(f.subject, f.message + note) if f.severity == "error" and not f.subject.startswith("cam:")
            else f for f in findings]


def read_probes(settings: Settings, region: str) -> list[tuple[str, str, dict[str, Any], str]]:
    """Read-only calls the provider makes for this stack's resources: (product, action, params, what needs it)."""
    probes: list[tuple[str, str, dict[str, Any], str]] = []
    if settings.server.is_cvm:
        probes += [
            ("cvm", "DescribeInstances", {"Limit": 1}, _("reading the CVM")),
            ("cvm", "DescribeKeyPairs", {"Limit": 1}, _("reading the SSH key pair")),
            ("vpc", "DescribeVpcs", {"Limit": "1"}, _("reading the VPC")),
            ("vpc", "DescribeSecurityGroups", {"Limit": "1"}, _("reading the security group")),
            ("vpc", "DescribeSecurityGroupPolicies", {"SecurityGroupId": "sg-00000000"},
             _("reading the firewall rules")),
            ("cbs", "DescribeDisks", {"Limit": 1}, _("reading the data disk")),
            # Provider v1.82.42 reads every instance, disk, key pair, subnet and security group's tags
            # (resource_tc_instance.go ~1262, service_tencentcloud_tag.go 66-83).
            ("tag", "DescribeResourceTagsByResourceIds", {
                "ServiceType": "cvm", "ResourcePrefix": "instance", "ResourceRegion": region,
                "ResourceIds": ["ins-00000000"], "Limit": 1}, _("reading the tags of every resource")),
        ]
        if settings.effective_backup.enabled:
            probes += [("cbs", "DescribeAutoSnapshotPolicies", {"Limit": 1}, _("reading the snapshot policy")),
                       ("cbs", "DescribeSnapshots", {"Limit": 1}, _("reading the snapshots"))]
        if settings.database.postgresql:
            probes += [("postgres", "DescribeDBInstances", {"Limit": 1}, _("reading the PostgreSQL instance"))]
    if settings.dns == "dnspod":
        probes += [("dnspod", "DescribeRecordList", {"Domain": settings.domain, "Limit": 1},
                    _("reading the A records"))]
    if settings.certificate == "ssl-console":
        probes += [("ssl", "DescribeCertificates", {"Limit": 1}, _("finding the SSL console certificates"))]
    return probes


def permissions(api: Api, settings: Settings, region: str) -> list[Finding]:
    findings = []
    for product, action, params, what in read_probes(settings, region):
        try:
            api.call(product, action, params)
        except Denied as denied:
            findings.append(denied_finding(denied, what))
        except ApiError:
            pass  # a probe for a resource that does not exist answers NotFound: the permission is there
    return findings


def postgresql_spec(api: Api, settings: Settings, zone: str) -> list[Finding]:
    """TencentDB for PostgreSQL sells ``database.version`` with ``database.memoryGb`` in the CVM's zone
    (the provider picks the spec code from DescribeProductConfig, resource_tc_postgresql_instance.go 468-515)."""
    database = settings.database
    key = f"{NAMESPACE}:database"
    try:
        answer = api.call("postgres", "DescribeProductConfig", {"Zone": zone})
    except Denied as denied:
        return [denied_finding(denied, _("choosing the PostgreSQL spec"))]
    infos = answer.get("SpecInfoList") or []
    specs = (infos[0].get("SpecItemInfoList") or []) if infos else []
    if not specs:
        return [error(f"{SERVER}.availabilityZone", _("TencentDB for PostgreSQL is not sold in {zone}").format(
            zone=zone))]
    majors = sorted({str(s.get("MajorVersion")) for s in specs})
    same_major = [s for s in specs if str(s.get("MajorVersion")) == database.version]
    if not same_major:
        return [error(f"{key}.version", _("PostgreSQL {version} is not sold in {zone} (sold: {sold})").format(
            version=database.version, zone=zone, sold=", ".join(majors)))]
    sizes = sorted({int(s.get("Memory") or 0) // 1024 for s in same_major})
    fitting = [s for s in same_major if int(s.get("Memory") or 0) // 1024 == database.memory_gb]
    if not fitting:
        return [error(f"{key}.memoryGb", _("{memory} GB is not a PostgreSQL {version} size sold in {zone} (sold: "
                                           "{sold} GB)").format(memory=database.memory_gb, version=database.version,
                                                                zone=zone, sold=", ".join(str(s) for s in sizes)))]
    spec = fitting[0]
    low, high = int(spec.get("MinStorage") or 0), int(spec.get("MaxStorage") or 0)
    if high and not low <= database.storage_gb <= high:
        return [error(f"{key}.storageGb", _("{storage} GB is outside {low}..{high} GB for this spec").format(
            storage=database.storage_gb, low=low, high=high))]
    return []
