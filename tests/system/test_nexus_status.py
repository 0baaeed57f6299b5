"""`nexus-status.sh` run for real (bash, curl, jq, openssl, df, awk) against the fake Nexus.

Each case changes one thing the operator must hear about and checks the line says
so, with a WARNING from 80 % of a cap, and the exit status (0 fine, 3 warnings).
"""

from __future__ import annotations

import gzip
import re
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest

from components.render import nexus_lifecycle as lifecycle
from tests.support.host_scripts import stub
from tests.support.nexus_status_host import StatusHost
from tests.support.settings import ADMIN_PASSWORD, make_settings

GIB = 1024**3


@pytest.fixture
def fake(start_nexus):
    nexus = start_nexus(admin_password=ADMIN_PASSWORD)
    # What the bootstrap sets for dev (a 50 GiB data disk): tests/system/test_nexus_lifecycle.py shows it.
    nexus.blob_stores["default"]["softQuota"] = lifecycle.blob_store_quota(make_settings("dev"))
    return nexus


def line(out: str, label: str) -> str:
    found = [text for text in out.splitlines() if text.strip().startswith(label)]
    assert found, f"no {label!r} line in:\n{out}"
    return found[0]


def test_a_healthy_registry_within_its_caps(tmp_path, fake):
    result = StatusHost(tmp_path, fake).run()
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert out.startswith("nexus-registry status: Nexus 3.86.2 (COMMUNITY)")
    assert re.search(r"components\s+5200 / 100000 \(5 %\)\s+ok$", line(out, "components"))
    assert re.search(r"1500 / 200000 \(0 %\)\s+ok$", line(out, "requests per day"))
    assert re.search(r"1500 / 20000 \(7 %\)\s+ok$", line(out, "requests vs H2 limit"))
    assert re.search(r"3\.0 GiB of its 40\.0 GiB soft quota \(7 %\), 40\.0 GiB free\s+ok$",
                     line(out, "blob store default"))
    assert line(out, f"disk {tmp_path}").endswith("ok")
    certs = [text for text in out.splitlines() if text.strip().startswith("certificate")]
    assert len(certs) == 2 and all(re.search(r"\(in (79|80) days\)\s+ok$", text) for text in certs), certs
    assert re.search(r"writable, 2/2 status checks healthy\s+ok$", line(out, "Nexus health"))
    assert "all within limits" in out


def test_the_lower_caps_of_3_87_warn_at_80_percent(tmp_path, fake):
    fake.server_header = "Nexus/3.88.1-02 (COMMUNITY)"
    fake.daily_components = [31000, 32500]
    fake.daily_requests = [70000, 79999]
    result = StatusHost(tmp_path, fake).run()
    out = result.stdout
    assert result.returncode == 3, out
    assert re.search(r"32500 / 40000 \(81 %\)\s+WARNING$", line(out, "components"))
    assert re.search(r"79999 / 100000 \(79 %\)\s+ok$", line(out, "requests per day"))
    assert re.search(r"79999 / 20000 \(399 %\)\s+WARNING$", line(out, "requests vs H2 limit"))
    assert "2 warning(s)" in out and "Usage caps and health" in out


@pytest.mark.parametrize("how", ["database.engine", "nexus-store.properties"])
def test_postgresql_has_no_h2_line_and_pro_has_no_caps(tmp_path, fake, how):
    settings = make_settings("dev", database={"engine": "postgresql"}) if how == "database.engine" else None
    if how == "nexus-store.properties":
        fabric = tmp_path / "nexus-data" / "etc" / "fabric"
        fabric.mkdir(parents=True)
        (fabric / "nexus-store.properties").write_text("jdbcUrl=jdbc\\:postgresql\\://db\\:5432/nexus\n")
    fake.server_header = "Nexus/3.90.3-01 (PRO)"
    fake.daily_requests = [450000]
    result = StatusHost(tmp_path, fake, settings=settings).run()
    out = result.stdout
    assert result.returncode == 0, out
    assert "requests vs H2 limit" not in out
    assert "none for PRO 3.90.3" in line(out, "edition caps")
    assert re.search(r"requests per day\s+450000\s+ok$", line(out, "requests per day"))


