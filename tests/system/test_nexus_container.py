"""nexus-container.sh: the container's run command, and the script run for real with bash against a stub
``docker`` that keeps container state in a file (tests/support/nexus_container.py) and the fake Nexus:
pull, run locked down, wait for readiness, recreate on a new spec, keep the running container on a
failure, the JVM memory Sonatype's rules give, a pinned digest.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from components import host_layout
from components.render import nexus as render
from tests.support.commands import ok
from tests.support.nexus_container import GIB, Container
from tests.support.settings import make_settings

# --- the container's run command ------------------------------------------------------------


def test_the_container_run_command_is_locked_down():
    args = render.container_run_args(make_settings("dev"))
    pairs = list(zip(args[::2], args[1::2], strict=True))
    publishes = [value for option, value in pairs if option == "--publish"]
    assert publishes == ["127.0.0.1:8081:8081", "127.0.0.1:8001:8001", "127.0.0.1:8002:8002", "127.0.0.1:8003:8003"]
    assert not any(option in ("-p", "-P", "--publish-all", "--network", "--net") for option, _ in pairs)
    assert ("--mount", f"type=bind,source={render.DATA_DIR},target=/nexus-data") in pairs
    assert ("--ulimit", "nofile=65536:65536") in pairs
    assert ("--restart", "unless-stopped") in pairs
    stop = dict(pairs)["--stop-timeout"]
    assert int(stop) >= 120
    assert render.image(make_settings("dev")) == "sonatype/nexus3:3.98.0"
    assert render.image(make_settings("dev", {"version": "3.95.2"})) == "sonatype/nexus3:3.95.2"


def test_the_rendered_container_script_carries_exactly_that_command():
    script = render.container_files(make_settings("prod"))[0].content
    block = re.search(r"^RUN_ARGS=\(\n(.*?)^\)$", script, re.S | re.M).group(1)
    rendered = [part for line in block.splitlines() for part in line.split()]
    assert rendered == render.container_run_args(make_settings("prod"))
    assert "NEXUS_IMAGE=${NEXUS_IMAGE-sonatype/nexus3:3.98.0}" in script
    assert "NEXUS_HEAP_MB=${NEXUS_HEAP_MB-8192}" in script  # prod sets heapMb
    assert "NEXUS_HEAP_MB=${NEXUS_HEAP_MB-''}" in render.container_files(make_settings("dev"))[0].content
    assert ":latest" not in script


def test_the_first_run_starts_the_pinned_image_locked_down_and_waits_for_readiness(tmp_path, nexus):
    container = Container(tmp_path, nexus)
    out = ok(container.run())
    assert container.calls("pull") == [["pull", "sonatype/nexus3:3.98.0"]]
    (create_call,) = container.calls("create")
    assert create_call[-1] == "sonatype/nexus3:3.98.0"
    options = create_call[1:-1]
    # The rendered run options, the name first (taken out of the list: a replacement gets another name).
    run_args = render.container_run_args(make_settings("dev"))
    assert run_args[:2] == ["--name", "nexus"] and options[:2] == ["--name", "nexus"]
    assert options[2:len(run_args)] == run_args[2:]
    assert container.calls("start") == [["start", "nexus"]]
    label = options[options.index("--label") + 1]
    assert re.fullmatch(r"nexus-registry\.spec=[0-9a-f]{64}", label)
    env = options[options.index("--env") + 1]
    assert env == ("INSTALL4J_ADD_VM_PARAMS=-Xms4160m -Xmx4160m -XX:MaxDirectMemorySize=1024m "
                   "-Djava.util.prefs.userRoot=/nexus-data/javaprefs -Dfile.encoding=UTF-8")
    assert "nexus.onboarding.enabled=false" in (container.data / "etc" / "nexus.properties").read_text()
    assert "Nexus is ready" in out


def test_an_unchanged_spec_leaves_the_container_alone(tmp_path, nexus):
    container = Container(tmp_path, nexus)
    ok(container.run())
    calls = len(container.calls())
    out = ok(container.run())
    new_calls = container.calls()[calls:]
    assert {c[0] for c in new_calls} == {"inspect"}
    assert "up to date" in out


def test_a_stopped_container_with_the_same_spec_is_started_not_recreated(tmp_path, nexus):
    container = Container(tmp_path, nexus)
    ok(container.run())
    container.set_status("nexus", "exited")
    ok(container.run())
    assert len(container.calls("create")) == 1 and container.calls("start") == [["start", "nexus"]] * 2


def test_a_new_version_recreates_the_container_with_a_long_stop_timeout(tmp_path, nexus):
    container = Container(tmp_path, nexus)
    ok(container.run())
    first_label = container.containers()["nexus"]["labels"]
    calls = len(container.calls())
    ok(container.run(make_settings("dev", {"version": "3.95.2"})))
    assert container.calls("pull")[-1] == ["pull", "sonatype/nexus3:3.95.2"]
    # The new container exists before the old one stops; then the names are swapped and the new one started.
    replace = [c[:2] if c[0] == "create" else c for c in container.calls()[calls:] if c[0] != "inspect"]
    assert replace == [["pull", "sonatype/nexus3:3.95.2"], ["create", "--name"], ["stop", "--time", "120", "nexus"],
                       ["rename", "nexus", "nexus-old"], ["rename", "nexus-new", "nexus"], ["start", "nexus"],
                       ["rm", "nexus-old"]]
    assert container.calls("create")[-1][2] == "nexus-new"
    assert container.calls("create")[-1][-1] == "sonatype/nexus3:3.95.2"
    assert list(container.containers()) == ["nexus"]
    assert container.containers()["nexus"]["labels"] != first_label


def test_a_failed_pull_keeps_the_running_container(tmp_path, nexus):
    container = Container(tmp_path, nexus)
    ok(container.run())
    result = container.run(make_settings("dev", {"version": "3.95.2"}), FAKE_DOCKER_PULL_FAILS="1")
    assert result.returncode != 0
    assert container.calls("stop") == [] and container.calls("rm") == [] and len(container.calls("create")) == 1


def test_a_container_that_never_becomes_writable_fails_with_its_logs(tmp_path, nexus):
    nexus.writable = False
    container = Container(tmp_path, nexus)
    result = container.run(NEXUS_READY_TIMEOUT="1")
    assert result.returncode != 0
    assert "did not become writable within 1s" in result.stderr
    assert "fake nexus log: line 2" in result.stderr
    assert ["logs", "--tail", "80", "nexus"] in container.calls("logs")


def test_a_container_that_exits_fails_fast_with_its_logs(tmp_path, nexus):
    nexus.writable = False
    container = Container(tmp_path, nexus)
    result = container.run(NEXUS_READY_TIMEOUT="60", FAKE_DOCKER_RUN_STATUS="exited")
    assert result.returncode != 0
    assert "is exited instead of starting" in result.stderr and "fake nexus log: line 1" in result.stderr


def test_a_container_that_keeps_crashing_fails_fast_with_its_logs(tmp_path, nexus):
    nexus.writable = False
    container = Container(tmp_path, nexus)
    # --restart unless-stopped: a crashing Nexus is "restarting", never "exited".
    result = container.run(NEXUS_READY_TIMEOUT="60", FAKE_DOCKER_RUN_STATUS="restarting", FAKE_DOCKER_RESTARTS="3")
    assert result.returncode != 0
    assert "keeps crashing (restarted 3 times)" in result.stderr and "fake nexus log: line 1" in result.stderr


def test_a_container_restarting_once_is_waited_for(tmp_path, nexus):
    container = Container(tmp_path, nexus)
    assert "Nexus is ready" in ok(container.run(FAKE_DOCKER_RUN_STATUS="restarting", FAKE_DOCKER_RESTARTS="1"))


KEPT_IMAGE_OPTIONS = "-Djava.util.prefs.userRoot=/nexus-data/javaprefs -Dfile.encoding=UTF-8"


@pytest.mark.parametrize("memory_gib, nexus_settings, expected", [
    # H2 (3.71+): heap = 2/3 of RAM minus 1 GiB of direct memory, from 2703 MB up to 16 GiB.
    (7.6, {}, "-Xms4160m -Xmx4160m -XX:MaxDirectMemorySize=1024m"),
    (16, {}, "-Xms9856m -Xmx9856m -XX:MaxDirectMemorySize=1024m"),
    (64, {}, "-Xms16384m -Xmx16384m -XX:MaxDirectMemorySize=1024m"),
    (16, {"heapMb": 8192}, "-Xms8192m -Xmx8192m -XX:MaxDirectMemorySize=1024m"),
    # OrientDB (before 3.71): Sonatype's direct memory equal to the heap, both within 2/3.
    (16, {"version": "3.70.1"}, "-Xms5440m -Xmx5440m -XX:MaxDirectMemorySize=5440m"),
])
def test_jvm_memory_follows_sonatypes_rules(tmp_path, nexus, memory_gib, nexus_settings, expected):
    container = Container(tmp_path, nexus)
    container.meminfo.write_text(f"MemTotal: {int(memory_gib * GIB)} kB\n")
    out = ok(container.run(make_settings("lab", nexus_settings), NEXUS_CONTAINER_ONLY="jvm"))
    assert out.strip() == f"{expected} {KEPT_IMAGE_OPTIONS}"
    heap, direct = (int(x) for x in re.findall(r"-Xmx(\d+)m -XX:MaxDirectMemorySize=(\d+)m", out)[0])
    assert heap >= 2703 and heap + direct <= int(memory_gib * 1024) * 2 // 3


@pytest.mark.parametrize("memory_gib, nexus_settings, message", [
    (3.8, {}, "below Sonatype's minimum of 8 GB"),
    (16, {"heapMb": 12288}, "nexus.heapMb=12288 plus 1024 MB direct memory exceeds two thirds"),
    (7.6, {"version": "3.70.1"}, "below Sonatype's minimum of 2703 MB"),
])
def test_memory_below_sonatypes_rules_is_refused_before_anything_runs(tmp_path, nexus, memory_gib,
                                                                       nexus_settings, message):
    container = Container(tmp_path, nexus)
    container.meminfo.write_text(f"MemTotal: {int(memory_gib * GIB)} kB\n")
    result = container.run(make_settings("lab", nexus_settings))
    assert result.returncode != 0 and message in result.stderr
    assert "nexus.allowBelowMinimumMemory" in result.stderr or "nexus.heapMb" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, "one line naming the setting"
    assert container.calls("create") == []


def test_an_acknowledged_small_host_runs_with_a_loud_warning(tmp_path, nexus):
    container = Container(tmp_path, nexus)
    container.meminfo.write_text(f"MemTotal: {int(3.8 * GIB)} kB\n")
    result = container.run(make_settings("lab", {"allowBelowMinimumMemory": True}), NEXUS_CONTAINER_ONLY="jvm")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"-Xms1536m -Xmx1536m -XX:MaxDirectMemorySize=1024m {KEPT_IMAGE_OPTIONS}"
    assert "WARNING" in result.stderr and "unsupported by Sonatype" in result.stderr


def test_a_pinned_digest_is_pulled_and_run_by_digest(tmp_path, nexus):
    digest = "sha256:" + "0123456789abcdef" * 4
    container = Container(tmp_path, nexus)
    ok(container.run(make_settings("dev", {"imageDigest": digest})))
    assert container.calls("pull") == [["pull", f"sonatype/nexus3:3.98.0@{digest}"]]
    assert container.calls("image")[-1][-1] == f"sonatype/nexus3:3.98.0@{digest}"
    assert container.calls("create")[-1][-1] == f"sonatype/nexus3:3.98.0@{digest}"


def test_a_digest_of_another_release_is_refused_and_the_running_container_kept(tmp_path, nexus):
    # The digest of 3.86.2 left in place while nexus.version moves on: Docker would run 3.86.2.
    digest = "sha256:" + "0123456789abcdef" * 4
    container = Container(tmp_path, nexus)
    ok(container.run(make_settings("dev", {"imageDigest": digest})))
    result = container.run(make_settings("dev", {"version": "3.87.0", "imageDigest": digest}),
                           FAKE_DOCKER_IMAGE_RELEASE="3.86.2")
    assert result.returncode != 0
    assert "nexus.imageDigest names Nexus 3.86.2, not nexus.version 3.87.0" in result.stderr
    assert container.calls("stop") == [] and len(container.calls("create")) == 1
    # Without a digest the tag decides and no label is consulted.
    (tmp_path / "plain").mkdir()
    plain = Container(tmp_path / "plain", nexus)
    ok(plain.run())
    assert plain.calls("image") == []


# --- interrupted replaces, the maintenance flag, the detached run (issue 21) ---------------------------


@pytest.mark.parametrize("left", [
    {"nexus-old": "exited", "nexus-new": "created"},  # killed between the two renames: no "nexus"
    {"nexus": "created", "nexus-old": "exited"},  # killed before the new one was started
    {"nexus": "exited", "nexus-new": "created"},  # killed after the old one stopped
])
def test_an_interrupted_replace_is_put_back_in_order_by_the_next_run(tmp_path, nexus, left):
    container = Container(tmp_path, nexus)
    ok(container.run())
    template = container.containers()["nexus"]
    container.state.write_text(json.dumps({name: {**template, "status": status, "labels": {}}
                                           for name, status in left.items()}))
    out = ok(container.run())
    assert "interrupted replace" in out
    assert list(container.containers()) == ["nexus"] and container.containers()["nexus"]["status"] == "running"
    assert container.containers()["nexus"]["labels"] == template["labels"]


def test_a_new_container_that_does_not_start_gives_way_to_the_previous_one(tmp_path, nexus):
    container = Container(tmp_path, nexus)
    ok(container.run())
    result = container.run(make_settings("dev", {"version": "3.95.2"}),
                           FAKE_DOCKER_START_FAILS="sonatype/nexus3:3.95.2")
    assert result.returncode != 0 and "the previous one was started again" in result.stderr
    assert container.containers()["nexus"]["image"] == "sonatype/nexus3:3.98.0"
    assert list(container.containers()) == ["nexus"] and container.containers()["nexus"]["status"] == "running"


def test_a_live_maintenance_owner_is_waited_for_then_named_and_nothing_changes(tmp_path, nexus):
    container = Container(tmp_path, nexus)
    ok(container.run())
    container.set_status("nexus", "exited")
    owner = subprocess.Popen(["sleep", "60"])
    try:
        container.flag.write_text(f"{owner.pid} nexus-restore.sh\n")
        calls = len(container.calls())
        result = container.run(NEXUS_MAINTENANCE_WAIT="1")
    finally:
        owner.kill()
        owner.wait()
    assert result.returncode != 0
    assert f"the host is still in maintenance after 1s ({owner.pid} nexus-restore.sh holds" in result.stderr
    assert container.calls()[calls:] == [] and container.containers()["nexus"]["status"] == "exited"
    assert container.flag.read_text() == f"{owner.pid} nexus-restore.sh\n"  # not ours to remove


def test_a_restore_s_pinned_flag_fails_the_step_at_once_naming_make_restore(tmp_path, nexus):
    container = Container(tmp_path, nexus)
    ok(container.run())
    container.set_status("nexus", "exited")
    pin = "0 nexus-restore.sh /root/backup: unfinished; Nexus stays stopped until a restore succeeds\n"
    container.flag.write_text(pin)
    calls = len(container.calls())
    result = container.run(NEXUS_MAINTENANCE_WAIT="600")  # no waiting on a pin: it fails at once
    assert result.returncode != 0
    assert "a restore did not finish and keeps Nexus stopped (nexus-restore.sh /root/backup: unfinished" \
        in result.stderr and "make restore STACK=dev FROM=" in result.stderr
    assert container.calls()[calls:] == [] and container.containers()["nexus"]["status"] == "exited"
    assert container.flag.read_text() == pin


def test_the_database_step_s_migration_pin_is_taken_over_and_released(tmp_path, nexus):
    container = Container(tmp_path, nexus)
    ok(container.run())
    container.set_status("nexus", "exited")
    container.flag.write_text(f"0 {host_layout.MIGRATION_PIN}\n")
    out = ok(container.run(NEXUS_MAINTENANCE_WAIT="600"))
    assert f"took over a pinned maintenance flag (0 {host_layout.MIGRATION_PIN})" in out
    assert container.containers()["nexus"]["status"] == "running" and not container.flag.exists()


def test_a_stale_maintenance_flag_is_taken_back_and_the_run_releases_its_own(tmp_path, nexus):
    container = Container(tmp_path, nexus)
    dead = subprocess.Popen(["true"])
    dead.wait()
    container.state_dir.mkdir()
    container.flag.write_text(f"{dead.pid} nexus-restore.sh\n")
    out = ok(container.run())
    assert f"took back a stale maintenance flag (its command is gone: {dead.pid} nexus-restore.sh)" in out
    assert not container.flag.exists()


def test_the_work_runs_detached_with_its_output_and_status_kept_on_the_host(tmp_path, nexus):
    container = Container(tmp_path, nexus)
    out = ok(container.run())
    match = re.search(r"working in the background \(pid (\d+);.*its output: (\S+)\.out, ", out)
    assert match, out
    base = Path(match.group(2))
    assert base.parent == container.state_dir / "container"
    assert "Nexus is ready" in base.with_suffix(".out").read_text() and base.with_suffix(".rc").read_text() == "0\n"
    nexus.writable = False
    failed = container.run(NEXUS_READY_TIMEOUT="1")
    nexus.writable = True
    # The work's status and its stderr, relayed: a failed run fails the step with the host's words.
    assert failed.returncode == 1 and "did not become writable within 1s" in failed.stderr
    for _ in range(6):
        ok(container.run())
    assert len(list((container.state_dir / "container").glob("*.out"))) == 5  # the newest runs only
