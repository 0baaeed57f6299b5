"""The front door's rules as rendered text (issue 20): what may pass to Nexus, the per-address
budgets and where they come from, the forwarding headers, the worker sizing of nginx.conf.

tests/system/test_front_door_*.py run the same files under real nginx with stubs on every
Nexus port; these pin the arithmetic and the grammar so a regression names its rule.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from components import settings as stack_settings
from components.render import nginx
from tests.harness import run_stack, stack_file_config
from tests.harness import stack_settings as settings_of
from tests.support.nginx_config import block_for, code, server_blocks

DIGEST = "sha256:" + "0f" * 32


def with_limits(stack: str = "dev", **limits):
    config = stack_file_config(stack)
    config["nexus-registry:limits"] = limits
    return stack_settings.from_mapping(stack, config, secret_placeholders=True)


def map_rules(config: str, variable: str) -> list[re.Pattern]:
    body = re.search(rf"map \S+(?: \S+)? \${variable} \{{(.*?)\n\}}", config, re.S).group(1)
    return [re.compile(match) for match in re.findall(r'^\s*"~(.*)"\s+1;$', body, re.M)]


def passes(rules: list[re.Pattern], key: str) -> bool:
    return any(rule.search(key) for rule in rules)


@pytest.fixture(scope="module")
def site():
    return nginx.render_site_config(settings_of("dev"))


API = [
    "/v2/", "/v2/token", "/v2/token?account=ci&scope=repository:team/app:pull,push&service=x", "/v2/_catalog",
    "/v2/library/alpine/manifests/3.20", f"/v2/library/alpine/manifests/{DIGEST}", f"/v2/team/app/api/blobs/{DIGEST}",
    "/v2/team/app/blobs/uploads/", "/v2/team/app/blobs/uploads/6f1c2b7e-0d4a-4c1e?_state=a%3D%3D",
    f"/v2/team/app/blobs/uploads/?mount={DIGEST}&from=library/alpine", "/v2/a__b/c-d.e/tags/list",
    f"/v2/team/app/referrers/{DIGEST}", "/v2/library/alpine/manifests/latest?ns=docker.io",
]
NOT_API = [
    "/", "/v2", "/V2/", "/service/rest/v1/status", "/repository/docker-hosted/v2/", "/v2/../service/rest/v1/status",
    "/v2/%2e%2e/service", "/v2/..;/service", "/v2;x/", "/v2/token;x", "/v2/token/", "//v2/", "/v2//team/manifests/1",
    "/v2/team/../manifests/1", "/v2/team/./app/manifests/1", "/v2/team/app/manifests/..",
    "/v2/team/app/manifests/.hidden", "/v2/Team/app/manifests/1", "/v2/team/app/manifests/1;jsessionid=x",
    "/v2/team%2fapp/manifests/1", "/v2/team\\..\\app/manifests/1", "/v2/team/app/blobs/../../../service",
    "/v2/team/app/blobs/uploads/..;", "/v2/team/app/manifests/1/", "/v2/-team/manifests/1",
    "/v2/team/app/tags/list/../../../../service", "/v2/team/app/manifests/" + "a" * 129,
    "http://evil.example/v2/", "/v2/team/app/blobs/sha256:..", "/v2/team/app/blobs/uploads/.%2e",
]


@pytest.mark.parametrize("target", API)
def test_registry_api_targets_pass(site, target):
    assert passes(map_rules(site, "nexus_registry_api"), f"GET {target}")


@pytest.mark.parametrize("target", NOT_API)
def test_anything_else_is_answered_by_nginx(site, target):
    rules = map_rules(site, "nexus_registry_api")
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        assert not passes(rules, f"{method} {target}"), (method, target)


def test_only_the_registry_methods_pass(site):
    rules = map_rules(site, "nexus_registry_api")
    for method in ("OPTIONS", "TRACE", "PROPFIND", "CONNECT", "get"):
        assert not passes(rules, f"{method} /v2/")


@pytest.mark.parametrize("target, ok", [
    ("/v2/", True), ("/v2/token?scope=repository:library/alpine:pull", True),
    ("/v2/library/alpine/manifests/3", True), (f"/v2/library/alpine/blobs/{DIGEST}", True),
    ("/v2/_catalog", False), ("/v2/library/alpine/tags/list", False), (f"/v2/library/alpine/referrers/{DIGEST}", False),
    ("/v2/library/alpine/blobs/uploads/", False), ("/service/rest/v1/search?repository=docker-hosted", False),
    ("/repository/docker-hosted/v2/", False), ("/", False), ("/v2/..;/service", False),
])
def test_the_mirror_passes_what_a_pull_needs_and_nothing_else(site, target, ok):
    assert passes(map_rules(site, "nexus_registry_mirror_api"), target) is ok


def test_the_api_is_judged_on_the_raw_target_and_answered_before_nexus(site):
    assert 'map "$request_method $request_uri" $nexus_registry_api {' in site
    assert "map $request_uri $nexus_registry_mirror_api {" in site
    dev = settings_of("dev")
    registry = block_for(site, dev.registry_fqdn, "443")
    assert re.search(r"if \(\$nexus_registry_api = 0\) \{\s*return 404;\s*\}", registry)
    mirror = block_for(site, dev.registry_fqdn, str(dev.registry_mirror_port))
    assert re.search(r"if \(\$nexus_registry_mirror_api = 0\) \{\s*return 404;\s*\}", mirror)


# --- budgets -------------------------------------------------------------------------------


@pytest.mark.parametrize("total", [2, 3, 10, 59, 60, 61, 600, 6000])
def test_a_per_minute_budget_lets_at_most_its_total_through_in_any_minute(total):
    budget = nginx.per_minute_budget(total)
    rate = int(budget.rate.removesuffix("r/m"))
    assert budget.burst >= 0 and rate >= 1
    assert budget.burst + 1 + rate == total  # all at once, then the bucket refills for a minute


@pytest.mark.parametrize("total", [100, 3600, 9000, 10_000, 123_457, 10_000_000])
def test_a_per_hour_budget_lets_at_most_its_total_through_in_any_hour(total):
    budget = nginx.per_hour_budget(total)
    rate = int(budget.rate.removesuffix("r/m"))
    assert rate >= 1 and budget.burst == total // 10
    assert total - 61 <= budget.burst + 1 + 60 * rate <= total


def test_default_budgets_come_from_the_community_edition_caps():
    budgets = nginx.budgets(settings_of("dev"))
    assert budgets.passwords.total == 60 and budgets.passwords.window == "minute"
    # CE 3.87+: 100,000 requests a day and 40,000 components; no address gets a tenth of either in an hour.
    assert budgets.requests.total < 100_000 // 10 and budgets.manifests.total < 40_000 // 10
    assert budgets.connections == 256


def test_budgets_are_settings_and_reach_the_rendered_zones():
    custom = with_limits(passwordChecksPerMinute=20, requestsPerHour=1200, manifestsPerHour=600,
                         connectionsPerAddress=32)
    site = nginx.render_site_config(custom)
    assert "zone=nexus_registry_passwords:10m rate=10r/m;" in site
    assert "zone=nexus_registry_requests:10m rate=17r/m;" in site  # (1200 - 120 - 1) // 60
    assert "zone=nexus_registry_manifests:10m rate=8r/m;" in site
    proxied = [block for block in server_blocks(site) if "proxy_pass" in block]
    assert len(proxied) == 3  # registry, mirror, web
    for block in proxied:
        for directive in ("limit_req zone=nexus_registry_passwords burst=9 nodelay;",
                          "limit_req zone=nexus_registry_requests burst=120 nodelay;",
                          "limit_req zone=nexus_registry_manifests burst=60 nodelay;",
                          "limit_req_status 429;", "limit_conn nexus_registry_connections 32;",
                          "limit_conn_status 429;"):
            assert directive in block, directive


@pytest.mark.parametrize("limits, key, words", [
    ({"passwordChecksPerMinute": 1}, "limits.passwordChecksPerMinute", "2..6000"),
    ({"requestsPerHour": "lots"}, "limits.requestsPerHour", "not a whole number"),
    ({"connectionsPerAddress": 100000}, "limits.connectionsPerAddress", "16..2048"),
    ({"manifestPerHour": 10}, "limits.manifestPerHour", "not a known setting"),
])
def test_bad_limits_name_their_key_before_any_resource(limits, key, words):
    with pytest.raises(stack_settings.SettingsError) as caught:
        run_stack("dev", {"limits": limits})
    (problem,) = caught.value.problems
    assert problem.startswith(f"nexus-registry:{key}: ") and words in problem, problem
    assert caught.value.program_run.resources == []


def password_key_rule(site: str) -> re.Pattern:
    body = re.search(r"map \$uri \$nexus_registry_password_key \{(.*?)\n\}", site, re.S).group(1)
    (pattern,) = re.findall(r'"~\*(.*)"\s+\$binary_remote_addr;', body)
    return re.compile(pattern, re.I)


@pytest.mark.parametrize("uri, login", [
    ("/service/rapture/session", True), ("/service/rapture/session;jsessionid=x", True),
    ("/service/rapture/session/", True), ("/service;a/rapture;b/session;c", True),
    ("/Service/Rapture/Session", True), ("/service/rapture/session/x", True),
    ("/service/rapture/sessions", False), ("/static/rapture/baseapp-prod.js", False),
    ("/service/rest/v1/status", False), ("/service/extdirect", False),
])
def test_every_spelling_of_the_ui_login_is_a_password_check(site, uri, login):
    # $uri is already decoded, with "//" merged and "." / ".." resolved by nginx; Jetty drops ";params".
    assert bool(password_key_rule(site).search(uri)) is login


def test_basic_credentials_in_any_case_are_password_checks_and_bearer_tokens_are_not(site):
    body = re.search(r"map \$http_authorization \$nexus_registry_basic_client \{(.*?)\n\}", site, re.S).group(1)
    assert re.search(r'^\s*default\s+"";$', body, re.M)
    (pattern,) = re.findall(r'"~\*(.*)"\s+\$binary_remote_addr;', body)
    for header, counted in (("Basic Y2k6eA==", True), ("basic Y2k6eA==", True), ("BASICY2k6eA==", True),
                            ("Bearer abc.def", False), ("", False)):
        assert bool(re.search(pattern, header, re.I)) is counted, header


# --- connections, timeouts, forwarding headers ------------------------------------------------


def test_every_server_keeps_slow_clients_short(site):
    for block in server_blocks(site):
        assert f"client_header_timeout {nginx.CLIENT_TIMEOUTS.header};" in block
        assert f"keepalive_timeout {nginx.CLIENT_TIMEOUTS.keepalive};" in block
        if "proxy_pass" in block:
            assert f"client_body_timeout {nginx.CLIENT_TIMEOUTS.body};" in block
            assert f"send_timeout {nginx.CLIENT_TIMEOUTS.send};" in block


def test_every_proxied_request_carries_only_the_forwarding_headers_nginx_sets(site):
    assert set(nginx.CLEARED_FORWARDING_HEADERS) >= {
        "Forwarded", "X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Server", "X-Forwarded-Prefix",
        "X-Proxied-Https", "Proxy-auth-cert", "Proxy-ssl-id"}
    locations = re.findall(r"location / \{(.*?)\n    \}", code(site), re.S)
    assert len(locations) == 3
    for location in locations:
        for header in nginx.CLEARED_FORWARDING_HEADERS:
            assert f'proxy_set_header {header} "";' in location, header
        assert "proxy_set_header X-Forwarded-For $remote_addr;" in location
        assert "proxy_set_header X-Forwarded-Proto https;" in location
        assert "$proxy_add_x_forwarded_for" not in location
        assert re.search(r"proxy_set_header Authorization \$(http_authorization|nexus_registry_mirror_authorization);",
                         location)


# --- nginx.conf: workers and open files ----------------------------------------------------------


def size_workers(conf: str) -> str:
    script = nginx.render_deploy_script(settings_of("dev"))
    function = re.search(r"^size_workers\(\) \{.*?^\}$", script, re.S | re.M).group(0)
    program = (f"WORKER_CONNECTIONS={nginx.WORKER_CONNECTIONS}\nWORKER_OPEN_FILES={nginx.WORKER_OPEN_FILES}\n"
               f"{function}\nsize_workers")
    return subprocess.run(["bash", "-c", program], input=conf, capture_output=True, text=True, check=True).stdout


DEBIAN = ("user www-data;\nworker_processes auto;\npid /run/nginx.pid;\nevents {\n\tworker_connections 768;\n}\n"
          "http {\n}\n")
EL = ("user nginx;\nworker_processes auto;\nerror_log /var/log/nginx/error.log;\n\nevents {\n"
      "    worker_connections 1024;\n}\n\nhttp {\n    server {\n        listen 80;\n    }\n}\n")


@pytest.mark.parametrize("conf", [DEBIAN, EL], ids=["debian", "el"])
def test_the_deploy_script_raises_connections_and_open_files_once(conf):
    sized = size_workers(conf)
    assert re.search(rf"^\s*worker_connections {nginx.WORKER_CONNECTIONS};", sized, re.M)
    assert re.search(rf"^worker_processes auto;\nworker_rlimit_nofile {nginx.WORKER_OPEN_FILES};", sized, re.M)
    assert size_workers(sized) == sized  # a second run changes nothing
    assert len(sized.splitlines()) == len(conf.splitlines()) + 1


def test_larger_values_set_by_hand_are_kept_and_missing_ones_added():
    custom = "worker_rlimit_nofile 100000;\nevents {\n    worker_connections 20000;\n}\n"
    assert size_workers(custom) == custom
    bare = "events {\n    use epoll;\n}\n"
    assert size_workers(bare) == (
        f"worker_rlimit_nofile {nginx.WORKER_OPEN_FILES};  # nexus-registry\nevents {{\n"
        f"    use epoll;\n\tworker_connections {nginx.WORKER_CONNECTIONS};  # nexus-registry\n}}\n")


def test_workers_hold_a_flood_of_slow_connections_with_room_for_everyone_else():
    # One address's 1,200 unfinished requests must not exhaust a worker (issue 20); each proxied
    # request takes two connections and two descriptors.
    assert nginx.WORKER_CONNECTIONS >= 2 * 1200 + 1024
    assert nginx.WORKER_OPEN_FILES >= 2 * nginx.WORKER_CONNECTIONS
