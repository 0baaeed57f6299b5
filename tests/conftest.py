"""Fixtures every test may use (pytest finds them by name; nothing to import).

Where the rest lives: tests/support/ (set-up code imported by tests: settings factories in
settings.py, ``ok``/``require_tool`` in commands.py, the Nexus host under a temporary root in
nexus_host.py, the nginx/registry sandboxes), tests/fakes/ (stand-ins for services: the fake Nexus in
fakes/nexus/), tests/harness.py (the Pulumi program under mocks), tests/system/conftest.py (fixtures
of the system tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakes.nexus import FakeNexus
from tests.support.nexus_host import BootstrapHost
from tests.support.settings import make_settings


@pytest.fixture
def start_nexus() -> Iterator[Callable[..., FakeNexus]]:
    """Start a fake Nexus with the given state (``start_nexus(admin_password=..., usage_api=False)``); every
    one started is stopped when the test ends."""
    started: list[FakeNexus] = []

    def start(**state: Any) -> FakeNexus:
        fake = FakeNexus(**state).start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


@pytest.fixture
def nexus(start_nexus) -> FakeNexus:
    """A fake Nexus as a fresh install answers (generated admin password ``generated-0f3c``).  A module
    that needs another starting state overrides this fixture with ``start_nexus(...)``."""
    return start_nexus()



@pytest.fixture
def bootstrap_host(tmp_path) -> Callable[..., BootstrapHost]:
    """``bootstrap_host(nexus, settings=None)``: the bootstrap's files under a temporary host root
    (``tmp_path / "root"``; settings: ``make_settings()``), pointed at ``nexus``."""
    def make(nexus: FakeNexus, settings=None, root: str = "root") -> BootstrapHost:
        return BootstrapHost(tmp_path / root, settings or make_settings(), nexus.url)

    return make
