"""What every API area of the fake Nexus shares: the request, the route table entry, body validation.

An area (``security.py``, ``repositories.py``, ...) is a dataclass mixin holding that area's state
and a ``ROUTES`` tuple: ``Route(pattern, handler, methods)``, where ``pattern`` must match the whole
path under ``/service/rest`` and ``handler`` names a method taking the ``Request``.  ``FakeNexus``
(``server.py``) tries its areas' routes in order; no match is a 404, as in Nexus.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

Answer = tuple[int, Any]  # HTTP status and a JSON-able payload (None: no body)


class BadRequest(Exception):
    pass


def validated(model: type, body: Any) -> dict[str, Any]:
    """Validate ``body`` with a generated model and insist it round-trips unchanged (no unknown keys)."""
    if not isinstance(body, dict):
        raise BadRequest(f"expected a JSON object for {model.__name__}")
    try:
        parsed = model.from_dict(body)
    except Exception as error:  # pydantic ValidationError and friends
        raise BadRequest(f"{model.__name__}: {error}") from None
    if parsed.to_dict() != body:
        raise BadRequest(f"{model.__name__}: unknown or mistyped keys: {body} != {parsed.to_dict()}")
    return body


def header(headers: dict[str, str], name: str) -> str:
    """A request header by its case-insensitive name ("" when absent)."""
    return {k.lower(): v for k, v in headers.items()}.get(name.lower(), "")


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # under /service/rest
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    groups: tuple[str | None, ...] = ()  # the route pattern's groups

    def json(self) -> Any:
        content_type = header(self.headers, "content-type")
        if not content_type.startswith("application/json"):
            raise BadRequest(f"Content-Type must be application/json, got {content_type!r}")
        try:
            return json.loads(self.body)
        except json.JSONDecodeError as error:
            raise BadRequest(f"invalid JSON: {error}") from None

    def param(self, name: str, default: str = "") -> str:
        return self.query.get(name, [default])[0]


@dataclass(frozen=True)
class Route:
    pattern: str  # a full match of the path under /service/rest
    handler: str  # the name of the area's method taking the Request
    methods: frozenset[str] | None = None  # None: any method (the handler answers 405 itself)

    def match(self, method: str, path: str) -> tuple[str | None, ...] | None:
        if self.methods is not None and method not in self.methods:
            return None
        found = re.fullmatch(self.pattern, path)
        return None if found is None else found.groups()


def route(pattern: str, handler: str, *methods: str) -> Route:
    return Route(pattern, handler, frozenset(methods) if methods else None)


@dataclass
class Recorder:
    """What every area records: writes (so a test can assert "the second run writes nothing") and the
    requests it refused (``errors``)."""

    writes: list[tuple[str, str]] = field(default_factory=list)
    bodies: list[tuple[str, str, bytes]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _write(self, method: str, path: str) -> None:
        self.writes.append((method, path))
