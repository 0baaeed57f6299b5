"""Cloud Monitor alarms (components.monitoring) under the mocks: inputs the provider's schema accepts.

terraform-provider-tencentcloud v1.82.42, ``tencentcloud/services/monitor/``:
resource_tc_monitor_alarm_notice.go, resource_tc_monitor_alarm_policy.go,
resource_tc_monitor_policy_binding_object.go.
"""

from __future__ import annotations

import json

import pytest

from tests.harness import run_stack
from tests.two_runs import run_twice

NOTICE = "tencentcloud:Monitor/alarmNotice:AlarmNotice"
POLICY = "tencentcloud:Monitor/alarmPolicy:AlarmPolicy"
BINDING = "tencentcloud:Monitor/policyBindingObject:PolicyBindingObject"
INSTANCE = "tencentcloud:Instance/instance:Instance"
NOTICE_WAYS = {"EMAIL", "SMS", "CALL", "WECHAT", "RTX"}  # alarm_notice.go notice_way


def resource_id(run, type_: str) -> str:
    registered = run.one(type_)
    return run.states[(type_, registered.name)][0]


@pytest.fixture(scope="module")
def dev():
    return run_stack("dev", {"alerts": {"camUserIds": [100012345678], "camGroupIds": [42],
                                        "notifyWays": ["EMAIL", "SMS"]}})


def test_the_notice_reaches_users_and_groups_around_the_clock(dev):
    notice = dev.one(NOTICE).inputs
    assert notice["name"] and len(notice["name"]) <= 60  # "Notification template name within 60"
    assert notice["noticeType"] == "ALL" and notice["noticeLanguage"] in ("zh-CN", "en-US")
    receivers = {n["receiverType"]: n for n in notice["userNotices"]}
    assert set(receivers) == {"USER", "GROUP"}
    assert receivers["USER"]["userIds"] == [100012345678] and receivers["GROUP"]["groupIds"] == [42]
    for entry in notice["userNotices"]:
        assert 0 <= entry["startTime"] <= entry["endTime"] <= 86399  # seconds since 00:00:00
        assert set(entry["noticeWays"]) == {"EMAIL", "SMS"} <= NOTICE_WAYS
        assert entry["weekdays"] == [1, 2, 3, 4, 5, 6, 7]


def test_the_policy_watches_cpu_memory_disk_at_80_and_90_and_the_outage_events(dev):
    policy = dev.one(POLICY).inputs
    assert (policy["monitorType"], policy["namespace"], policy["projectId"]) == ("MT_QCE", "cvm_device", 0)
    assert len(policy["remark"]) <= 100 and policy["conditions"]["isUnionRule"] in (0, 1)
    rules = {(r["metricName"], r["value"]) for r in policy["conditions"]["rules"]}
    assert rules == {(m, v) for m in ("CpuUsage", "MemUsage", "CvmDiskUsage") for v in ("80", "90")}
    assert all(r["operator"] == "ge" and r["period"] == 60 for r in policy["conditions"]["rules"])
    assert [e["metricName"] for e in policy["eventConditions"]] == ["ping_unreachable", "disk_readonly",
                                                                    "guest_reboot"]
    assert policy["noticeIds"] == [resource_id(dev, NOTICE)]


def test_the_policy_is_bound_to_the_instance(dev):
    binding = dev.one(BINDING).inputs
    assert binding["policyId"] == resource_id(dev, POLICY)  # the provider's Create sets the policy id as the id
    [dimension] = binding["dimensions"]
    assert json.loads(dimension["dimensionsJson"]) == {"unInstanceId": resource_id(dev, INSTANCE)}


@pytest.mark.parametrize("stack, overrides", [("dev", {}), ("lab", {"alerts": {"camUserIds": [100012345678]}})])
def test_no_receiver_or_no_instance_no_cloud_alarm(stack, overrides):
    run = run_stack(stack, overrides)
    assert run.of_type(NOTICE) == run.of_type(POLICY) == run.of_type(BINDING) == []


def test_a_second_run_changes_no_alarm_and_a_new_receiver_updates_the_notice_in_place():
    alerts = {"alerts": {"camUserIds": [100012345678]}}
    same = run_twice("dev", alerts)
    assert not [s for s in same.steps if s.type in (NOTICE, POLICY, BINDING)]
    more = run_twice("dev", alerts, second_overrides={"alerts": {"camUserIds": [100012345678],
                                                                 "camGroupIds": [42]}})
    changed = {(s.type, s.kind) for s in more.steps if s.type in (NOTICE, POLICY, BINDING)}
    assert changed == {(NOTICE, "update")}  # the policy and its binding stay: nothing replaced
