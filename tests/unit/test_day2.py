"""Day-2 operations under mocks: backups, upgrades, client set-up outputs."""

from __future__ import annotations

import json

import pytest

from components.upgrade import check_version_change, version_key
from tests.harness import run_stack
from tests.support.stack_outputs import SNAPSHOT, deployed

POLICY = "tencentcloud:Cbs/snapshotPolicy:SnapshotPolicy"
POLICY_ATTACHMENT = "tencentcloud:Cbs/snapshotPolicyAttachment:SnapshotPolicyAttachment"


@pytest.fixture(scope="module")
def prod():
    return run_stack("prod")


def test_prod_snapshots_the_data_disk_daily(prod):
    policy = prod.one(POLICY).inputs
    assert sorted(policy["repeatWeekdays"]) == [0, 1, 2, 3, 4, 5, 6]
    assert policy["repeatHours"] == [3] and policy["retentionDays"] == 14
    attachment = prod.one(POLICY_ATTACHMENT).inputs
    assert attachment == {"snapshotPolicyId": "nexus-backups-policy-id", "storageId": "nexus-host-data-disk-id"}


def test_backups_default_to_seven_days_in_prod_and_off_in_dev():
    assert run_stack("prod", {"backup": None}).one(POLICY).inputs["retentionDays"] == 7
    dev = run_stack("dev")
    assert dev.of_type(POLICY) == [] and dev.of_type(POLICY_ATTACHMENT) == []


def test_backups_can_be_turned_on_in_dev_and_off_in_prod():
    assert run_stack("dev", {"backup": {"retainDays": 3, "hour": 22}}).one(POLICY).inputs["repeatHours"] == [22]
    off = run_stack("prod", {"backup": {"retainDays": 0}})
    assert off.of_type(POLICY) == [] and off.of_type(POLICY_ATTACHMENT) == []


def test_existing_servers_have_no_cloud_snapshots():
    lab = run_stack("lab")
    assert lab.of_type(POLICY) == [] and lab.of_type(SNAPSHOT) == []


def test_a_version_change_takes_a_fresh_snapshot_and_keeps_the_old_one(prod):
    snapshot = prod.one(SNAPSHOT)
    assert snapshot.inputs["snapshotName"] == "nexus-registry-prod-pre-3.98.0"
    assert snapshot.inputs["storageId"] == "nexus-host-data-disk-id"
    assert "snapshotName" in snapshot.opts.replace_on_changes
    assert snapshot.opts.retain_on_delete is True
    upgraded = run_stack("prod", {"nexus": {"version": "3.95.2"}}, extra_outputs=deployed("3.93.2"))
    assert upgraded.one(SNAPSHOT).inputs["snapshotName"] == "nexus-registry-prod-pre-3.95.2"


def test_a_downgrade_is_refused_with_the_key_named():
    with pytest.raises(Exception, match=r"nexus-registry:nexus.version: '3.98.0' is older than the deployed '3.99.1'"):
        run_stack("prod", extra_outputs=deployed("3.99.1"))


def test_a_downgrade_after_a_restore_is_accepted_when_asked_for():
    run = run_stack("prod", {"nexus": {"version": "3.93.2", "allowDowngrade": True}}, extra_outputs=deployed("3.95.0"))
    assert run.outputs["nexusVersion"] == "3.93.2"


@pytest.mark.parametrize("deployed_version, desired, allowed", [
    (None, "3.93.2", True),
    ("3.86.2", "3.86.2", True),
    ("3.87.0", "3.93.2", True),
    ("3.86.2-01", "3.86.2", True),  # an output written when build suffixes were still accepted
    ("3.86.2", "3.86.2-java17", True),
    ("3.86.2", "3.86.1", False),
    ("3.86.2", "3.70.4", False),
    ("4.0.0", "3.99.9", False),
])
def test_version_change_rules(deployed_version, desired, allowed):
    if allowed:
        assert check_version_change(deployed_version, desired) == desired
    else:
        with pytest.raises(ValueError, match="do not downgrade"):
            check_version_change(deployed_version, desired)


@pytest.mark.parametrize("deployed_version, desired", [("3.86.2", "3.87.0"), ("3.76.1", "3.93.2")])
def test_crossing_3_87_needs_the_caps_acknowledgement(deployed_version, desired):
    with pytest.raises(ValueError) as refused:
        check_version_change(deployed_version, desired)
    message = str(refused.value)
    assert message.startswith("nexus-registry:nexus.version: ") and "\n" not in message
    assert "40,000 components" in message and "nexus.acceptCommunityCaps: true" in message
    assert check_version_change(deployed_version, desired, accept_community_caps=True) == desired
    # A new stack has no caps to lose; a stack already past 3.87 crosses nothing.
    assert check_version_change(None, desired) == desired
    assert check_version_change("3.87.0", "3.93.2") == "3.93.2"


def test_advisories_name_the_cves_of_a_pinned_release():
    from components.upgrade import advisories

    old = " ".join(advisories("3.86.2"))
    assert "CVE-2026-3199" in old and "fixed in 3.91.0" in old and "no SSRF protection API" in old
    assert advisories("3.90.2") and any("CVE-2026-3199" in line for line in advisories("3.90.2"))
    assert not any("CVE-2026-3199" in line or "SSRF" in line for line in advisories("3.93.2"))
    assert any("CVE-2026-113369" in line for line in advisories("3.95.2"))



