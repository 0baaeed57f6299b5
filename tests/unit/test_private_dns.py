"""The private path under mocks: a Private DNS zone in the stack's VPC (made or adopted), and the way in for clients.

The account (tests.mocks.private_dns, after terraform-provider-tencentcloud v1.82.42) holds the
zones; a test gives it a zone before the run (the team's, or another stack's) to see what the
program does with it.
"""

from __future__ import annotations

import logging

import pytest

from components import private_dns
from components import settings as stack_settings
from tests.harness import TencentCloud, run_stack
from tests.mocks.private_dns import RECORD, ZONE, ZONE_VPC_ATTACHMENT
from tests.two_runs import run_twice

RULE_SET = "tencentcloud:Security/groupRuleSet:GroupRuleSet"
PRIVATE_TYPES = {ZONE, ZONE_VPC_ATTACHMENT, RECORD}
TEAM_ZONE = "zone-team0001"


@pytest.fixture(scope="module")
def dev():
    return run_stack("dev")


def test_a_cvm_stack_gets_a_zone_for_its_domain_bound_to_its_vpc_with_both_names(dev):
    zone = dev.one(ZONE)
    assert zone.inputs["domain"] == "widgets-inc.cn"
    assert zone.inputs["remark"] == "nexus-registry nexus-registry/dev"
    # Other names of the domain keep resolving (publicly) inside the VPC.
    assert zone.inputs["dnsForwardStatus"] == "ENABLED"
    records = {r.inputs["subDomain"]: r.inputs for r in dev.of_type(RECORD)}
    assert set(records) == {"nexus", "docker-registry"}
    for record in records.values():
        assert (record["zoneId"], record["recordType"], record["recordValue"]) == (
            "nexus-private-dns-zone-id", "A", "10.70.1.8")  # the CVM's privateIp (mock)
    attachment = dev.one(ZONE_VPC_ATTACHMENT)
    assert attachment.inputs["zoneId"] == "nexus-private-dns-zone-id"
    assert attachment.inputs["vpcSet"] == {"uniqVpcId": "nexus-host-vpc-id", "region": "ap-guangzhou"}
    # Bound after its records, so on delete it is unbound first (Private DNS keeps a bound zone's last record).
    assert {id(r) for r in attachment.opts.depends_on} == {
        id(dev.named(name).resource) for name in ("nexus-private-dns-web", "nexus-private-dns-registry")}
    assert dev.outputs["privateIp"] == "10.70.1.8"
    assert dev.outputs["privateDnsZoneId"] == "nexus-private-dns-zone-id"
    bound = dev.cloud.private_dns.zones["nexus-private-dns-zone-id"]
    assert bound.vpcs == [("nexus-host-vpc-id", "ap-guangzhou")] and len(bound.records) == 2


def test_the_vpc_reaches_https_and_the_mirror_and_nothing_else(dev):
    from_vpc = [(r["port"], r["action"]) for r in dev.one(RULE_SET).inputs["ingresses"]
                if r.get("cidrBlock") == "10.70.0.0/16"]
    assert from_vpc == [("443", "ACCEPT"), ("8443", "ACCEPT")]
    without_mirror = run_stack("dev", {"nexus": {"version": "3.93.2", "anonymousPull": False}})
    assert [r["port"] for r in without_mirror.one(RULE_SET).inputs["ingresses"]
            if r.get("cidrBlock") == "10.70.0.0/16"] == ["443"]


def test_the_private_path_can_be_turned_off_and_existing_servers_never_have_it():
    off = run_stack("dev", {"privateDns": {"enabled": False}})
    assert not off.types() & PRIVATE_TYPES
    assert "privateDnsZoneId" not in off.outputs and off.outputs["privateIp"] == "10.70.1.8"
    assert not [r for r in off.one(RULE_SET).inputs["ingresses"] if r.get("cidrBlock") == "10.70.0.0/16"]
    assert not any(token.startswith("tencentcloud:PrivateDns/") for token, _ in off.invokes)
    lab = run_stack("lab")
    assert not lab.types() & PRIVATE_TYPES and "privateIp" not in lab.outputs


def test_a_team_zone_for_the_domain_stops_the_run_with_one_line_naming_the_setting():
    cloud = TencentCloud()
    cloud.private_dns.add_zone("widgets-inc.cn", TEAM_ZONE, remark="made by hand")
    with pytest.raises(stack_settings.SettingsError) as caught:
        run_stack("dev", cloud=cloud)
    assert caught.value.problems == [
        "nexus-registry:privateDns.zoneId: this account already has a Private DNS zone for widgets-inc.cn "
        f"({TEAM_ZONE}); set privateDns.zoneId: {TEAM_ZONE} to add this stack's VPC and records to it, or "
        "privateDns.enabled: false to leave name resolution in the VPC alone (README: The private path)"]
    assert caught.value.program_run.resources == []  # before any resource


def test_an_adopted_zone_gets_the_stacks_vpc_and_records_and_is_never_made_or_owned():
    cloud = TencentCloud()
    team = cloud.private_dns.add_zone("widgets-inc.cn", TEAM_ZONE, vpcs=[("vpc-runners1", "ap-guangzhou")])
    run = run_stack("dev", {"privateDns": {"zoneId": TEAM_ZONE}}, cloud=cloud)
    assert not run.of_type(ZONE)
    assert {r.inputs["zoneId"] for r in run.of_type(RECORD)} == {TEAM_ZONE}
    assert run.one(ZONE_VPC_ATTACHMENT).inputs["zoneId"] == TEAM_ZONE
    assert team.vpcs == [("vpc-runners1", "ap-guangzhou"), ("nexus-host-vpc-id", "ap-guangzhou")]
    assert sorted(r.sub_domain for r in team.records.values()) == ["docker-registry", "nexus"]
    assert run.outputs["privateDnsZoneId"] == TEAM_ZONE


