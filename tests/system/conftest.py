"""Fixtures of the system tests (tests/conftest.py has the fake Nexus ones every test may use)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.postgres import start_postgres
from tests.support.up_scripts import repository_copy


@pytest.fixture
def repo(tmp_path) -> Path:
    """A copy of the repository (scripts, components, stacks with the test stand-ins) and a venv wrapper,
    for running ``make up`` and friends (tests/support/up_scripts.py runs them)."""
    return repository_copy(tmp_path)


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL on 127.0.0.1 with TLS (one per module); ``nexus`` must use TLS, ``plain`` may not."""
    yield from start_postgres()
