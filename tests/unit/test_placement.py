"""``components.placement``: the zone and instance type a lookup chose stay chosen; the policy is pure."""

from __future__ import annotations

import ast

import pytest

from components import placement
from components.placement import Placement, Settled, available_zones, settle_instance_type, settle_zone
from components.settings import CvmServer
from tests.harness import ROOT

RECORDED = Placement("ap-guangzhou-6", "S5.MEDIUM8", cpu=2, memory_gb=8)


def cvm(**fields) -> CvmServer:
    return CvmServer.model_validate({"mode": "cvm", "cpu": 2, "memoryGb": 8, "sshAllowedCidrs": ["198.18.0.0/15"],
                                     **fields})


def test_the_module_talks_to_neither_pulumi_nor_the_cloud():
    tree = ast.parse((ROOT / "components" / "placement.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in ("pulumi", "tencentcloud_iac_pulumi")}


def test_a_new_stack_takes_the_first_available_zone():
    zones = available_zones([{"name": "ap-guangzhou-3", "state": "UNAVAILABLE"}, {"name": "ap-guangzhou-6", "state":
                             "AVAILABLE"}, {"name": "ap-guangzhou-7", "state": "AVAILABLE"}])
    assert zones == ["ap-guangzhou-6", "ap-guangzhou-7"]
    assert settle_zone(None, None, zones) == Settled("ap-guangzhou-6")


def test_a_recorded_zone_stays_and_says_why():
    assert settle_zone(None, RECORDED, ["ap-guangzhou-6"]) == Settled("ap-guangzhou-6")
    moved_on = settle_zone(None, RECORDED, ["ap-guangzhou-7"])
    assert moved_on.value == "ap-guangzhou-6"
    assert moved_on.warnings == (
        "availability zone ap-guangzhou-6 is no longer offered for new CVMs; this stack stays there; a new stack "
        "would use ap-guangzhou-7. To move, set server.availabilityZone (README: Decisions that stay made)",)
    preferred = settle_zone(None, RECORDED, ["ap-guangzhou-7", "ap-guangzhou-6"])
    assert preferred.value == "ap-guangzhou-6" and "now prefers ap-guangzhou-7" in preferred.warnings[0]


def test_an_explicit_zone_moves_the_stack_with_a_warning():
    moved = settle_zone("ap-guangzhou-7", RECORDED, [])
    assert moved.value == "ap-guangzhou-7"
    assert "moves this stack from ap-guangzhou-6 to ap-guangzhou-7" in moved.warnings[0]
    assert settle_zone("ap-guangzhou-6", RECORDED, []) == Settled("ap-guangzhou-6")


def test_no_zone_at_all_names_the_setting():
    with pytest.raises(ValueError, match=r"^nexus-registry:server\.availabilityZone: "):
        settle_zone(None, None, [])


def test_the_recorded_type_stays_while_size_and_zone_do():
    sold_out = settle_instance_type(cvm(), RECORDED, "ap-guangzhou-6", ["SA5.MEDIUM8"])
    assert sold_out.value == "S5.MEDIUM8"
    assert sold_out.warnings == ("instance type S5.MEDIUM8 is not on sale in ap-guangzhou-6 now; this CVM keeps it; "
                                 "a new stack would get SA5.MEDIUM8",)
    assert settle_instance_type(cvm(), RECORDED, "ap-guangzhou-6", ["S5.MEDIUM8"]) == Settled("S5.MEDIUM8")
    # A new size or a new zone is a new choice.
    assert settle_instance_type(cvm(memoryGb=16), RECORDED, "ap-guangzhou-6", ["S5.LARGE16"]) == Settled("S5.LARGE16")
    assert settle_instance_type(cvm(), RECORDED, "ap-guangzhou-7", ["SA5.MEDIUM8"]) == Settled("SA5.MEDIUM8")


def test_an_explicit_type_wins_and_a_missing_offer_names_the_setting():
    changed = settle_instance_type(cvm(cpu=None, memoryGb=None, instanceType="S5.LARGE16"), RECORDED,
                                   "ap-guangzhou-6", [])
    assert changed.value == "S5.LARGE16" and "changes S5.MEDIUM8 to S5.LARGE16" in changed.warnings[0]
    with pytest.raises(ValueError, match=r"^nexus-registry:server: no instance type with cpu=2 memoryGb=8 "):
        settle_instance_type(cvm(), None, "ap-guangzhou-6", [])


def test_placement_round_trips_through_its_stack_output():
    assert Placement.from_output(RECORDED.to_output()) == RECORDED
    assert Placement.from_output({"availabilityZone": "", "instanceType": "S5.MEDIUM8"}) is None
    assert Placement.from_output(None) is None
    assert placement.PLACEMENT_OUTPUT == "cvmPlacement"