@pytest.mark.parametrize("zone_id, message", [
    ("zone-nothere1", "nexus-registry:privateDns.zoneId: zone-nothere1 is not a Private DNS zone of widgets-inc.cn "
                      f"in this account (zones of widgets-inc.cn: {TEAM_ZONE}); set one of them"),
])
def test_adopting_a_zone_the_account_lacks_is_refused(zone_id, message):
    cloud = TencentCloud()
    cloud.private_dns.add_zone("widgets-inc.cn", TEAM_ZONE)
    cloud.private_dns.add_zone("other-widgets-inc.cn", "zone-other001")  # the Domain filter is not exact
    with pytest.raises(stack_settings.SettingsError) as caught:
        run_stack("dev", {"privateDns": {"zoneId": zone_id}}, cloud=cloud)
    assert len(caught.value.problems) == 1 and caught.value.problems[0].startswith(message)


def test_a_zone_of_a_similar_domain_or_of_another_stack_is_not_a_conflict():
    cloud = TencentCloud()
    cloud.private_dns.add_zone("old-widgets-inc.cn", "zone-other001")
    cloud.private_dns.add_zone("widgets-inc.cn", "zone-prod0001", remark="nexus-registry nexus-registry/prod")
    run = run_stack("dev", cloud=cloud)
    assert run.one(ZONE).inputs["domain"] == "widgets-inc.cn"  # each stack's VPC has its own zone


def test_a_second_run_changes_nothing_even_when_a_team_zone_appears_meanwhile(caplog):
    caplog.set_level(logging.WARNING)
    twice = run_twice("dev", between=lambda cloud, first: cloud.private_dns.add_zone("widgets-inc.cn", TEAM_ZONE))
    private_steps = [step for step in twice.steps if step.type in PRIVATE_TYPES]
    assert private_steps == [], [str(step) for step in private_steps]
    assert twice.second.one(ZONE).inputs == twice.first.one(ZONE).inputs
    assert f"Private DNS zone {TEAM_ZONE} is also for widgets-inc.cn" in caplog.text


def test_an_adopted_zone_stays_adopted_on_the_next_run():
    cloud = TencentCloud()
    cloud.private_dns.add_zone("widgets-inc.cn", TEAM_ZONE)
    twice = run_twice("dev", {"privateDns": {"zoneId": TEAM_ZONE}}, cloud=cloud)
    assert [str(step) for step in twice.steps if step.type in PRIVATE_TYPES] == []
    assert not twice.second.of_type(ZONE)


def _settings(**private) -> stack_settings.Settings:
    return stack_settings.from_mapping("dev", {
        "nexus-registry:domain": "widgets-inc.cn", "tencentcloud:region": "ap-guangzhou",
        "nexus-registry:server": {"mode": "cvm", "cpu": 2, "memoryGb": 8, "sshAllowedCidrs": ["58.246.10.0/24"]},
        "nexus-registry:adminPassword": "Correct-Horse-Battery-9",
        "nexus-registry:userPasswords": {"ci": "Ci-Push-Password-17"},
        "nexus-registry:privateDns": private,
    })


MINE = private_dns.FoundZone("zone-mine0001", "widgets-inc.cn", "nexus-registry nexus-registry/dev")
TEAMS = private_dns.FoundZone(TEAM_ZONE, "widgets-inc.cn", "")
PROD = private_dns.FoundZone("zone-prod0001", "widgets-inc.cn", "nexus-registry nexus-registry/prod")


def test_plan_zone_keeps_the_stacks_own_zone_and_warns_of_the_teams():
    plan = private_dns.plan_zone
    assert plan(_settings(), [MINE, TEAMS, PROD], "nexus-registry") == private_dns.ZonePlan(None, (TEAM_ZONE,))
    assert plan(_settings(), [PROD], "nexus-registry") == private_dns.ZonePlan(None, ())
    assert plan(_settings(), [], "nexus-registry") == private_dns.ZonePlan(None, ())
    with pytest.raises(stack_settings.SettingsError):
        plan(_settings(), [TEAMS], "nexus-registry")
    adopted = plan(_settings(zoneId=TEAM_ZONE), [TEAMS, PROD], "nexus-registry")
    assert adopted == private_dns.ZonePlan(TEAM_ZONE, ())  # other stacks' zones are theirs, not a warning
    # A stack may also join another stack's zone on purpose.
    assert plan(_settings(zoneId="zone-prod0001"), [TEAMS, PROD], "nexus-registry") == private_dns.ZonePlan(
        "zone-prod0001", (TEAM_ZONE,))


def test_adopting_the_stacks_own_zone_is_refused_before_it_could_delete_it():
    with pytest.raises(stack_settings.SettingsError) as caught:
        private_dns.plan_zone(_settings(zoneId="zone-mine0001"), [MINE, TEAMS], "nexus-registry")
    assert caught.value.problems == [
        "nexus-registry:privateDns.zoneId: zone-mine0001 is this stack's own zone (remark "
        "'nexus-registry nexus-registry/dev'); remove the setting, or the stack would delete the zone it then "
        "adopts (README: The private path)"]
