"""``database.engine`` under Pulumi mocks: TencentDB for PostgreSQL, the host steps, the one-way guards.

Inputs are checked against terraform-provider-tencentcloud v1.82.42
(``services/postgresql/resource_tc_postgresql_instance.go``): required ``name``,
``vpc_id``, ``subnet_id``, ``availability_zone``, ``storage``, ``memory`` and
``root_password``; ``root_password`` follows ``ValidateMysqlPassword``; ``charset``
is ForceNew; ``availability_zone`` and ``root_user`` refuse updates.
"""

from __future__ import annotations

import re

import pytest

from components.database import GENERATED_PASSWORD_SYMBOLS
from components.deployed import check_data_disk_size, check_database_change
from components.render import nexus as render
from components.render import nexus_database as render_database
from components.settings import POSTGRESQL_PASSWORD_SYMBOLS, database_password_problem
from tests.harness import TEST_SECRETS, is_secret, run_stack, stack_file_config
from tests.support.bundles import bundle_files, stdin

PG = "tencentcloud:Postgresql/instance:Instance"
PG_SSL = "tencentcloud:Postgresql/instanceSslConfig:InstanceSslConfig"
RULE_SET = "tencentcloud:Security/groupRuleSet:GroupRuleSet"
RANDOM = "random:index/randomPassword:RandomPassword"
POSTGRESQL = {"engine": "postgresql"}
MIGRATOR_SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"  # any 64 hex digits
DEV_NEXUS = stack_file_config("dev")["nexus-registry:nexus"]["version"]
# A build other than any image's: Sonatype numbers the migrator's builds on their own (nexus-public #451).
MIGRATOR_VERSION = f"{DEV_NEXUS}-07"
MIGRATION = {**{"engine": "postgresql"}, "migrateFromH2": True, "migratorVersion": MIGRATOR_VERSION}
DB_PASSWORD = "Existing_db-pass9"
EXISTING_DB = {"engine": "postgresql", "host": "10.0.0.30", "name": "nexus_db", "user": "nexus_app"}


def deployed(**outputs):
    """Mock the stack's own last update having exported ``outputs``."""
    def answer(type_, _name, _inputs):
        return {"outputs": outputs} if type_ == "pulumi:pulumi:StackReference" else {}
    return answer


@pytest.fixture(scope="module")
def dev_pg():
    return run_stack("dev", {"database": POSTGRESQL})


@pytest.fixture(scope="module")
def lab_pg():
    return run_stack("lab", {"database": EXISTING_DB}, secrets={"nexus-registry:databasePassword": DB_PASSWORD})


def test_h2_stacks_register_no_database_and_no_database_step():
    run = run_stack("dev")
    assert run.of_type(PG) == [] and run.of_type(RANDOM) == []
    assert [r.name for r in run.resources if r.name.endswith("-database")] == []
    assert run.outputs["nexusDatabase"] == "h2"


def test_a_cvm_stack_gets_tencentdb_in_its_own_vpc_subnet_and_zone(dev_pg):
    db = dev_pg.one(PG).inputs
    cvm = dev_pg.one("tencentcloud:Instance/instance:Instance").inputs
    for required in ("name", "vpcId", "subnetId", "availabilityZone", "storage", "memory", "rootPassword"):
        assert db.get(required) not in (None, ""), required
    assert db["vpcId"] == "nexus-host-vpc-id" and db["subnetId"] == "nexus-host-subnet-id"
    assert db["availabilityZone"] == cvm["availabilityZone"]
    assert db["dbMajorVersion"] == "16" and db["memory"] == 4 and db["storage"] == 50 and db["storage"] % 10 == 0
    assert db["chargeType"] == "POSTPAID_BY_HOUR" and db["charset"] == "UTF8"
    assert db["rootUser"] == "nexus" and db["publicAccessSwitch"] is False
    assert len(db["name"]) <= 60
    plan = db["backupPlan"]
    assert plan["baseBackupRetentionPeriod"] == 7 and len(plan["backupPeriods"]) == 7
    assert re.fullmatch(r"\d\d:00:00", plan["minBackupStartTime"])
    ssl = dev_pg.one(PG_SSL).inputs
    assert ssl == {"dbInstanceId": "nexus-database-postgresql-id", "sslEnabled": True, "connectAddress": "10.70.1.20"}


