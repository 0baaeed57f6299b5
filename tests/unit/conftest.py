"""Fixtures of the unit tests (the fake Nexus ones, shared with the system tests, are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.support.preflight import cos_stub


@pytest.fixture
def cos(tmp_path, monkeypatch):
    """A COS stub (S3 API) under its COS names, resolving to 127.0.0.1 only, with the AWS settings make up exports."""
    yield from cos_stub(tmp_path, monkeypatch)
