"""A second ``pulumi up`` against the first one's state: nothing ForceNew or refused changes, nothing precious moves.

Each stack is deployed, then the cloud changes its answers where it can (the
chosen zone stops selling, the chosen instance type sells out) and the stack is
updated with the same config.  The steps the second run plans come from
``tests.provider_rules`` (the provider's ForceNew and Update rules).
"""

from __future__ import annotations

import pytest

from tests.mocks import tencentcloud as tc
from tests.provider_rules import RULES, plan
from tests.two_runs import PRECIOUS, TwoRuns, run_twice

LONG_STACK = "platform_team_registry_staging_eu"  # '_' and more than 25 characters


def cloud_moves_on(cloud: tc.TencentCloud, first, withdraw: bool = False) -> None:
    """What Tencent can do between two updates: stop selling the zone and the type this stack chose
    (sold out, or no longer offered at all)."""
    cvm = first.one(tc.INSTANCE).inputs
    cloud.stop_selling_zone(cvm["availabilityZone"])
    (cloud.withdraw if withdraw else cloud.sell_out)(cvm["instanceType"])


STACKS = {
    "dev": dict(stack="dev"),
    "prod": dict(stack="prod"),
    "long-named": dict(stack="dev", stack_name=LONG_STACK),
    # TencentDB for PostgreSQL follows the host's zone, which its Update refuses to change.
    "dev-postgresql": dict(stack="dev", overrides={"database": {"engine": "postgresql"}}),
}


@pytest.fixture(scope="module", params=[(stack, withdraw) for stack in sorted(STACKS) for withdraw in (False, True)],
                ids=lambda p: f"{p[0]}-{'withdrawn' if p[1] else 'sold-out'}")
def two_runs(request) -> TwoRuns:
    stack, withdraw = request.param
    return run_twice(**STACKS[stack], between=lambda cloud, first: cloud_moves_on(cloud, first, withdraw))


def test_the_second_update_changes_no_force_new_refused_or_disruptive_input(two_runs):
    bad = two_runs.of_kind("replace", "refused", "disruptive")
    assert not bad, "\n".join(map(str, bad))


def test_the_second_update_keeps_instance_data_disk_and_subnet(two_runs):
    for type_ in PRECIOUS:
        first, second = two_runs.first.states, two_runs.second.states
        keys = [key for key in first if key[0] == type_]
        assert keys, type_
        for key in keys:
            assert second[key][0] == first[key][0], f"{key} was replaced"
    assert not two_runs.replaced()


def test_every_tencent_resource_is_checked_against_a_provider_rule(two_runs):
    used = {r.type for r in two_runs.second.resources if r.type.startswith("tencentcloud:")}
    assert used <= set(RULES), used - set(RULES)
    assert tc.FREE_CERTIFICATE in used and tc.INSTANCE in used


def test_the_second_update_records_the_same_placement(two_runs):
    assert two_runs.second.outputs["cvmPlacement"] == two_runs.first.outputs["cvmPlacement"]


def warnings(caplog) -> str:
    """What the program logged with pulumi.log.warn (the mocks hand it to Python logging)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")


def test_a_lookup_that_now_answers_differently_is_logged(caplog):
    runs = run_twice("dev", between=cloud_moves_on)
    err = warnings(caplog)
    assert "availability zone ap-guangzhou-6 is no longer offered for new CVMs; this stack stays there" in err
    assert "a new stack would use ap-guangzhou-7" in err
    assert "instance type S5.MEDIUM8 is not on sale in ap-guangzhou-6 now; this CVM keeps it" in err
    assert runs.second.one(tc.INSTANCE).inputs["availabilityZone"] == "ap-guangzhou-6"


# --- the checks catch the defects they guard against ----------------------------------------


def test_without_the_recorded_placement_the_zone_change_would_replace_host_disk_and_subnet():
    """The old behaviour (a fresh lookup on every run) seen by the same check: it must fail."""
    runs = run_twice("dev", between=cloud_moves_on)
    fresh = run_twice("dev", between=lambda cloud, first: (cloud_moves_on(cloud, first),
                                                          first.outputs.pop("cvmPlacement")))
    assert not runs.replaced()
    assert {type_ for type_, _ in fresh.replaced()} >= PRECIOUS


def test_a_free_certificate_without_the_stored_package_type_is_refused_on_the_next_update():
    """What the provider's Read stores (package_type 83, validity_period 3) against inputs that omit them."""
    runs = run_twice("dev")
    for (type_, name), (_id, state) in runs.first.states.items():
        if type_ != tc.FREE_CERTIFICATE:
            continue
        assert (state["packageType"], state["validityPeriod"]) == ("83", "3")
        old_inputs = {k: v for k, v in runs.second.named(name).inputs.items()
                      if k not in ("packageType", "validityPeriod")}
        refused = {step.key for step in plan(type_, name, state, old_inputs) if step.kind == "refused"}
        assert refused == {"packageType", "validityPeriod"}
        assert not [s for s in runs.steps if s.name == name and s.kind != "update"]


# --- moving on purpose -------------------------------------------------------------------------


def test_an_explicit_zone_moves_the_stack_and_says_what_that_replaces(caplog):
    runs = run_twice("dev", second_overrides={"server": {
        "mode": "cvm", "cpu": 2, "memoryGb": 8, "dataDiskGb": 50, "sshAllowedCidrs": ["58.246.10.0/24"],
        "availabilityZone": "ap-guangzhou-7"}})
    assert {type_ for type_, _ in runs.replaced()} >= PRECIOUS
    assert "moves this stack from ap-guangzhou-6 to ap-guangzhou-7" in warnings(caplog)
    assert runs.second.outputs["cvmPlacement"]["availabilityZone"] == "ap-guangzhou-7"