def test_only_the_cvm_security_group_reaches_postgresql(dev_pg):
    rules = [r for r in dev_pg.of_type(RULE_SET) if r.name == "nexus-database-sg-rules"][0].inputs
    assert rules["securityGroupId"] == "nexus-database-sg-id"
    accept, drop = rules["ingresses"]
    assert accept == {"action": "ACCEPT", "protocol": "TCP", "port": "5432",
                      "sourceSecurityId": "nexus-host-sg-id", "description": "PostgreSQL from the Nexus host"}
    assert drop["action"] == "DROP" and drop["cidrBlock"] == "0.0.0.0/0"
    assert dev_pg.one(PG).inputs["securityGroups"] == ["nexus-database-sg-id"]


def test_the_generated_password_meets_tencentdb_rules_and_stays_secret(dev_pg):
    generated = dev_pg.one(RANDOM).inputs
    assert generated["length"] == 32 and generated["overrideSpecial"] == GENERATED_PASSWORD_SYMBOLS
    assert set(GENERATED_PASSWORD_SYMBOLS) <= set(POSTGRESQL_PASSWORD_SYMBOLS)
    assert database_password_problem("Generated_pw-" + "a1B2" * 5) is None
    instance = dev_pg.one(PG).resource
    assert is_secret(instance.root_password)
    assert "root_password" in dev_pg.one(PG).opts.additional_secret_outputs


def test_a_secret_setting_replaces_the_generated_password():
    run = run_stack("dev", {"database": POSTGRESQL}, secrets={"nexus-registry:databasePassword": DB_PASSWORD})
    assert run.of_type(RANDOM) == []
    _, text = stdin(run, "nexus-server-container")
    properties = bundle_files(text)[render.DATASTORE_PROPERTIES_PATH]
    assert f"\npassword={render_database.properties_value(DB_PASSWORD)}\n" in properties


def test_protect_covers_the_database_like_the_data_disk():
    prod = run_stack("prod", {"database": POSTGRESQL})
    db = prod.one(PG)
    assert db.inputs["deleteProtection"] is True
    assert db.opts.protect is True and db.opts.retain_on_delete is True


def test_the_database_step_runs_between_prepare_and_container_with_the_password_only_in_secret_stdin(dev_pg):
    step = dev_pg.named("nexus-server-database")
    assert step.resource is not None
    secret, text = stdin(dev_pg, "nexus-server-database")
    assert secret
    files = bundle_files(text)
    assert files[render_database.PGPASS_PATH] == "10.70.1.20:5432:*:nexus:Generated_pw-a1B2a1B2a1B2a1B2a1B2\n"
    script = files[render_database.DATABASE_SCRIPT]
    assert "DB_HOST=${DB_HOST-10.70.1.20}" in script and "DB_CREATE=${DB_CREATE-yes}" in script
    assert "Generated_pw" not in script
    container_opts = dev_pg.named("nexus-server-container").opts
    assert step.resource in container_opts.depends_on
    assert dev_pg.named("nexus-server-prepare").resource in step.opts.depends_on
    assert step.inputs["create"] == "sudo -n bash -s"


def test_the_datastore_is_a_properties_file_never_the_containers_environment(dev_pg):
    secret, text = stdin(dev_pg, "nexus-server-container")
    assert secret
    files = bundle_files(text)
    # The keys of Nexus's datastore properties files (nexus-public DataStoreConfigurationLocalSource,
    # InstallConfigurationCustomizer), escaped as java.util.Properties.store writes them.
    assert files[render.DATASTORE_PROPERTIES_PATH] == (
        "# Managed by nexus-registry (database.engine postgresql); Nexus reads it at startup.\n"
        "name=nexus\n"
        "type=jdbc\n"
        "jdbcUrl=jdbc\\:postgresql\\://10.70.1.20\\:5432/nexus?sslmode\\=require\n"
        "username=nexus\n"
        "password=Generated_pw-a1B2a1B2a1B2a1B2a1B2\n"
    )
    assert re.search(r"_nr_put '/etc/nexus-registry/secrets/nexus-store.properties' 0600", text)
    script = files[render.CONTAINER_SCRIPT]
    assert "--env-file" not in script and "NEXUS_DATASTORE" not in script
    assert "DATASTORE_PROPERTIES=${DATASTORE_PROPERTIES-/etc/nexus-registry/secrets/nexus-store.properties}" in script
    assert "Generated_pw" not in script
    # The password never shows up where command lines or logs are recorded.
    for resource in dev_pg.resources:
        for key in ("create", "update", "delete"):
            assert "Generated_pw" not in str(resource.inputs.get(key, ""))
    assert not any("Generated_pw" in str(value) for value in dev_pg.outputs.values())


