"""A local Tencent Cloud API 3.0 endpoint for the preflight's tests: the official SDK talks to it as to the cloud.

It follows the protocol as the API documentation ("Signature v3", "Responses",
"Common error codes", cloud.tencent.com/document/api/213/30654 and 15694) and
the SDK's source (tencentcloud-sdk-python-common abstract_client.py
``_build_req_with_tc3_signature``/``_check_error``) define it:

- every request is ``POST /`` with a JSON body and the headers ``X-TC-Action``,
  ``X-TC-Version``, ``X-TC-Timestamp``, ``X-TC-Region`` (``X-TC-Token`` for
  temporary keys) and ``Authorization: TC3-HMAC-SHA256 Credential=<id>/<date>/
  <service>/tc3_request, SignedHeaders=content-type;host, Signature=<hex>``;
- the signature is recomputed here from the documented algorithm (canonical
  request of the signed headers, lower-cased, and the SHA-256 of the body;
  ``TC3<key>`` -> date -> service -> ``tc3_request`` HMAC chain), not with the
  SDK's code; an unknown id answers ``AuthFailure.SecretIdNotFound``, a wrong
  signature ``AuthFailure.SignatureFailure``, a timestamp more than 300 s off
  ``AuthFailure.SignatureExpire``;
- answers are HTTP 200 ``{"Response": {..., "RequestId": ...}}``; errors are
  ``{"Response": {"Error": {"Code": ..., "Message": ...}, "RequestId": ...}}``;
- a denied CAM action answers ``AuthFailure.UnauthorizedOperation`` (or the
  product's ``UnauthorizedOperation``) with CAM's message "you are not
  authorized to perform operation (<service>:<Action>)";
- ``RunInstances`` with ``DryRun`` answers ``DryRunOperation`` when the request
  would succeed, else the documented ``ResourceInsufficient.*``,
  ``LimitExceeded.*``, ``InvalidParameterValue.*`` or
  ``InvalidAccount.InsufficientBalance``; without ``DryRun`` it refuses (the
  tests never create anything).

Response fields are those of the SDK's models (tests turn the SDK's "fileds are
useless" warning for unknown fields into an error).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ACCOUNT = "100000000001"
SUB_USER = "100000000011"
SECRET_ID = "AKIDpreflightTestKey0000000000000001"
SECRET_KEY = "preflightTestSecret00000000000001"
API_VERSIONS = {"sts": "2018-08-13", "api": "2020-11-06", "cvm": "2017-03-12", "vpc": "2017-03-12",
                "cbs": "2017-03-12", "tag": "2018-08-13", "dnspod": "2021-03-23", "ssl": "2019-12-05",
                "postgres": "2017-03-12", "billing": "2018-07-09"}
CAM_SERVICES = {"billing": "finance"}
MAX_CLOCK_SKEW_SECONDS = 300


class ApiFailure(Exception):
    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message


def _row(zone: str, instance_type: str, cpu: int, memory: int, family: str, status: str = "SELL",
         charge: str = "POSTPAID_BY_HOUR") -> dict[str, Any]:
    return {"Zone": zone, "InstanceType": instance_type, "InstanceChargeType": charge, "NetworkCard": 25,
            "Cpu": cpu, "Memory": memory, "InstanceFamily": family, "TypeName": family, "Status": status}


@dataclass
class FakeAccount:
    """What the fake cloud holds; tests change it to make one thing go wrong."""

    keys: dict[str, str] = field(default_factory=lambda: {SECRET_ID: SECRET_KEY})
    identity: dict[str, str] = field(default_factory=lambda: {
        "Arn": f"qcs::cam::uin/{ACCOUNT}:uin/{SUB_USER}", "AccountId": ACCOUNT, "UserId": SUB_USER,
        "PrincipalId": SUB_USER, "Type": "CAMUser"})
    denied: dict[str, str] = field(default_factory=dict)
    """CAM action -> error code it answers with."""
    zones: list[dict[str, Any]] = field(default_factory=lambda: [
        {"Zone": "ap-guangzhou-1", "ZoneName": "Guangzhou 1", "ZoneId": "100001", "ZoneState": "UNAVAILABLE"},
        {"Zone": "ap-guangzhou-3", "ZoneName": "Guangzhou 3", "ZoneId": "100003", "ZoneState": "AVAILABLE"},
        {"Zone": "ap-guangzhou-6", "ZoneName": "Guangzhou 6", "ZoneId": "100006", "ZoneState": "AVAILABLE"}])
    images: list[dict[str, Any]] = field(default_factory=lambda: [
        {"ImageId": "img-487zeit5", "ImageName": "Ubuntu Server 22.04 LTS 64bit", "ImageType": "PUBLIC_IMAGE",
         "CreatedTime": "2024-03-01T08:00:00Z", "OsName": "Ubuntu Server 22.04 LTS 64bit", "ImageState": "NORMAL"},
        {"ImageId": "img-22trbn9x", "ImageName": "Ubuntu Server 22.04 LTS 64bit", "ImageType": "PUBLIC_IMAGE",
         "CreatedTime": "2025-06-01T08:00:00Z", "OsName": "Ubuntu Server 22.04 LTS 64bit", "ImageState": "NORMAL"},
        {"ImageId": "img-9qrfy1xt", "ImageName": "Debian 12.4 64bit", "ImageType": "PUBLIC_IMAGE",
         "CreatedTime": "2025-01-01T08:00:00Z", "OsName": "Debian 12.4 64bit", "ImageState": "NORMAL"}])
    type_rows: list[dict[str, Any]] = field(default_factory=lambda: [
        _row(zone, *spec) for zone in ("ap-guangzhou-3", "ap-guangzhou-6")
        for spec in (("S5.LARGE8", 4, 8, "S5"), ("S5.MEDIUM8", 2, 8, "S5"), ("SA5.MEDIUM8", 2, 8, "SA5"),
                     ("S5.LARGE16", 4, 16, "S5"))] + [_row("ap-guangzhou-6", "S5.LARGE16", 4, 16, "S5",
                                                           charge="PREPAID")])
    subnets: list[dict[str, Any]] = field(default_factory=lambda: [
        {"VpcId": "vpc-2x5lv4m4", "SubnetId": "subnet-9h8kq1ar", "SubnetName": "default",
         "CidrBlock": "172.16.0.0/20", "Zone": "ap-guangzhou-3"}])
    domains: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        "widgets-inc.cn": {"DomainId": 72311, "Domain": "widgets-inc.cn", "Status": "ENABLE", "DnsStatus": ""}})
    certificates: list[dict[str, Any]] = field(default_factory=list)
    balance_fen: float = 50_000.0
    instance_price_yuan: float = 0.95
    disk_price_yuan: float = 0.07
    instance_quota_left: int = 10
    postgres_specs: list[dict[str, Any]] = field(default_factory=lambda: [
        {"SpecCode": f"pg.it.medium{mem}", "Version": f"{major}.0", "VersionName": f"PostgreSQL {major}.0",
         "Cpu": cpu, "Memory": mem * 1024, "MaxStorage": 2000, "MinStorage": 10, "Qps": 4000,
         "MajorVersion": major, "KernelVersion": "v1", "IsSupportTDE": 1}
        for major in ("15", "16") for cpu, mem in ((1, 2), (2, 4), (4, 8))])
    instances: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


class FakeTencentCloud:
    """``with FakeTencentCloud() as cloud:`` serves the API on ``cloud.endpoint`` (127.0.0.1:<port>), plain HTTP."""

    def __init__(self, account: FakeAccount | None = None):
        self.account = account or FakeAccount()
        self._server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeTencentCloud:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request_id = str(uuid.uuid4())
                try:
                    answer = fake.handle(self.headers, body, request_id)
                    document = {"Response": {**answer, "RequestId": request_id}}
                except ApiFailure as failure:
                    document = {"Response": {"Error": {"Code": failure.code, "Message": failure.message},
                                             "RequestId": request_id}}
                data = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    # --- protocol -----------------------------------------------------------------------

    def _verify(self, headers, body: bytes) -> str:
        """The service the request was signed for, or the documented AuthFailure."""
        auth = headers.get("Authorization") or ""
        algorithm, _, rest = auth.partition(" ")
        fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
        if algorithm != "TC3-HMAC-SHA256" or not {"Credential", "SignedHeaders", "Signature"} <= set(fields):
            raise ApiFailure("AuthFailure.InvalidAuthorization", "Authorization header is malformed")
        secret_id, date, service, terminator = (fields["Credential"].split("/") + ["", "", "", ""])[:4]
        if terminator != "tc3_request":
            raise ApiFailure("AuthFailure.InvalidAuthorization", "credential scope must end in tc3_request")
        if secret_id not in self.account.keys:
            raise ApiFailure("AuthFailure.SecretIdNotFound", "The SecretId is not found, please ensure that your "
                             "SecretId is correct.")
        timestamp = int(headers.get("X-TC-Timestamp") or 0)
        if abs(time.time() - timestamp) > MAX_CLOCK_SKEW_SECONDS:
            raise ApiFailure("AuthFailure.SignatureExpire", "Signature expire.")
        if datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d") != date:
            raise ApiFailure("AuthFailure.SignatureFailure", "the credential date is not the timestamp's UTC date")
        signed = fields["SignedHeaders"].split(";")
        if not {"content-type", "host"} <= set(signed):
            raise ApiFailure("AuthFailure.SignatureFailure", "content-type and host must be signed")
        canonical_headers = "".join(f"{name}:{(headers.get(name) or '').strip().lower()}\n" for name in signed)
        canonical = "\n".join(["POST", "/", "", canonical_headers, ";".join(signed), hashlib.sha256(body).hexdigest()])
        to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), f"{date}/{service}/tc3_request",
                             hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("TC3" + self.account.keys[secret_id]).encode()
        for part in (date, service, "tc3_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["Signature"]):
            raise ApiFailure("AuthFailure.SignatureFailure", "The provided credentials could not be validated. "
                             "Please check your signature is correct.")
        return service

    def handle(self, headers, body: bytes, request_id: str) -> dict[str, Any]:
        service = self._verify(headers, body)
        action = headers.get("X-TC-Action") or ""
        if headers.get("X-TC-Version") != API_VERSIONS.get(service):
            raise ApiFailure("InvalidParameterValue", f"version {headers.get('X-TC-Version')} of {service}")
        params = json.loads(body or b"{}")
        self.account.calls.append((service, action, params))
        cam = f"{CAM_SERVICES.get(service, service)}:{action}"
        if cam in self.account.denied:
            raise ApiFailure(self.account.denied[cam], f"[request id:{request_id}]you are not authorized to perform "
                             f"operation ({cam})\nresource (qcs::{service}:{headers.get('X-TC-Region', '')}:uin/"
                             f"{ACCOUNT}:*) has no permission\n")
        handler = getattr(self, f"_{service}_{action}", None)
        if handler is None:
            raise ApiFailure("InvalidAction", f"{service}:{action} is not served by this fake")
        return handler(params)

    # --- actions ------------------------------------------------------------------------

    def _sts_GetCallerIdentity(self, params):  # noqa: N802
        return dict(self.account.identity)

    def _api_DescribeZones(self, params):  # noqa: N802
        return {"TotalCount": len(self.account.zones), "ZoneSet": self.account.zones}

    def _cvm_DescribeImages(self, params):  # noqa: N802
        images = self.account.images
        if params.get("ImageIds"):
            images = [i for i in images if i["ImageId"] in params["ImageIds"]]
        for flt in params.get("Filters") or []:
            if flt["Name"] == "image-type":
                images = [i for i in images if i["ImageType"] in flt["Values"]]
        offset, limit = int(params.get("Offset") or 0), int(params.get("Limit") or 20)
        return {"TotalCount": len(images), "ImageSet": images[offset:offset + limit]}

    def _type_rows(self, filters) -> list[dict[str, Any]]:
        names = {"zone": "Zone", "instance-type": "InstanceType", "instance-charge-type": "InstanceChargeType",
                 "instance-family": "InstanceFamily"}
        rows = self.account.type_rows
        for flt in filters or []:
            rows = [r for r in rows if r[names[flt["Name"]]] in flt["Values"]]
        return rows

    def _cvm_DescribeZoneInstanceConfigInfos(self, params):  # noqa: N802
        return {"InstanceTypeQuotaSet": self._type_rows(params.get("Filters"))}

    def _check_instance(self, params) -> None:
        zone = (params.get("Placement") or {}).get("Zone")
        if zone not in {z["Zone"] for z in self.account.zones if z["ZoneState"] == "AVAILABLE"}:
            raise ApiFailure("InvalidParameterValue.InvalidZone", f"zone {zone} is not available")
        if params.get("ImageId") not in {i["ImageId"] for i in self.account.images}:
            raise ApiFailure("InvalidImageId.NotFound", f"image {params.get('ImageId')} not found")
        rows = self._type_rows([{"Name": "zone", "Values": [zone]},
                                {"Name": "instance-type", "Values": [params.get("InstanceType")]},
                                {"Name": "instance-charge-type", "Values": [params.get("InstanceChargeType")]}])
        if not rows:
            raise ApiFailure("ResourceNotFound.InvalidZoneInstanceType", "The zone does not support this type.")
        if rows[0]["Status"] != "SELL":
            raise ApiFailure("ResourceInsufficient.SpecifiedInstanceType",
                             "The specified instance type is insufficient in stock.")
        size = (params.get("SystemDisk") or {}).get("DiskSize", 50)
        if not 20 <= size <= 1024:
            raise ApiFailure("InvalidParameterValue.InvalidDiskSize", f"system disk size {size} is out of range")
        vpc = params.get("VirtualPrivateCloud")
        if vpc and not any(s["SubnetId"] == vpc.get("SubnetId") and s["Zone"] == zone for s in self.account.subnets):
            raise ApiFailure("InvalidParameterValue.SubnetNotExist", "subnet not in this zone")

    def _cvm_RunInstances(self, params):  # noqa: N802
        if params.get("DryRun") is not True:
            raise ApiFailure("UnsupportedOperation", "this fake never creates instances: send DryRun")
        self._check_instance(params)
        if self.account.instance_quota_left < int(params.get("InstanceCount") or 1):
            raise ApiFailure("LimitExceeded.InstanceQuota", "The instance quota is insufficient.")
        if self.account.balance_fen < self.account.instance_price_yuan * 100:
            raise ApiFailure("InvalidAccount.InsufficientBalance", "Insufficient account balance.")
        raise ApiFailure("DryRunOperation", "DryRun operation, the request would have succeeded.")

    def _cvm_InquiryPriceRunInstances(self, params):  # noqa: N802
        self._check_instance(params)
        return {"Price": {
            "InstancePrice": {"UnitPrice": self.account.instance_price_yuan * 1.25,
                              "UnitPriceDiscount": self.account.instance_price_yuan, "ChargeUnit": "HOUR"},
            "BandwidthPrice": {"UnitPrice": 0.8, "UnitPriceDiscount": 0.8, "ChargeUnit": "GB"}}}

    def _cbs_InquiryPriceCreateDisks(self, params):  # noqa: N802
        return {"DiskPrice": {"UnitPrice": self.account.disk_price_yuan, "UnitPriceDiscount":
                              self.account.disk_price_yuan, "ChargeUnit": "HOUR"}}

    def _vpc_DescribeSubnets(self, params):  # noqa: N802
        subnets = self.account.subnets
        for flt in params.get("Filters") or []:
            if flt["Name"] == "zone":
                subnets = [s for s in subnets if s["Zone"] in flt["Values"]]
        return {"TotalCount": len(subnets), "SubnetSet": subnets[: int(params.get("Limit") or 20)]}

    def _empty(key: str, count: str | None = "TotalCount"):  # noqa: N805 (a factory used in the class body)
        def answer(self, params):
            return {key: [], **({count: 0} if count else {})}
        return answer

    _cvm_DescribeKeyPairs = _empty("KeyPairSet")
    _vpc_DescribeVpcs = _empty("VpcSet")
    _vpc_DescribeSecurityGroups = _empty("SecurityGroupSet")
    _cbs_DescribeDisks = _empty("DiskSet")
    _cbs_DescribeAutoSnapshotPolicies = _empty("AutoSnapshotPolicySet")
    _cbs_DescribeSnapshots = _empty("SnapshotSet")
    _tag_DescribeResourceTagsByResourceIds = _empty("Tags")
    _postgres_DescribeDBInstances = _empty("DBInstanceSet")

    def _cvm_DescribeInstances(self, params):  # noqa: N802
        instances = self.account.instances
        for flt in params.get("Filters") or []:
            if flt["Name"] == "instance-name":
                instances = [i for i in instances if i["InstanceName"] in flt["Values"]]
        return {"TotalCount": len(instances), "InstanceSet": instances[: int(params.get("Limit") or 20)]}

    def _vpc_DescribeSecurityGroupPolicies(self, params):  # noqa: N802
        raise ApiFailure("ResourceNotFound", f"security group {params.get('SecurityGroupId')} does not exist")

    def _dnspod_DescribeDomain(self, params):  # noqa: N802
        info = self.account.domains.get(params.get("Domain"))
        if info is None:
            raise ApiFailure("ResourceNotFound.NoDataOfDomain", "The domain does not exist under this account.")
        return {"DomainInfo": info}

    def _dnspod_DescribeRecordList(self, params):  # noqa: N802
        if params.get("Domain") not in self.account.domains:
            raise ApiFailure("ResourceNotFound.NoDataOfDomain", "The domain does not exist under this account.")
        raise ApiFailure("ResourceNotFound.NoDataOfRecord", "The record list is empty.")

    def _ssl_DescribeCertificates(self, params):  # noqa: N802
        offset, limit = int(params.get("Offset") or 0), int(params.get("Limit") or 10)
        certificates = self.account.certificates
        return {"TotalCount": len(certificates), "Certificates": certificates[offset:offset + limit]}

    def _billing_DescribeAccountBalance(self, params):  # noqa: N802
        fen = self.account.balance_fen
        return {"Balance": int(fen), "Uin": int(ACCOUNT), "RealBalance": fen, "CashAccountBalance": fen,
                "IncomeIntoAccountBalance": 0.0, "PresentAccountBalance": 0.0, "FreezeAmount": 0.0,
                "OweAmount": 0.0, "IsAllowArrears": False, "IsCreditLimited": False, "CreditAmount": 0.0,
                "CreditBalance": fen, "RealCreditBalance": fen}

    def _postgres_DescribeProductConfig(self, params):  # noqa: N802
        return {"SpecInfoList": [{"Region": "ap-guangzhou", "Zone": params.get("Zone"),
                                  "SpecItemInfoList": self.account.postgres_specs}]}
