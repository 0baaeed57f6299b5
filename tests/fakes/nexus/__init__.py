"""A small fake Nexus 3 REST API for running the real host scripts against (``FakeNexus``).

Implements only the endpoints the Nexus host scripts use (bootstrap, container, status, retention,
backups, health), with Nexus's behaviour where it matters; every JSON body is validated with the
models of ``nexus-api-client`` (generated from Nexus's OpenAPI spec) and, stricter than
``from_dict``, must round-trip through the model unchanged, so an unknown or misspelt key is a 400.
Every write is recorded in ``writes`` so tests can assert "the second run writes nothing"; every
request body is kept in ``bodies``; every refused request is in ``errors``.

One module per API area, each a dataclass mixin with its state and a route table (``api.py`` says how):
``security.py`` (callers, users, roles, realms, anonymous access, SSRF protection),
``repositories.py`` (repositories, listing and search), ``components.py`` (docker components and
manifests), ``cleanup.py`` (cleanup policies), ``tasks.py``, ``blob_stores.py``, ``system.py``
(EULA, health checks, usage history); ``server.py`` serves them.

This package imports nothing of the program (only ``nexus-api-client``): the fresh-host stand-in
image (tests/system/fresh_host.py, tests/system/standin_nexus.py) copies it and runs it alone.
The host set-up the script tests share (``BootstrapHost``, test settings) is in tests/support/nexus_host.py.
"""

from tests.fakes.nexus.api import BadRequest, validated
from tests.fakes.nexus.components import DockerContent
from tests.fakes.nexus.server import FakeNexus
from tests.fakes.nexus.system import DISCLAIMER
from tests.fakes.nexus.tasks import EXPOSED_TASK_TYPES

__all__ = ["DISCLAIMER", "EXPOSED_TASK_TYPES", "BadRequest", "DockerContent", "FakeNexus", "validated"]