def test_an_existing_server_names_its_database_and_nothing_is_created(lab_pg):
    assert lab_pg.of_type(PG) == [] and lab_pg.of_type(RANDOM) == []
    assert not any(r.type.startswith("tencentcloud:") for r in lab_pg.resources)
    _, text = stdin(lab_pg, "nexus-server-database")
    files = bundle_files(text)
    assert files[render_database.PGPASS_PATH] == f"10.0.0.30:5432:*:nexus_app:{DB_PASSWORD}\n"
    assert "DB_CREATE=${DB_CREATE-no}" in files[render_database.DATABASE_SCRIPT]
    _, container = stdin(lab_pg, "nexus-server-container")
    assert "jdbcUrl=jdbc\\:postgresql\\://10.0.0.30\\:5432/nexus_db?sslmode\\=require\n" in bundle_files(container)[
        render.DATASTORE_PROPERTIES_PATH]


def test_changing_the_database_settings_leaves_nginx_alone(dev_pg):
    h2 = run_stack("dev")
    for step in ("nexus-nginx-deploy",):
        names = {r.name for r in h2.resources}
        if step in names:
            assert stdin(h2, step) == stdin(dev_pg, step)
    # Only what depends on the engine: no H2 backup task on PostgreSQL, the status script's H2 limit, and
    # the restore script, which restores H2 only (the database of PostgreSQL is not in the data directory).
    h2_files = bundle_files(stdin(h2, "nexus-server-bootstrap")[1])
    pg_files = bundle_files(stdin(dev_pg, "nexus-server-bootstrap")[1])
    assert set(h2_files) == set(pg_files)
    assert {path for path in h2_files if h2_files[path] != pg_files[path]} == {
        "/etc/nexus-registry/lifecycle/tasks.json", "/opt/nexus-registry/bin/nexus-status.sh",
        "/opt/nexus-registry/bin/nexus-restore.sh"}
    assert stdin(h2, "nexus-server-prepare") == stdin(dev_pg, "nexus-server-prepare")


@pytest.mark.parametrize("database, secrets, message", [
    ({"engine": "mysql"}, {}, r"nexus-registry:database.engine: 'mysql' is not allowed"),
    ({"engine": "postgresql", "version": "12"}, {}, r"nexus-registry:database.version: '12' is not allowed"),
    ({"engine": "postgresql", "storageGb": 55}, {}, r"nexus-registry:database.storageGb: 55 is not a multiple of 10"),
    ({"engine": "postgresql", "memoryGb": 0}, {}, r"nexus-registry:database.memoryGb: 0 is out of range"),
    ({"engine": "postgresql", "backupRetainDays": 3}, {}, r"nexus-registry:database.backupRetainDays: 3 is out of"),
    ({"engine": "postgresql", "host": "10.0.0.9"}, {}, r"nexus-registry:database.host: only for existing servers"),
    ({"engine": "postgresql", "user": "postgres"}, {}, r"nexus-registry:database.user: 'postgres' is reserved"),
    ({"engine": "postgresql", "name": "Nexus-DB"}, {}, r"nexus-registry:database.name: 'Nexus-DB' is not a Postgre"),
    ({"engine": "postgresql", "sslMode": "disable"}, {}, r"nexus-registry:database.sslMode: TencentDB connections"),
    ({"engine": "postgresql"}, {"nexus-registry:databasePassword": "onlyletters"},
     r"nexus-registry:databasePassword: must mix at least two"),
    ({"engine": "postgresql"}, {"nexus-registry:databasePassword": "Short1"},
     r"nexus-registry:databasePassword: must be 8-64 characters"),
    ({"engine": "postgresql", "unknown": 1}, {}, r"nexus-registry:database.unknown: is not a known setting"),
])
def test_bad_database_settings_fail_before_any_resource(database, secrets, message):
    with pytest.raises(Exception, match=message) as caught:
        run_stack("dev", {"database": database}, secrets=secrets)
    assert caught.value.program_run.resources == []
    assert len(caught.value.problems) == 1


