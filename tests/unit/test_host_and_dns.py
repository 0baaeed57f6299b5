"""The program under mocks: host resources, security group, DNS, protection, secrets."""

from __future__ import annotations

import re

import pytest

from components.host import host_name, key_pair_name
from tests.harness import FAKE_PUBLIC_IP, LAB_HOST_KEY, TEST_SECRETS, is_secret, run_stack

TENCENT = "tencentcloud:"
RULE_SET = "tencentcloud:Security/groupRuleSet:GroupRuleSet"
INSTANCE = "tencentcloud:Instance/instance:Instance"
DISK = "tencentcloud:Cbs/storage:Storage"
RECORD = "tencentcloud:Dnspod/record:Record"


@pytest.fixture(scope="module")
def dev():
    return run_stack("dev")


@pytest.fixture(scope="module")
def prod():
    return run_stack("prod")


@pytest.fixture(scope="module")
def lab():
    return run_stack("lab")


def test_dev_builds_a_closed_network_around_one_cvm_with_a_data_disk(dev):
    for type_ in ("tencentcloud:Vpc/instance:Instance", "tencentcloud:Subnet/instance:Instance",
                  "tencentcloud:Security/group:Group", RULE_SET, "tencentcloud:Key/pair:Pair", INSTANCE, DISK,
                  "tencentcloud:Cbs/storageAttachment:StorageAttachment"):
        dev.one(type_)
    cvm = dev.one(INSTANCE).inputs
    disk = dev.one(DISK).inputs
    subnet = dev.one("tencentcloud:Subnet/instance:Instance").inputs
    # The zone lookup skips the unavailable zone the mock lists first.
    assert cvm["availabilityZone"] == disk["availabilityZone"] == subnet["availabilityZone"] == "ap-guangzhou-6"
    assert cvm["allocatePublicIp"] is True and cvm["internetMaxBandwidthOut"] == 10
    assert cvm["instanceType"] == "S5.MEDIUM8"  # looked up from cpu/memory, standard family preferred
    assert cvm["imageId"] == "img-487zeit5"
    assert cvm["orderlySecurityGroups"] == ["nexus-host-sg-id"]
    assert cvm["keyIds"] == ["nexus-host-key-pair-id"]
    assert disk["storageSize"] == 50
    attachment = dev.one("tencentcloud:Cbs/storageAttachment:StorageAttachment").inputs
    assert attachment == {"storageId": "nexus-host-data-disk-id", "instanceId": "nexus-host-cvm-id"}


def test_explicit_instance_type_and_zone_skip_the_lookups(prod):
    cvm = prod.one(INSTANCE).inputs
    assert cvm["instanceType"] == "S5.LARGE16" and cvm["availabilityZone"] == "ap-guangzhou-6"
    tokens = {token for token, _ in prod.invokes}
    assert "tencentcloud:Instance/getTypes:getTypes" not in tokens
    assert "tencentcloud:Availability/getZonesByProduct:getZonesByProduct" not in tokens


def test_security_group_rules_are_exactly_ssh_from_admins_and_web_from_anywhere(dev):
    rules = dev.one(RULE_SET).inputs
    ingress = sorted((r["action"], r["protocol"], r["port"], r["cidrBlock"]) for r in rules["ingresses"])
    assert ingress == sorted([
        ("ACCEPT", "TCP", "22", "58.246.10.0/24"),
        ("ACCEPT", "TCP", "80", "0.0.0.0/0"),
        ("ACCEPT", "TCP", "443", "0.0.0.0/0"),
        ("ACCEPT", "TCP", "8443", "0.0.0.0/0"),  # the anonymous Docker Hub mirror (registryMirrorPort)
        ("ACCEPT", "TCP", "443", "10.70.0.0/16"),  # the private path: clients in the stack's VPC
        ("ACCEPT", "TCP", "8443", "10.70.0.0/16"),
        ("DROP", "ALL", "ALL", "0.0.0.0/0"),
    ])
    # Tencent evaluates rules in order: the catch-all drop must come last.
    assert rules["ingresses"][-1]["action"] == "DROP"
    assert rules["securityGroupId"] == "nexus-host-sg-id"


