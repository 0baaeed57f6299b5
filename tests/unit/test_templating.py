"""Every template renders through one strict environment: a missing value is an error, never ''."""

from __future__ import annotations

import jinja2
import pytest

from components.render.templating import ENVIRONMENT, TEMPLATES, render_template

ALL_TEMPLATES = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.j2"))


def test_every_template_is_found():
    assert {"nginx/nexus-registry.conf.j2", "host/deploy-nginx.sh.j2", "host/nexus-bootstrap.sh.j2"} <= set(
        ALL_TEMPLATES)
    assert ENVIRONMENT.undefined is jinja2.StrictUndefined


@pytest.mark.parametrize("template", ALL_TEMPLATES)
def test_a_template_refuses_a_missing_value(template):
    with pytest.raises(jinja2.UndefinedError):
        render_template(template)


def test_shell_quoting_filter():
    assert ENVIRONMENT.from_string("x={{ v | shq }}").render(v="a b'c") == "x='a b'\"'\"'c'"
    assert ENVIRONMENT.from_string("x={{ v | shq }}").render(v=None) == "x=''"