def test_an_existing_server_needs_a_host_and_a_password():
    with pytest.raises(Exception, match=r"nexus-registry:database.host: required"):
        run_stack("lab", {"database": POSTGRESQL}, secrets={"nexus-registry:databasePassword": DB_PASSWORD})
    with pytest.raises(Exception, match=r"nexus-registry:databasePassword: required"):
        run_stack("lab", {"database": EXISTING_DB})


def test_postgresql_needs_a_nexus_release_that_supports_it_in_community_edition():
    with pytest.raises(Exception, match=r"nexus-registry:database.engine: postgresql needs nexus.version 3.77"):
        run_stack("dev", {"database": POSTGRESQL, "nexus": {"version": "3.70.1"}})


def test_switching_a_deployed_h2_stack_to_postgresql_is_refused_without_the_migration_setting():
    with pytest.raises(Exception, match=r"nexus-registry:database.engine: this stack's Nexus keeps its data in H2"):
        run_stack("dev", {"database": POSTGRESQL}, extra_outputs=deployed(nexusVersion="3.93.2"))
    with pytest.raises(Exception, match=r"keeps its data in H2"):
        run_stack("dev", {"database": POSTGRESQL},
                  extra_outputs=deployed(nexusVersion="3.93.2", nexusDatabase="h2"))
    migrating = run_stack("dev", {"database": {**MIGRATION, "migratorSha256": MIGRATOR_SHA}},
                          extra_outputs=deployed(nexusVersion=DEV_NEXUS, nexusDatabase="h2"))
    _, text = stdin(migrating, "nexus-server-database")
    args = bundle_files(text)[render_database.MIGRATOR_ARGS_PATH]
    assert "--migration_type=h2_to_postgres" in args and "password=Generated_pw-a1B2" in args
    script = bundle_files(text)[render_database.DATABASE_SCRIPT]
    assert "MIGRATE_FROM_H2=${MIGRATE_FROM_H2-yes}" in script
    assert f"MIGRATOR_SHA256=${{MIGRATOR_SHA256-{MIGRATOR_SHA}}}" in script
    # Sonatype's layout: https://download.sonatype.com/nexus/nxrm3-migrator/nexus-db-migrator-<version>-<build>.jar
    assert ("MIGRATOR_URL=${MIGRATOR_URL-https://download.sonatype.com/nexus/nxrm3-migrator/"
            f"nexus-db-migrator-{MIGRATOR_VERSION}.jar}}") in script


def test_the_migration_needs_the_checksum_of_the_migrator_it_runs():
    with pytest.raises(Exception, match=r"nexus-registry:database.migratorSha256: required with "
                                        r"database.migrateFromH2: the SHA-256 of Sonatype's nexus-db-migrator jar"):
        run_stack("dev", {"database": MIGRATION})
    for bad in (MIGRATOR_SHA.upper(), MIGRATOR_SHA[:-1], f"sha256:{MIGRATOR_SHA}"):
        with pytest.raises(Exception, match=r"nexus-registry:database.migratorSha256: .* is not a SHA-256"):
            run_stack("dev", {"database": {**MIGRATION, "migratorSha256": bad}})


def test_the_migration_names_the_migrator_build_of_the_deployed_release():
    without = {key: value for key, value in MIGRATION.items() if key != "migratorVersion"}
    with pytest.raises(Exception, match=rf"^nexus-registry:database.migratorVersion: required with database"
                                        rf".migrateFromH2: .* \(nexus-db-migrator-{re.escape(DEV_NEXUS)}-<build>.jar"):
        run_stack("dev", {"database": {**without, "migratorSha256": MIGRATOR_SHA}})
    other = "3.86.2-05" if DEV_NEXUS != "3.86.2" else "3.86.3-05"
    with pytest.raises(Exception, match=rf"^nexus-registry:database.migratorVersion: '{other}' is the migrator of "
                                        rf"Nexus {other[:-3]}, not of nexus.version {re.escape(DEV_NEXUS)}"):
        run_stack("dev", {"database": {**MIGRATION, "migratorVersion": other, "migratorSha256": MIGRATOR_SHA}})
    for bad in (DEV_NEXUS, f"{DEV_NEXUS}-1", f"{DEV_NEXUS}-java17", f"v{DEV_NEXUS}-01", f"{DEV_NEXUS}-01.jar"):
        with pytest.raises(Exception, match=r"^nexus-registry:database.migratorVersion: .* is not a migrator "
                                            r"version-build such as '3.93.2-03'"):
            run_stack("dev", {"database": {**MIGRATION, "migratorVersion": bad, "migratorSha256": MIGRATOR_SHA}})


