"""The EULA, health checks and usage history.

- the EULA can only be accepted by sending back Nexus's own disclaimer (``eula_api=False``: a Nexus
  without the endpoint);
- ``/v1/status/check`` (a map of check name to result) and the usage history of 3.94+ (``usage_api``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from nexus_api_client.models.eula_status import EulaStatus

from tests.fakes.nexus.api import Answer, BadRequest, Recorder, Request, route, validated

try:  # typed from nexus-api-client 3.94 on; 3.93 documents /v1/usage-history without a schema
    from nexus_api_client.models.usage_history_xo import UsageHistoryXO
except ImportError:  # pragma: no cover - depends on the pinned client
    UsageHistoryXO = None

DISCLAIMER = "Use of Sonatype Nexus Repository - Community Edition is governed by the End User License Agreement."


@dataclass
class SystemApi(Recorder):
    eula_api: bool = True
    eula_accepted: bool = False
    writable: bool = True
    usage_api: bool = True
    daily_requests: list[int] = field(default_factory=lambda: [1200, 1500, 900])
    daily_components: list[int] = field(default_factory=lambda: [5000, 5100, 5200])
    health: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        "Blob Stores": {"healthy": True, "message": None},
        "Read-Only Detector": {"healthy": True, "message": "Nexus is writable"},
    })

    ROUTES = (
        route(r"/v1/system/eula", "_get_eula", "GET"),
        route(r"/v1/system/eula", "_post_eula", "POST"),
        route(r"/v1/status/check", "_status_check", "GET"),
        route(r"/v1/usage-history", "_usage_history", "GET"),
    )

    def _get_eula(self, _request: Request) -> Answer:
        if not self.eula_api:
            return 404, None
        return 200, {"accepted": self.eula_accepted, "disclaimer": DISCLAIMER}

    def _post_eula(self, request: Request) -> Answer:
        if not self.eula_api:
            return 404, None
        status = validated(EulaStatus, request.json())
        if status.get("disclaimer") != DISCLAIMER:
            raise BadRequest("the disclaimer must be sent back unchanged")
        self.eula_accepted = bool(status.get("accepted"))
        self._write(request.method, request.path)
        return 204, None

    def _status_check(self, _request: Request) -> Answer:
        return 200, copy.deepcopy(self.health)  # 3.x: a map of check name to result

    def _usage_history(self, request: Request) -> Answer:
        if not self.usage_api:
            return 404, None
        metric, period = request.param("metric"), request.param("period")
        if metric not in ("requests", "components") or period not in ("daily", "monthly"):
            return 400, None
        values = self.daily_requests if metric == "requests" else self.daily_components
        points = [{"date": f"2026-11-{29 - len(values) + 1 + index:02d}", "value": value}
                  for index, value in enumerate(values)]
        answer = {"metric": metric, "period": period, "data": points}
        if UsageHistoryXO is not None:
            UsageHistoryXO.from_dict(answer)
        return 200, answer
