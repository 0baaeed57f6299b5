"""Per-address budgets at the front door, per shipped stack (issue 20, items 4, 5 and 6).

Password checks (Basic credentials anywhere, the UI login in any spelling), every request
(Nexus CE's daily cap), manifest requests (its component cap), and requests in progress at
once are bounded per client address; Bearer tokens are never slowed by the password budget;
and one address holding 1,200 unfinished requests does not keep another address out.

Counts are read off the connector stubs (what reached Nexus), not only off status codes.
Each flood is bounded in count and time; the bound a budget allows over a flood's own
duration comes from ``front_door.budget_bound``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest

from components.render import nginx as render_nginx
from tests.support.front_door import (
    HOSTED,
    PROXY,
    STACKS,
    WEB,
    budget_bound,
    start_front_door,
)

SPELLINGS = [
    "/service/rapture/session",
    "/service/rapture/session;jsessionid=x",
    "/service/rapture/session/",
    "/service//rapture//session",
    "/service;x/rapture;y/session",
    "/service/rapture/%73ession",
    "/service/rapture/./session",
    "/SERVICE/rapture/session",
]


@pytest.fixture(scope="module", params=STACKS)
def door(request, tmp_path_factory):
    front = start_front_door(tmp_path_factory.mktemp(f"front-door-limits-{request.param}"), request.param)
    yield front
    front.close()


@pytest.fixture(scope="module")
def budgets(door):
    return render_nginx.budgets(door.settings)


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_basic_credentials_share_one_budget_per_address_on_every_host(door, budgets):
    source = "127.0.0.30"
    before = door.seen()
    urls = ([f"{door.registry}/v2/"] * 40 + [f"{door.web}/service/rest/v1/repositories"] * 40
            + [f"{door.mirror}/v2/token?service=x"] * 20 + [f"{door.registry}/v2/token?service=x"] * 20)
    codes, elapsed = timed(lambda: door.statuses(source, urls, "-u", "admin:guess"))
    assert len(codes) == len(urls) and 0 not in codes
    passed = [code for code in codes if code != 429]
    assert len(passed) <= budget_bound(budgets.passwords, elapsed), (len(passed), elapsed)
    assert 429 in codes[:60], codes
    # What reached Nexus with a password is at most what passed (the mirror drops Basic on the way).
    guesses = [s for s in door.seen_since(before) if s.port != PROXY]
    assert len(guesses) <= len(passed) and all(s.header("Authorization") for s in guesses)
    # Another address is not affected; nor is this one's traffic without credentials.
    assert door.status("127.0.0.31", f"{door.registry}/v2/", "-u", "admin:guess") != 429
    assert door.status(source, f"{door.registry}/v2/") != 429


def test_the_ui_login_is_limited_whatever_its_spelling(door, budgets):
    source = "127.0.0.5"  # inside webAllowedCidrs: what passes reaches the stand-in
    before = door.seen()
    urls = [f"{door.web}{SPELLINGS[i % len(SPELLINGS)]}" for i in range(80)]
    login = ("--path-as-is", "--data", "username=YQ%3D%3D&password=Yg%3D%3D")
    codes, elapsed = timed(lambda: door.statuses(source, urls, *login))
    passed = [code for code in codes if code != 429]
    assert len(passed) <= budget_bound(budgets.passwords, elapsed), (len(passed), elapsed)
    logins = [s for s in door.seen_since(before) if s.port == WEB]
    assert len(logins) == len(passed)
    # Every spelling got through at least once before the budget ran out: they all are logins to Jetty.
    assert {s.path for s in logins} >= set(SPELLINGS[:5])
    # Browsing the UI from that address goes on: not a login, no credentials.
    assert door.status(source, f"{door.web}/") == 200


def test_bearer_tokens_are_not_slowed(door, budgets):
    count = min(400, budgets.requests.burst - 10)
    url = f"{door.registry}/v2/team/app/blobs/sha256:{'1' * 64}"
    codes = door.statuses("127.0.0.6", [url] * count, "-H", "Authorization: Bearer some.jwt.token")
    assert len(codes) == count and 429 not in codes


def test_anonymous_requests_are_bounded_per_address(door, budgets):
    source = "127.0.0.40"
    tries = budgets.requests.burst + 300
    before = door.seen()
    codes, elapsed = timed(lambda: door.statuses(source, [f"{door.mirror}/v2/"] * tries, timeout=300))
    passed = [code for code in codes if code != 429]
    assert len(passed) <= budget_bound(budgets.requests, elapsed) and codes.count(429) > 0, (len(passed), elapsed)
    assert len([s for s in door.seen_since(before) if s.port == PROXY]) == len(passed)
    # The budget is the address's, on every host; another address is served.
    assert door.statuses(source, [f"{door.registry}/v2/"] * 20).count(429) >= 10
    assert door.status("127.0.0.41", f"{door.mirror}/v2/") == 401


def test_manifest_requests_are_bounded_per_address(door, budgets):
    source = "127.0.0.42"
    tries = budgets.manifests.burst + 100
    url = f"{door.mirror}/v2/library/alpine/manifests/3"
    codes, elapsed = timed(lambda: door.statuses(source, [url] * tries, timeout=300))
    passed = [code for code in codes if code != 429]
    assert len(passed) <= budget_bound(budgets.manifests, elapsed) and codes.count(429) > 0, (len(passed), elapsed)
    # Blobs (the bulk of a pull) still flow: the manifest budget is its own.
    assert door.status(source, f"{door.mirror}/v2/library/alpine/blobs/sha256:{'0' * 64}") != 429


def test_one_address_holding_many_unfinished_requests_does_not_keep_others_out(door, budgets):
    # New clients, each on a new connection (any worker may accept it), from other addresses,
    # while the flood builds up and while it holds.
    close = ("-H", "Connection: close")
    probes = (("127.0.0.51", f"{door.registry}/v2/", 401), ("127.0.0.52", f"{door.mirror}/v2/", 401),
              ("127.0.0.7", f"{door.web}/service/rest/v1/status", 200))
    answers: list[tuple[str, int, int]] = []
    flood = door.flood("127.0.0.50", door.registry, count=1200, hold=30)
    ready: dict = {}
    reader = threading.Thread(target=lambda: ready.update(json.loads(flood.stdout.readline() or "{}")))
    reader.start()
    try:
        deadline = time.monotonic() + 120
        rounds_after_ready = 0
        while rounds_after_ready < 2 and time.monotonic() < deadline:
            if ready:
                rounds_after_ready += 1
            for source, url, wanted in probes:
                answers += [(url, wanted, code) for code in door.statuses(source, [url] * 5, *close)]
        reader.join(timeout=10)
        held = [s for s in door.seen() if s.port == HOSTED and s.path == "/v2/flood/blobs/uploads/"]
    finally:
        flood.kill()
        flood.wait(timeout=30)
    refused = [answer for answer in answers if answer[1] != answer[2]]
    assert answers and not refused, (refused[:10], len(answers), ready)
    # Each of the 1,200 was accepted (the ones over the budget answered 429): nothing was turned away.
    assert ready.get("established") == 1200, ready
    assert len(held) <= budgets.connections
    assert "worker_connections are not enough" not in door.error_logs()


def test_nginx_is_sized_for_the_host(door):
    conf = door.sandbox.path("/etc/nginx/nginx.conf").read_text()
    assert re.search(rf"^\s*worker_connections {render_nginx.WORKER_CONNECTIONS};", conf, re.M)
    assert re.search(rf"^worker_rlimit_nofile {render_nginx.WORKER_OPEN_FILES};", conf, re.M)
    master = door.sandbox.nginx_master_pid()
    workers = [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    assert workers
    for pid in workers:
        limits = Path(f"/proc/{pid}/limits").read_text()
        soft = int(re.search(r"^Max open files\s+(\d+)", limits, re.M).group(1))
        assert soft >= render_nginx.WORKER_OPEN_FILES
