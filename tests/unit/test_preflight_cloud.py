"""The preflight against the Tencent Cloud API: the official SDK signs and sends real requests to a local
API 3.0 endpoint (tests/tencent_api_fake.py), which answers as the documentation says the cloud does."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest

from components.preflight.cli import run
from tests import harness
from tests.registry_stub import RegistryStub
from tests.support.preflight import ENV, NEXUS, stack_file
from tests.tencent_api_fake import FakeAccount, FakeTencentCloud


@pytest.fixture(autouse=True)
def _sdk_models_know_every_field():
    """The SDK warns "fileds are useless" for a field its models lack: the fake must not invent any."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*fileds are useless")
        yield


@pytest.fixture
def registry():
    with RegistryStub(NEXUS) as stub:
        yield stub


def preflight(path: Path, cloud: FakeTencentCloud, registry: RegistryStub, env=None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(path, ENV if env is None else env, api_endpoint=cloud.endpoint, api_scheme="http",
               registry=registry.url, backend_url="", out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_a_ready_account_passes_and_every_check_was_asked_of_the_api(tmp_path, registry):
    with FakeTencentCloud() as cloud:
        code, out, err = preflight(stack_file(tmp_path), cloud, registry)
    assert (code, err) == (0, ""), err
    assert "Tencent Cloud key of qcs::cam::uin/100000000001:uin/100000000011" in out
    assert "preflight: passed" in out
    asked = {(service, action) for service, action, _ in cloud.account.calls}
    assert {("sts", "GetCallerIdentity"), ("api", "DescribeZones"), ("cvm", "DescribeImages"),
            ("cvm", "DescribeZoneInstanceConfigInfos"), ("cvm", "RunInstances"), ("dnspod", "DescribeDomain"),
            ("ssl", "DescribeCertificates"), ("billing", "DescribeAccountBalance"),
            ("tag", "DescribeResourceTagsByResourceIds")} <= asked


def test_the_dry_run_is_the_instance_the_stack_creates(tmp_path, registry):
    """Zone, type, newest matching image, disk, charge types and bandwidth as components/host.py registers them."""
    with FakeTencentCloud() as cloud:
        preflight(stack_file(tmp_path), cloud, registry)
    [params] = [p for service, action, p in cloud.account.calls if action == "RunInstances"]
    dev = harness.stack_settings("dev").server
    run_ = harness.run_stack("dev")
    [instance] = [r.inputs for r in run_.resources if r.type == "tencentcloud:Instance/instance:Instance"]
    assert params["DryRun"] is True and params["InstanceCount"] == 1
    assert params["Placement"] == {"Zone": "ap-guangzhou-3"}  # the first AVAILABLE zone, as the program picks
    assert params["InstanceType"] == "S5.MEDIUM8"  # 2 vCPU 8 GB, preferred family first (host.offered_types)
    assert params["ImageId"] == "img-22trbn9x"  # the newest "Ubuntu Server 22.04 LTS 64" image
    assert params["InstanceChargeType"] == instance["instanceChargeType"]
    assert params["SystemDisk"] == {"DiskType": instance["systemDiskType"], "DiskSize": dev.system_disk_gb}
    assert params["InternetAccessible"] == {"InternetChargeType": instance["internetChargeType"],
                                            "InternetMaxBandwidthOut": instance["internetMaxBandwidthOut"],
                                            "PublicIpAssigned": True}
    assert params["HostName"] == instance["hostname"]
    assert params["VirtualPrivateCloud"] == {"VpcId": "vpc-2x5lv4m4", "SubnetId": "subnet-9h8kq1ar"}
    [disk] = [r.inputs for r in run_.resources if r.type == "tencentcloud:Cbs/storage:Storage"]
    [priced] = [p for service, action, p in cloud.account.calls if action == "InquiryPriceCreateDisks"]
    assert priced == {"DiskChargeType": disk["chargeType"], "DiskType": disk["storageType"],
                      "DiskSize": disk["storageSize"]}


def test_missing_credentials_name_each_variable_and_ask_nothing(tmp_path, registry):
    with FakeTencentCloud() as cloud:
        code, _, err = preflight(stack_file(tmp_path), cloud, registry, env={})
    assert code == 2
    lines = err.splitlines()
    assert lines[0].startswith("preflight: TENCENTCLOUD_SECRET_ID: is not set")
    assert lines[1].startswith("preflight: TENCENTCLOUD_SECRET_KEY: is not set")
    assert cloud.account.calls == []


def test_a_wrong_secret_key_is_one_line_from_the_signature_check(tmp_path, registry):
    env = {**ENV, "TENCENTCLOUD_SECRET_KEY": "not-the-secret"}
    with FakeTencentCloud() as cloud:
        code, _, err = preflight(stack_file(tmp_path), cloud, registry, env=env)
    assert code == 2
    problems = [line for line in err.splitlines() if not line.startswith("preflight: 1 problem")]
    assert problems == ["preflight: TENCENTCLOUD_SECRET_KEY: does not match TENCENTCLOUD_SECRET_ID: the signature "
                        "was refused (AuthFailure.SignatureFailure)"]
    assert [action for _, action, _ in cloud.account.calls] == []  # refused before any action ran


def test_an_unknown_key_id(tmp_path, registry):
    env = {**ENV, "TENCENTCLOUD_SECRET_ID": "AKIDsomebodyElse"}
    with FakeTencentCloud() as cloud:
        code, _, err = preflight(stack_file(tmp_path), cloud, registry, env=env)
    assert code == 2 and "preflight: TENCENTCLOUD_SECRET_ID: Tencent Cloud knows no such key" in err


def test_the_root_accounts_key_is_a_warning(tmp_path, registry):
    account = FakeAccount()
    account.identity = {"Arn": "qcs::cam::uin/100000000001:uin/100000000001", "AccountId": "100000000001",
                        "UserId": "100000000001", "PrincipalId": "100000000001", "Type": "RootAccount"}
    with FakeTencentCloud(account) as cloud:
        code, out, err = preflight(stack_file(tmp_path), cloud, registry)
    assert code == 0
    assert "preflight: warning: TENCENTCLOUD_SECRET_ID: is the root account's own key" in err


@pytest.mark.parametrize("cam_action, code", [("cvm:RunInstances", "UnauthorizedOperation"),
                                              ("tag:DescribeResourceTagsByResourceIds",
                                               "AuthFailure.UnauthorizedOperation"),
                                              ("dnspod:DescribeDomain", "AuthFailure.UnauthorizedOperation")])
def test_a_denied_action_names_the_cam_action_to_add(tmp_path, registry, cam_action, code):
    account = FakeAccount(denied={cam_action: code})
    with FakeTencentCloud(account) as cloud:
        status, _, err = preflight(stack_file(tmp_path), cloud, registry)
    assert status == 2
    [line] = [line for line in err.splitlines() if line.startswith(f"preflight: cam:{cam_action}:")]
    assert f"add {cam_action} to the key's CAM policy" in line and code in line


def test_a_preflight_only_action_denied_is_a_warning(tmp_path, registry):
    """The deploy never reads the balance: without finance:DescribeAccountBalance the preflight says what it skipped."""
    account = FakeAccount(denied={"finance:DescribeAccountBalance": "UnauthorizedOperation"})
    with FakeTencentCloud(account) as cloud:
        code, _, err = preflight(stack_file(tmp_path), cloud, registry)
    assert code == 0
    assert "preflight: warning: cam:finance:DescribeAccountBalance: is not allowed" in err


def test_an_instance_type_sold_out_in_the_zone(tmp_path, registry):
    account = FakeAccount()
    for row in account.type_rows:
        if row["InstanceType"] == "S5.LARGE16" and row["Zone"] == "ap-guangzhou-6":
            row["Status"] = "SOLD_OUT"
    with FakeTencentCloud(account) as cloud:
        code, _, err = preflight(stack_file(tmp_path, "prod"), cloud, registry)
    assert code == 2
    assert ("preflight: nexus-registry:server.instanceType: S5.LARGE16 is not on sale POSTPAID_BY_HOUR in "
            "ap-guangzhou-6 (SOLD_OUT)") in err


def test_the_dry_run_refusing_stock(tmp_path, registry):
    """The zone's list says SELL, the dry run says otherwise: the dry run's documented code is reported."""
    with FakeTencentCloud() as cloud:
        original = cloud._cvm_RunInstances

        def sold_out(params):
            from tests.tencent_api_fake import ApiFailure
            raise ApiFailure("ResourceInsufficient.ZoneSoldOutForSpecifiedInstance",
                             "The specified instance type is sold out in the selected zone.")
        cloud._cvm_RunInstances = sold_out
        code, _, err = preflight(stack_file(tmp_path), cloud, registry)
        cloud._cvm_RunInstances = original
    assert code == 2
    assert "preflight: nexus-registry:server.cpu/memoryGb: RunInstances (DryRun) refused S5.MEDIUM8 in " \
           "ap-guangzhou-3" in err
    assert "ResourceInsufficient.ZoneSoldOutForSpecifiedInstance" in err


def test_the_dry_run_refusing_quota(tmp_path, registry):
    with FakeTencentCloud(FakeAccount(instance_quota_left=0)) as cloud:
        code, _, err = preflight(stack_file(tmp_path), cloud, registry)
    assert code == 2 and "preflight: quota: the account's CVM quota is used up (LimitExceeded.InstanceQuota" in err


def test_a_domain_that_is_no_dnspod_zone_of_the_account(tmp_path, registry):
    with FakeTencentCloud(FakeAccount(domains={})) as cloud:
        code, _, err = preflight(stack_file(tmp_path), cloud, registry)
    assert code == 2
    assert ("preflight: nexus-registry:domain: 'widgets-inc.cn' is not a DNSPod zone of this account "
            "(ResourceNotFound.NoDataOfDomain)") in err


def test_no_balance(tmp_path, registry):
    with FakeTencentCloud(FakeAccount(balance_fen=12.0)) as cloud:
        code, _, err = preflight(stack_file(tmp_path), cloud, registry)
    assert code == 2
    assert "preflight: balance: the account's available balance is 0.12 CNY and the first hour of the CVM and " \
           "its data disk costs about 1.02 CNY" in err


def test_free_certificate_quota(tmp_path, registry):
    used = [{"CertificateId": f"cert{n:04d}", "Domain": f"site{n}.widgets-inc.cn", "PackageType": "83",
             "Status": 1, "CertificateType": "SVR"} for n in range(49)]
    with FakeTencentCloud(FakeAccount(certificates=used)) as cloud:
        code, _, err = preflight(stack_file(tmp_path), cloud, registry)
    assert code == 2
    assert "preflight: nexus-registry:certificate: tencent needs 2 new free certificate(s)" in err
    assert "only 1 of the account's 50 free certificates are left" in err


def test_postgresql_size_not_sold_in_the_zone(tmp_path, registry):
    path = stack_file(tmp_path, database={"engine": "postgresql", "version": "16", "memoryGb": 16})
    with FakeTencentCloud() as cloud:
        code, _, err = preflight(path, cloud, registry)
    assert code == 2
    assert ("preflight: nexus-registry:database.memoryGb: 16 GB is not a PostgreSQL 16 size sold in ap-guangzhou-3 "
            "(sold: 2, 4, 8 GB)") in err


def test_the_image_tag_missing_where_the_host_pulls_it(tmp_path):
    path = stack_file(tmp_path, nexus={"version": "3.93.9"})
    with RegistryStub(NEXUS) as registry, FakeTencentCloud() as cloud:
        code, _, err = preflight(path, cloud, registry)
    assert code == 2
    assert "preflight: nexus-registry:nexus.version: sonatype/nexus3:3.93.9 does not exist on Docker Hub" in err
    # The anonymous token flow was followed: a 401 challenge, a token, then the manifest with it.
    assert [(m, p) for m, p, _ in registry.requests][:3] == [
        ("HEAD", "/v2/sonatype/nexus3/manifests/3.93.9"), ("GET", "/token"),
        ("HEAD", "/v2/sonatype/nexus3/manifests/3.93.9")]


def test_an_unexpected_api_error_is_one_line_too(tmp_path, registry):
    with FakeTencentCloud() as cloud:
        def busy(params):
            from tests.tencent_api_fake import ApiFailure
            raise ApiFailure("RequestLimitExceeded", "Your current request times equals to `20` in a second.")
        cloud._api_DescribeZones = busy
        code, _, err = preflight(stack_file(tmp_path), cloud, registry)
    assert code == 2
    assert "preflight: tencentcloud: the API answered RequestLimitExceeded: Your current request times" in err
    assert "Traceback" not in err


def test_a_deployed_stack_is_not_stopped_by_what_only_a_new_cvm_needs(tmp_path, registry):
    """Updating prod creates no CVM: a type sold out since, or a full quota, is a warning then; a missing
    permission still stops it."""
    label = harness.stack_settings("prod").resource_label
    account = FakeAccount(instance_quota_left=0, instances=[{
        "InstanceId": "ins-7pq3x2ab", "InstanceName": label, "InstanceType": "S5.LARGE16",
        "Placement": {"Zone": "ap-guangzhou-6"}, "InstanceState": "RUNNING"}])
    with FakeTencentCloud(account) as cloud:
        code, _, err = preflight(stack_file(tmp_path, "prod"), cloud, registry)
    assert code == 0, err
    assert "preflight: warning: quota: the account's CVM quota is used up" in err
    assert "this stack's CVM ins-7pq3x2ab exists already" in err
    account.denied["cvm:DescribeKeyPairs"] = "UnauthorizedOperation"
    with FakeTencentCloud(account) as cloud:
        code, _, err = preflight(stack_file(tmp_path, "prod"), cloud, registry)
    assert code == 2 and "preflight: cam:cvm:DescribeKeyPairs:" in err