def test_the_mirror_port_follows_its_setting_allow_list_and_anonymous_pull():
    run = run_stack("dev", {"registryMirrorPort": 5443,
                            "registryMirrorAllowedCidrs": ["101.33.7.0/24", "240e:3b7::/32"]})
    mirror = [r for r in run.one(RULE_SET).inputs["ingresses"]
              if r["port"] == "5443" and r.get("cidrBlock") != "10.70.0.0/16"]  # the private path's rule aside
    assert [(r.get("cidrBlock"), r.get("ipv6CidrBlock")) for r in mirror] == [
        ("101.33.7.0/24", None), (None, "240e:3b7::/32")]
    private = run_stack("dev", {"nexus": {"version": "3.86.2", "anonymousPull": False}})
    ports = {r["port"] for r in private.one(RULE_SET).inputs["ingresses"]}
    assert ports == {"22", "80", "443", "ALL"}


def test_every_admin_cidr_gets_ssh_and_nothing_else(dev):
    server = {"mode": "cvm", "cpu": 2, "memoryGb": 8, "sshAllowedCidrs": ["101.33.7.0/24", "240e:3b7:1234::/48"]}
    run = run_stack("dev", {"server": server})
    ssh = [r for r in run.one(RULE_SET).inputs["ingresses"] if r["port"] == "22"]
    assert [r.get("cidrBlock") for r in ssh] == ["101.33.7.0/24", None]
    assert [r.get("ipv6CidrBlock") for r in ssh] == [None, "240e:3b7:1234::/48"]


def test_dns_records_point_both_hostnames_at_the_host(dev):
    records = {r.inputs["subDomain"]: r.inputs for r in dev.of_type(RECORD)}
    assert set(records) == {"nexus", "docker-registry"}
    for record in records.values():
        assert record["domain"] == "widgets-inc.cn" and record["recordType"] == "A"
        assert record["value"] == FAKE_PUBLIC_IP
    assert dev.outputs["publicIp"] == FAKE_PUBLIC_IP


def test_custom_host_labels_are_used_for_records():
    run = run_stack("dev", {"webHost": "repo", "registryHost": "cr"})
    assert {r.inputs["subDomain"] for r in run.of_type(RECORD)} == {"repo", "cr"}
    assert run.outputs["webUrl"] == "https://repo.widgets-inc.cn"


def test_dns_none_creates_no_record():
    run = run_stack("dev", {"dns": "none"})
    assert run.of_type(RECORD) == []


def test_prod_protects_and_retains_the_instance_and_data_disk(prod, dev):
    for stateful in (INSTANCE, DISK):
        assert prod.one(stateful).opts.protect is True
        assert prod.one(stateful).opts.retain_on_delete is True
        assert not dev.one(stateful).opts.protect
    assert prod.one(INSTANCE).inputs["disableApiTermination"] is True
    # Nothing else needs protection: it can all be rebuilt.
    protected = {r.name for r in prod.resources if r.opts is not None and r.opts.protect}
    assert protected == {"nexus-host-cvm", "nexus-host-data-disk"}


def test_generated_private_key_is_secret_in_state_and_outputs(dev):
    key = dev.named("nexus-host-ssh-key")
    assert is_secret(key.resource.private_key_openssh)
    host = dev.one("nexus-registry:host:NexusHost").resource
    assert is_secret(host.connection.private_key)
    assert (key.inputs["algorithm"], key.inputs["rsaBits"]) == ("RSA", 4096)
    # The key pair imported into Tencent gets only the public half.
    assert dev.one("tencentcloud:Key/pair:Pair").inputs["publicKey"].startswith("ssh-rsa ")
    # Only the sshPrivateKey output (for make ssh) holds it, and as a secret.
    assert is_secret(host.generated_private_key)
    assert "sshPrivateKey" in dev.secret_outputs
    for name, value in dev.outputs.items():
        assert "PRIVATE KEY" not in str(value) or name == "sshPrivateKey", name