def test_an_image_variant_tag_takes_the_migrator_of_its_release():
    run_stack("dev", {"nexus": {"version": f"{DEV_NEXUS}-java17-ubi"},
                      "database": {**MIGRATION, "migratorSha256": MIGRATOR_SHA}},
              extra_outputs=deployed(nexusVersion=DEV_NEXUS, nexusDatabase="h2"))


def test_going_back_from_postgresql_to_h2_is_refused():
    with pytest.raises(Exception, match=r"keeps its data in postgresql; switching to h2 would start an empty"):
        run_stack("dev", extra_outputs=deployed(nexusVersion="3.93.2", nexusDatabase="postgresql"))


def test_a_new_stack_and_an_unchanged_engine_pass():
    assert check_database_change(None, None, _settings(POSTGRESQL)) == "postgresql"
    assert check_database_change("postgresql", "3.86.2", _settings(POSTGRESQL)) == "postgresql"
    assert check_database_change(None, "3.86.2", _settings({"engine": "h2"})) == "h2"


def _settings(database):
    from components import settings as stack_settings
    return stack_settings.validate({
        "stack": "t", "domain": "registry.internal", "adminPassword": TEST_SECRETS["nexus-registry:adminPassword"],
        "userPasswords": TEST_SECRETS["nexus-registry:userPasswords"],
        "server": {"mode": "cvm", "cpu": 4, "memoryGb": 8, "sshAllowedCidrs": ["10.0.0.0/8"], "dataDiskGb": 100},
        "database": database,
    })


def test_the_data_disk_grows_in_place_and_the_filesystem_step_follows():
    same = run_stack("dev", extra_outputs=deployed(dataDiskGb=50))
    assert same.outputs["dataDiskGb"] == 50
    bigger = _dev_with_disk(200, deployed_gb=50)
    disk = bigger.one("tencentcloud:Cbs/storage:Storage")
    assert disk.inputs["storageSize"] == 200
    # storage_size is updatable (ResizeDisk): nothing asks for a replacement on it.
    assert "storageSize" not in (disk.opts.replace_on_changes or [])
    before = stdin(run_stack("dev"), "nexus-server-prepare-disk")[1]
    after = stdin(bigger, "nexus-server-prepare-disk")[1]
    assert before != after  # the data disk step re-runs and grows the filesystem
    assert "NEXUS_DATA_DISK_GB=${NEXUS_DATA_DISK_GB-200}" in bundle_files(after)[render.PREPARE_DISK_SCRIPT]
    assert bigger.outputs["dataDiskGb"] == 200


def test_shrinking_the_data_disk_is_refused_with_the_key_named():
    with pytest.raises(Exception, match=r"nexus-registry:server.dataDiskGb: 50 is smaller than the deployed 200 GB"):
        run_stack("dev", extra_outputs=deployed(dataDiskGb=200))
    assert check_data_disk_size(None, _settings({"engine": "h2"})) == 100
    assert check_data_disk_size("100", _settings({"engine": "h2"})) == 100


def _dev_with_disk(size: int, deployed_gb: int):
    server = stack_file_config("dev")["nexus-registry:server"]
    return run_stack("dev", {"server": {**server, "dataDiskGb": size}}, extra_outputs=deployed(dataDiskGb=deployed_gb))


def test_rendered_host_files_include_the_database_step_only_with_postgresql():
    from components.render.stack import stack_files
    paths = {f.path for f in stack_files(_settings(POSTGRESQL)).host_files}
    assert render_database.DATABASE_SCRIPT in paths
    assert render_database.DATABASE_SCRIPT not in {f.path for f in stack_files(_settings({"engine": "h2"})).host_files}
