"""CloudAlarms: Tencent Cloud Monitor alarms on a cvm stack's instance, told to the CAM receivers in ``alerts``.

One notice template (``monitor.AlarmNotice``: the CAM users and user groups of
``alerts.camUserIds``/``camGroupIds``, by ``alerts.notifyWays``, around the clock, for
alarms and recoveries), one alarm policy (``monitor.AlarmPolicy``, namespace
``cvm_device``, monitor type ``MT_QCE``) and its binding to the instance
(``monitor.PolicyBindingObject``, dimension ``unInstanceId``).  Names follow
terraform-provider-tencentcloud v1.82.42 (``services/monitor/resource_tc_monitor_alarm_policy.go``
and its test and ``website/docs/r/monitor_alarm_policy.html.markdown``: ``CpuUsage``,
``MemUsage``, ``CvmDiskUsage``, events ``ping_unreachable``, ``disk_readonly``,
``guest_reboot``).  Each usage metric gets a warning rule at 80 % and a critical one at
90 % (the provider's rule schema has no alarm level, so the two are separate rules, told
apart by their description).  No receiver, no resource; ``server.mode: existing`` has
no instance to watch (its host notifier still runs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
from tencentcloud_iac_pulumi import monitor

from components.settings import Settings

NAMESPACE = "cvm_device"
MONITOR_TYPE = "MT_QCE"
# (metric, what it measures): all three come from the monitoring agent on the instance.
USAGE_METRICS = (("CpuUsage", "CPU usage"), ("MemUsage", "memory usage"), ("CvmDiskUsage", "disk usage"))
LEVELS = (("warning", 80), ("critical", 90))
# Events that mean an outage: ping_unreachable and guest_reboot are seen by the platform,
# disk_readonly by the agent.
EVENTS = (("ping_unreachable", "instance unreachable by ping"), ("disk_readonly", "a disk turned read-only"),
          ("guest_reboot", "the instance rebooted"))
PERIOD_SECONDS = 60
CONTINUE_PERIODS = 5  # five minutes above the threshold: not a short spike
NOTICE_FREQUENCY_SECONDS = 3600  # repeat an ongoing alarm hourly
LAST_SECOND_OF_DAY = 86399  # user_notices start_time/end_time: seconds since 00:00:00, 0-86399


@dataclass(frozen=True)
class CloudAlarmsArgs:
    settings: Settings
    instance_id: pulumi.Input[str]
    region: pulumi.Input[str] | None = None


def notice_args(settings: Settings) -> list[monitor.AlarmNoticeUserNoticeArgs]:
    """One user notice per receiver type: around the clock, every day, by ``alerts.notifyWays``."""
    alerts = settings.alerts
    ways = list(alerts.notify_ways)
    notices = []
    if alerts.cam_user_ids:
        notices.append(monitor.AlarmNoticeUserNoticeArgs(
            receiver_type="USER", start_time=0, end_time=LAST_SECOND_OF_DAY, notice_ways=ways,
            user_ids=list(alerts.cam_user_ids), weekdays=[1, 2, 3, 4, 5, 6, 7]))
    if alerts.cam_group_ids:
        notices.append(monitor.AlarmNoticeUserNoticeArgs(
            receiver_type="GROUP", start_time=0, end_time=LAST_SECOND_OF_DAY, notice_ways=ways,
            group_ids=list(alerts.cam_group_ids), weekdays=[1, 2, 3, 4, 5, 6, 7]))
    return notices


def usage_rules() -> list[monitor.AlarmPolicyConditionsRuleArgs]:
    return [
        monitor.AlarmPolicyConditionsRuleArgs(
            metric_name=metric, period=PERIOD_SECONDS, operator="ge", value=str(percent),
            continue_period=CONTINUE_PERIODS, notice_frequency=NOTICE_FREQUENCY_SECONDS, is_power_notice=0,
            description=f"{level}: {what} at {percent} %")
        for metric, what in USAGE_METRICS for level, percent in LEVELS
    ]


def event_conditions() -> list[monitor.AlarmPolicyEventConditionArgs]:
    return [monitor.AlarmPolicyEventConditionArgs(metric_name=event, description=what) for event, what in EVENTS]


class CloudAlarms(pulumi.ComponentResource):
    """Notice template, alarm policy and its binding to the stack's instance."""

    notice: monitor.AlarmNotice
    policy: monitor.AlarmPolicy
    binding: monitor.PolicyBindingObject

    def __init__(self, name: str, args: CloudAlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nexus-registry:monitoring:CloudAlarms", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        label = settings.resource_label
        self.notice = monitor.AlarmNotice(
            f"{name}-notice",
            name=f"{label}-alarms"[:60],  # "Notification template name within 60"
            notice_type="ALL",  # alarms and recoveries
            notice_language="en-US",
            user_notices=notice_args(settings),
            opts=child,
        )
        self.policy = monitor.AlarmPolicy(
            f"{name}-policy",
            policy_name=f"{label}-nexus",
            monitor_type=MONITOR_TYPE,
            namespace=NAMESPACE,
            project_id=0,  # the default project, where the program creates the instance
            enable=1,
            remark="nexus-registry: CPU, memory, disk, outage events"[:100],
            conditions=monitor.AlarmPolicyConditionsArgs(is_union_rule=0, rules=usage_rules()),
            event_conditions=event_conditions(),
            notice_ids=[self.notice.id],
            opts=child,
        )
        dimensions = pulumi.Output.from_input(args.instance_id).apply(
            lambda instance_id: json.dumps({"unInstanceId": instance_id}))
        self.binding = monitor.PolicyBindingObject(
            f"{name}-binding",
            policy_id=self.policy.id,  # the provider sets the policy id as the resource id
            dimensions=[monitor.PolicyBindingObjectDimensionArgs(dimensions_json=dimensions, region=args.region)],
            opts=child,
        )
        self.register_outputs({"noticeId": self.notice.id, "policyId": self.policy.id})