def test_lab_registers_no_tencent_resource(lab):
    assert [r.type for r in lab.resources if r.type.startswith(TENCENT)] == []
    assert lab.invokes == []
    assert lab.outputs["publicIp"] == "10.0.8.15"
    assert lab.outputs["ssh"] == "ssh root@10.0.8.15"


def test_existing_server_key_and_port_reach_the_connection():
    run = run_stack("lab", {"server": {"mode": "existing", "address": "10.0.8.20", "port": 2222, "user": "deploy",
                                   "hostKey": LAB_HOST_KEY}})
    host = run.one("nexus-registry:host:NexusHost").resource
    assert is_secret(host.connection.private_key)
    assert run.outputs["ssh"] == "ssh -p 2222 deploy@10.0.8.20"
    assert TEST_SECRETS["nexus-registry:sshPrivateKey"] not in str(run.outputs)


STACK_NAMES = ["dev", "prod", "lab", "a-very-long-stack-name-for-testing", "platform_team_registry_staging_eu",
               "platform-team-a", "platform-team-b", "___"]


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_key_pair_name_meets_tencent_constraints(stack):
    # tencentcloud/common/validators.go ValidateKeyPairName: 1-25 of [a-zA-Z0-9_]
    name = key_pair_name("nexus-registry", stack)
    assert re.fullmatch(r"[A-Za-z0-9_]{1,25}", name), name


def test_key_pair_names_are_unique_per_project_and_stack():
    """Key pair names are unique per account: two stacks (or two projects) must not share one."""
    names = {key_pair_name(project, stack) for project in ("nexus-registry", "other-project") for stack in STACK_NAMES}
    assert len(names) == 2 * len(STACK_NAMES)
    assert key_pair_name("nexus-registry", "platform-team-a") != key_pair_name("nexus-registry", "platform-team-b")
    assert key_pair_name("nexus-registry", "dev").startswith("nexus_dev_")


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_hostname_is_what_run_instances_accepts(stack):
    # RunInstances HostName (Linux): letters, digits, '.', '-'; no '_', no leading/trailing '-' or '.'.
    name = host_name(stack)
    assert re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", name) and 2 <= len(name) <= 15, name
    assert "--" not in name


def test_a_stack_name_with_underscores_gets_a_valid_hostname():
    run = run_stack("dev", stack_name="team_a_registry")
    assert run.one(INSTANCE).inputs["hostname"] == "nexus-team-a-re"


def test_resource_names_meet_tencent_constraints(dev, prod):
    long_stack = run_stack("dev", {"backup": {"retainDays": 3}, "nexus": {"version": "3.93.2-java17-ubi"}},
                           stack_name="platform-team-registry-staging-eu")
    for run in (dev, prod, long_stack):
        for registered in run.resources:
            for key in ("name", "instanceName", "storageName", "snapshotName", "snapshotPolicyName"):
                value = registered.inputs.get(key)
                if registered.type.startswith("tencentcloud:") and isinstance(value, str):
                    assert len(value) <= 60, (registered.name, key, value)
        cvm = run.one(INSTANCE).inputs
        # Linux hostnames: 2-60 of letters, digits, '.', '-'; instance names at most 60 characters.
        assert re.fullmatch(r"[A-Za-z0-9.-]{2,60}", cvm["hostname"])
        assert len(cvm["instanceName"]) <= 60
        assert len(run.one(DISK).inputs["storageName"]) <= 60
        assert re.fullmatch(r"[A-Za-z0-9_]{1,25}", run.one("tencentcloud:Key/pair:Pair").inputs["keyName"])
        for record in run.of_type(RECORD):
            assert record.inputs["recordLine"] == "默认"


def test_ubuntu_images_log_in_as_ubuntu_others_as_root():
    rocky = run_stack("dev", {"server": {"mode": "cvm", "cpu": 2, "memoryGb": 8, "image": "rocky-9",
                                         "sshAllowedCidrs": ["58.246.10.0/24"]}})
    assert rocky.outputs["ssh"] == f"ssh root@{FAKE_PUBLIC_IP}"
    image_lookup = [args for token, args in rocky.invokes if token == "tencentcloud:Image/getInstance:getInstance"]
    assert image_lookup and image_lookup[0]["imageNameRegex"].startswith("^Rocky")
