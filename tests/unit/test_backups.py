"""Consistent backups under mocks: the database backup step comes before the pre-upgrade snapshot."""

from __future__ import annotations

import pytest

from components.render import nexus as render
from components.render import nexus_operator_tools
from tests.harness import run_stack
from tests.support.bundles import bundle_files, stdin
from tests.support.settings import make_settings
from tests.support.stack_outputs import SNAPSHOT, deployed

DB_STEP = "nexus-backups-pre-upgrade-db"


@pytest.fixture(scope="module")
def prod():
    return run_stack("prod")


def test_the_pre_upgrade_snapshot_waits_for_a_consistent_database_backup(prod):
    step = prod.named(DB_STEP)
    assert step.inputs["create"] == "sudo -n bash -s"  # ubuntu image: the login user is ubuntu
    assert step.resource in prod.one(SNAPSHOT).opts.depends_on
    secret, text = stdin(prod, DB_STEP)
    assert secret, "the step carries the admin password file: its stdin must be secret"
    files = bundle_files(text)
    expected = nexus_operator_tools.database_backup_files(make_settings("prod"))[0].content
    assert files[nexus_operator_tools.DB_BACKUP_SCRIPT] == expected
    assert "sonatype/nexus3:3.98.0" in files["/var/lib/nexus-registry/db-backup-before-upgrade.txt"]
    assert text.rstrip().endswith(f"exec {nexus_operator_tools.DB_BACKUP_SCRIPT}")


def test_an_upgrade_reruns_the_database_backup_and_nothing_else_changes_it(prod):
    upgraded = run_stack("prod", {"nexus": {"version": "3.95.2"}}, extra_outputs=deployed("3.93.2"))
    assert stdin(upgraded, DB_STEP) != stdin(prod, DB_STEP)
    assert "3.95.2" in bundle_files(stdin(upgraded, DB_STEP)[1])["/var/lib/nexus-registry/db-backup-before-upgrade.txt"]
    renamed = run_stack("prod", {"webHost": "repo", "renewBeforeDays": 20, "backup": {"retainDays": 3}})
    assert stdin(renamed, DB_STEP) == stdin(prod, DB_STEP)


def test_existing_servers_back_up_the_database_before_an_upgrade_too():
    lab = run_stack("lab")
    assert lab.named(DB_STEP).inputs["create"] == "bash -s"  # root
    assert lab.of_type(SNAPSHOT) == []
    for step in ("nexus-server-prepare", "nexus-server-container"):
        assert lab.one("nexus-registry:backup:DataDiskBackups").resource in lab.named(step).opts.depends_on


def test_the_backup_script_ships_with_the_bootstrap_for_operators():
    paths = {f.path for f in render.bootstrap_files(make_settings("dev"))}
    assert {nexus_operator_tools.DB_BACKUP_SCRIPT, nexus_operator_tools.STATUS_SCRIPT} <= paths


def test_restore_script_ships_with_the_bootstrap_and_stops_nexus_like_the_container():
    settings = make_settings()
    installed = {f.path: f for f in render.bootstrap_files(settings)}
    script = installed[nexus_operator_tools.RESTORE_SCRIPT].content
    assert installed[nexus_operator_tools.RESTORE_SCRIPT].mode == "0755"
    assert nexus_operator_tools.RESTORE_STOP_TIMEOUT_SECONDS == render.STOP_TIMEOUT_SECONDS
    assert "NEXUS_STOP_TIMEOUT=${NEXUS_STOP_TIMEOUT-120}" in script
    assert f"MAINTENANCE_FLAG=${{MAINTENANCE_FLAG-{render.STATE_DIR}/maintenance}}" in script
    assert "DATABASE_ENGINE=h2" in script