def test_without_a_usage_api_requests_are_counted_from_the_request_log(tmp_path, fake):
    fake.usage_api = False
    host = StatusHost(tmp_path, fake)
    now = datetime.now(UTC)

    def entry(age: timedelta, path: str) -> str:
        stamp = (now - age).strftime("%d/%b/%Y:%H:%M:%S +0000")
        return f'172.17.0.1 - admin [{stamp}] "GET {path} HTTP/1.1" 200 - 1024 12 "docker/26.1" [qtp-1]\n'

    logs = host.data / "log"
    (logs / "request.log").write_text(
        entry(timedelta(minutes=5), "/repository/pypi-proxy/simple/requests/")
        + entry(timedelta(hours=2), "/v2/library/alpine/manifests/3.20")
        + entry(timedelta(hours=3), "/service/rest/v1/status")  # not repository content
    )
    with gzip.open(logs / f"request-{(now - timedelta(days=1)):%Y-%m-%d}.log.gz", "wt") as old:
        old.write(entry(timedelta(hours=23), "/repository/docker-group/v2/")
                  + entry(timedelta(hours=25), "/repository/docker-group/v2/"))  # outside the 24 h
    result = host.run()
    assert re.search(r"3 / 200000 \(0 %\)\s+ok$", line(result.stdout, "requests per day")), result.stdout
    assert "last 24 h, request log" in result.stdout
    assert "not reported by this release" in line(result.stdout, "components")


@pytest.mark.parametrize("problem, label, words", [
    ("certificate", "certificate", "nexus.example.com: expires"),
    ("quota", "blob store default", "soft quota (100 %)"),
    ("health", "Nexus health", "unhealthy: Blob Stores"),
    ("read-only", "Nexus health", "writable: no (HTTP 503)"),
])
def test_each_problem_is_a_warning(tmp_path, fake, problem, label, words):
    host = StatusHost(tmp_path, fake, cert_days=(10, 80) if problem == "certificate" else (80, 80))
    if problem == "quota":
        fake.blob_store_used_bytes = 40 * GIB + 1
    if problem == "health":
        fake.health["Blob Stores"] = {"healthy": False, "message": "default is over its soft quota"}
    if problem == "read-only":
        fake.writable = False
    result = host.run()
    assert result.returncode == 3, result.stdout + result.stderr
    warned = [text for text in result.stdout.splitlines() if text.strip().startswith(label) and "WARNING" in text]
    assert warned and words in warned[0], result.stdout


def test_a_nexus_that_does_not_answer_is_an_error_not_a_report(tmp_path, fake):
    host = StatusHost(tmp_path, fake)
    fake.stop()
    started = time.monotonic()
    result = host.run()
    assert result.returncode == 1
    assert "Nexus does not answer" in result.stderr and "docker logs" in result.stderr
    assert time.monotonic() - started < 30
    fake.start()  # the fixture stops it again


def test_a_data_disk_under_one_gib_is_reported_in_bytes(tmp_path, fake):
    # Whole-GiB arithmetic divided by zero here (issue 21): a 500 MiB disk, 90 % used.
    stub(tmp_path / "bin", "df", 'echo "Filesystem 1B-blocks Used Available Capacity Mounted on"\n'
                                 'echo "/dev/loop0 524288000 471859200 52428800 90% /srv/nexus"\n')
    host = StatusHost(tmp_path, fake)
    result = host.run()
    assert result.returncode == 3, result.stdout + result.stderr
    assert re.search(r"450MiB used of 500MiB \(90 %\), 50MiB free\s+WARNING$", line(result.stdout, f"disk {tmp_path}"))
    stub(tmp_path / "bin", "df", 'echo "Filesystem 1B-blocks Used Available Capacity Mounted on"\n'
                                 'echo "none 0 0 0 - /srv/nexus"\n')
    result = host.run()
    assert result.returncode == 0 and re.search(r"0B used of 0B \(0 %\), 0B free\s+ok$",
                                                line(result.stdout, f"disk {tmp_path}"))


def test_the_watchdog_and_the_maintenance_flag_are_shown(tmp_path, fake):
    host = StatusHost(tmp_path, fake)
    out = host.run().stdout
    assert re.search(r"no run recorded .*nexus-registry-watchdog\.timer active\?\s+unknown$", line(out, "watchdog"))
    now = int(time.time())
    (tmp_path / "watchdog.state").write_text(
        f"checked={now - 30}\nresult=ok\nmessage=container nexus is running\naction_at={now - 3600}\n"
        "action=started container nexus (it was exited)\n")
    owner = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / "maintenance").write_text(f"{owner.pid} nexus-restore.sh\n")
        result = host.run()
    finally:
        owner.kill()
        owner.wait()
    assert result.returncode == 0, result.stdout
    assert re.search(r"ok \(container nexus is running\)\s+ok$", line(result.stdout, "watchdog "))
    assert re.search(r": started container nexus \(it was exited\)\s+ok$", line(result.stdout, "watchdog last action"))
    assert re.search(rf"held by {owner.pid} nexus-restore.sh: the watchdog leaves Nexus alone\s+ok$",
                     line(result.stdout, "maintenance"))
    # A last check 20 minutes old: the timer is not running.
    (tmp_path / "watchdog.state").write_text(f"checked={now - 1200}\nresult=ok\nmessage=m\naction_at=\naction=\n")
    result = host.run()
    assert result.returncode == 3 and line(result.stdout, "watchdog").endswith("WARNING")
    assert "stale flag" in line(result.stdout, "maintenance")
