"""Metrics: the nginx location that gates /service/metrics/*, and the read-only metrics user."""

from __future__ import annotations

import re

from components.render import nexus_security
from components.render.nginx import render_site_config
from tests.support.settings import make_settings

LOCATION = re.compile(r'location ~ "\^/service[^"]*metrics[^"]*" \{(.*?)\n    \}', re.S)


def metrics_block(settings) -> str:
    [block] = LOCATION.findall(render_site_config(settings))
    return block


def test_without_metrics_allowed_cidrs_nobody_reaches_the_metrics():
    block = metrics_block(make_settings("dev", webAllowedCidrs=["10.0.0.0/8"]))
    assert "allow" not in block and "deny all;" in block


def test_the_metrics_allow_list_replaces_the_web_one_for_the_metrics_only():
    block = metrics_block(make_settings("dev", webAllowedCidrs=["10.0.0.0/8"], metricsAllowedCidrs=["10.9.0.0/24"]))
    assert re.findall(r"allow (\S+);", block) == ["127.0.0.1", "::1", "10.9.0.0/24"]
    assert block.index("deny all;") < block.index("proxy_pass http://nexus_registry_web;")


def test_a_metrics_user_holds_only_the_metrics_role():
    settings = make_settings("dev", users=[{"name": "ci", "role": "push"}, {"name": "prometheus", "role": "metrics"}],
                             userPasswords='{"ci": "Ci-Push-Password-17", "prometheus": "Prom-Scrape-Password-5"}')
    users = {user["userId"]: user["roles"] for user in nexus_security.users(settings)}
    assert users["prometheus"] == [nexus_security.ROLE_METRICS]
    [role] = [r for r in nexus_security.roles(settings) if r["id"] == nexus_security.ROLE_METRICS]
    assert role["privileges"] == ["nx-metrics-all"]