def test_an_explicit_instance_type_resizes_and_new_cpu_memory_look_up_again():
    server = {"mode": "cvm", "dataDiskGb": 50, "sshAllowedCidrs": ["58.246.10.0/24"]}
    explicit = run_twice("dev", second_overrides={"server": {**server, "instanceType": "SA2.MEDIUM8"}})
    bigger = run_twice("dev", second_overrides={"server": {**server, "cpu": 4, "memoryGb": 16}})
    for runs, wanted in ((explicit, "SA2.MEDIUM8"), (bigger, "S5.LARGE16")):
        steps = {(s.key, s.kind) for s in runs.steps if s.type == tc.INSTANCE}
        assert steps == {("instanceType", "disruptive")}
        assert runs.second.outputs["cvmPlacement"]["instanceType"] == wanted


def test_a_moved_cvm_gets_its_data_disk_detached_before_the_new_attachment():
    """The attachment's ids are ForceNew and Create only attaches: replacement must delete first."""
    runs = run_twice("dev", second_overrides={"server": {
        "mode": "cvm", "cpu": 2, "memoryGb": 8, "dataDiskGb": 50, "sshAllowedCidrs": ["58.246.10.0/24"],
        "availabilityZone": "ap-guangzhou-7"}})
    attachment = runs.second.one(tc.STORAGE_ATTACHMENT)
    assert (tc.STORAGE_ATTACHMENT, attachment.name) in runs.replaced()
    assert attachment.opts.delete_before_replace is True


# --- lookups ------------------------------------------------------------------------------------


def types_lookups(run) -> list[dict]:
    return [args for token, args in run.invokes if token == tc.GET_TYPES]


def test_instance_types_are_looked_up_with_filters_for_the_zone_and_pay_as_you_go():
    run = run_twice("dev").first
    (lookup,) = types_lookups(run)
    assert "availabilityZone" not in lookup, "conflicts with filter in the provider's schema"
    assert sorted((f["name"], tuple(f["values"])) for f in lookup["filters"]) == [
        ("instance-charge-type", ("POSTPAID_BY_HOUR",)), ("zone", ("ap-guangzhou-6",))]
    assert lookup["excludeSoldOut"] is True


def test_a_type_sold_only_prepaid_is_never_picked():
    """DescribeZoneInstanceConfigInfos answers a row per charge type; only pay-as-you-go rows count."""
    cloud = tc.TencentCloud(types=[
        tc.TypeRow("S5.MEDIUM8", "S5", 2, 8, "ap-guangzhou-6", "PREPAID"),
        tc.TypeRow("S5.MEDIUM8", "S5", 2, 8, "ap-guangzhou-6", "SPOTPAID"),
        tc.TypeRow("SA2.MEDIUM8", "SA2", 2, 8, "ap-guangzhou-6", "POSTPAID_BY_HOUR"),
        tc.TypeRow("S6.MEDIUM8", "S6", 2, 8, "ap-guangzhou-6", "POSTPAID_BY_HOUR", status="SOLD_OUT"),
    ])
    runs = run_twice("dev", cloud=cloud)  # dev: 2 vCPU, 8 GB
    assert runs.first.one(tc.INSTANCE).inputs["instanceType"] == "SA2.MEDIUM8"
    # The mocked data source itself refuses the old call shape, as the provider's schema does.
    with pytest.raises(tc.ProviderError, match="conflicts with filter"):
        cloud.invoke(tc.GET_TYPES, {"availabilityZone": "ap-guangzhou-6",
                                    "filters": [{"name": "instance-charge-type", "values": ["POSTPAID_BY_HOUR"]}]})


def test_a_region_with_no_zone_on_sale_names_the_setting():
    cloud = tc.TencentCloud(zones=[tc.Zone("ap-guangzhou-3", "UNAVAILABLE")])
    with pytest.raises(Exception, match="nexus-registry:server.availabilityZone: no CVM zone is available"):
        run_twice("dev", cloud=cloud)


def test_an_fsi_zone_is_accepted_with_its_region():
    server = {"mode": "cvm", "instanceType": "S5.LARGE16", "dataDiskGb": 50, "sshAllowedCidrs": ["58.246.10.0/24"],
              "availabilityZone": "ap-shanghai-fsi-1"}
    runs = run_twice("dev", {"tencentcloud:region": "ap-shanghai-fsi", "server": server})
    assert runs.second.one(tc.SUBNET).inputs["availabilityZone"] == "ap-shanghai-fsi-1"
    assert not runs.of_kind("replace", "refused", "disruptive")


def test_offered_types_keep_only_pay_as_you_go_rows_on_sale_with_the_exact_size():
    from components.placement import offered_types
    from components.settings import CvmServer

    server = CvmServer(mode="cvm", cpu=2, memory_gb=4, ssh_allowed_cidrs=["58.246.10.0/24"])
    rows = tc.TencentCloud().invoke(tc.GET_TYPES, {"filters": [{"name": "zone", "values": ["ap-guangzhou-6"]}]})
    assert {r["instanceChargeType"] for r in rows["instanceTypes"]} == {"POSTPAID_BY_HOUR", "PREPAID", "SPOTPAID"}
    # BF1.MEDIUM4 exists here only prepaid; S5 is a preferred family.
    assert offered_types(rows["instanceTypes"], server) == ["S5.MEDIUM4", "SA2.MEDIUM4"]


def test_two_stacks_whose_names_share_a_prefix_get_their_own_key_pairs():
    """Key pair names are unique per account: the mocked account refuses a second one of the same name."""
    cloud = tc.TencentCloud()
    run_twice("dev", stack_name="platform-team-a", cloud=cloud)
    run_twice("dev", stack_name="platform-team-b", cloud=cloud)
    assert len(cloud.key_pairs) == 2