@pytest.mark.parametrize("cve", ["CVE-2026-17603", "CVE-2026-17601", "CVE-2026-17600", "CVE-2026-17599",
                                 "CVE-2026-17593", "CVE-2026-17594", "CVE-2026-17595", "CVE-2026-17596",
                                 "CVE-2026-17597", "CVE-2026-17598", "CVE-2026-14644"])
def test_the_2026_08_07_advisories_warn_up_to_their_fix_in_3_95_0(cve):
    from components.upgrade import advisories

    assert any(cve in line and "fixed in 3.95.0" in line for line in advisories("3.94.1"))
    assert not any(cve in line for line in advisories("3.95.0"))


def test_the_default_release_is_clear_of_every_advisory_that_touches_a_stack():
    from components.settings import DEFAULT_NEXUS_VERSION
    from components.upgrade import advisories

    assert any("CVE-2026-113370" in line and "Reindex Search by Pattern" in line for line in advisories("3.90.0"))
    assert not any("CVE-2026-113370" in line for line in advisories("3.89.1") + advisories("3.98.0"))
    assert any("CVE-2026-17603" in line and "connection-pool" in line for line in advisories("3.93.2"))
    assert advisories(DEFAULT_NEXUS_VERSION) == []
    # HuggingFace proxies only (3.96.0 - 3.98.x): logged, never a warning, since no stack creates one.
    assert [line for line in advisories(DEFAULT_NEXUS_VERSION, applicable=False) if "CVE-2026-136957" in line]
    assert not any("CVE-2026-136957" in line for line in advisories("3.97.1"))
    assert not advisories("3.99.0", applicable=False)


def test_version_key_orders_numerically():
    assert version_key("3.100.0") > version_key("3.99.9")


def test_client_setup_outputs_are_ready_to_paste_and_plain(prod):
    outputs, secret = prod.outputs, prod.secret_outputs
    assert outputs["dockerLogin"] == "docker login docker-registry.widgets-inc.cn --username ci --password-stdin"
    assert json.loads(outputs["dockerDaemonJson"]) == {"registry-mirrors": ["https://docker-registry.widgets-inc.cn:8443"]}
    assert outputs["pipIndexUrl"] == "https://nexus.widgets-inc.cn/repository/pypi-proxy/simple"
    repo = outputs["yumRepo"]
    assert "baseurl=https://nexus.widgets-inc.cn/repository/yum-proxy/$releasever/BaseOS/$basearch/os/" in repo
    assert "gpgcheck=1" in repo
    # Any EL client verifies with Rocky's key fetched through the proxy (only Rocky ships it locally).
    assert "gpgkey=https://nexus.widgets-inc.cn/repository/yum-proxy/RPM-GPG-KEY-Rocky-$releasever" in repo
    assert "file:///etc/pki" not in repo and "TencentOS Server 3/4, OpenCloudOS 8/9" in repo
    el9 = repo.replace("$releasever", "9")  # README's substitution for non-Rocky clients
    assert "baseurl=https://nexus.widgets-inc.cn/repository/yum-proxy/9/AppStream/$basearch/os/" in el9
    assert "dockerCaPath" not in outputs
    for name in ("dockerLogin", "dockerDaemonJson", "pipIndexUrl", "yumRepo", "webUrl", "registryHost"):
        assert name not in secret, name
    everything = json.dumps({k: v for k, v in outputs.items() if k not in secret})
    assert secret == {"sshPrivateKey"}  # the generated key, for make ssh; nothing else
    assert "Correct-Horse-Battery-9" not in everything and "PRIVATE KEY" not in everything


def test_client_setup_follows_the_settings():
    run = run_stack("dev", {"registryHost": "cr", "nexus": {"pypiProxy": False, "yumProxy": False},
                            "users": [{"name": "reader", "role": "pull"}, {"name": "builder", "role": "push"}],
                            "userPasswords": {"reader": "Reader-Password-1", "builder": "Builder-Password-2"}})
    assert run.outputs["dockerLogin"] == "docker login cr.widgets-inc.cn --username builder --password-stdin"
    assert "pipIndexUrl" not in run.outputs and "yumRepo" not in run.outputs
    assert "Builder-Password-2" not in json.dumps(run.outputs)
    private = run_stack("dev", {"nexus": {"anonymousPull": False}, "registryMirrorPort": 5443})
    assert "dockerDaemonJson" not in private.outputs  # no anonymous mirror: the daemon has no way in
    mirror = run_stack("dev", {"registryMirrorPort": 5443})
    assert json.loads(mirror.outputs["dockerDaemonJson"]) == {"registry-mirrors": ["https://docker-registry.widgets-inc.cn:5443"]}
    lab = run_stack("lab")
    assert lab.outputs["dockerCaPath"] == "/etc/docker/certs.d/docker-registry.nexushub.lab/ca.crt"


def test_deployed_version_is_exported_for_the_next_update(prod):
    assert prod.outputs["nexusVersion"] == "3.98.0"


def test_the_pre_upgrade_snapshot_comes_before_any_nexus_step(prod):
    backups = prod.one("nexus-registry:backup:DataDiskBackups").resource
    for step in ("nexus-server-prepare", "nexus-server-container"):
        assert backups in prod.named(step).opts.depends_on, step
