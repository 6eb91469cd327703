"""The worker's web endpoints, and the only ones it serves (Faust's own views are off, see
``faust_patches.EndpointsOnlyWeb``): none of them shows a customer's data.

- ``/metrics``: the Prometheus scrape page.
- ``/healthz`` (liveness): 200 whenever the event loop answers, recovering or not; a worker
  that stops answering is stuck and should be restarted.
- ``/readyz`` (readiness): 200 once the worker has its partitions and its tables have
  recovered from their changelogs; 503 with the reason before that and during a rebalance.
"""

from __future__ import annotations

import faust
from faust.web import Request, Response, View

from streams.runtime.observability import metrics

METRICS_PATH = "/metrics"
LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"


def not_ready_because(app: faust.App) -> str | None:
    """Why the worker is not ready to process records, or None when it is.

    Faust starts a rebalance when the worker joins its group and ends it once the assigned
    partitions' tables have recovered and the streams resumed (``on_rebalance_end``).
    """
    if app.rebalancing_count == 0:
        return "waiting for partitions: joining the consumer group"
    if app.in_recovery:
        return "recovering tables from their changelogs"
    if app.rebalancing:
        return "rebalancing"
    return None


def add_endpoints(app: faust.App) -> None:
    """Register /metrics, /healthz and /readyz on the app's web server."""

    @app.page(METRICS_PATH)
    class MetricsView(View):
        """Prometheus scrape endpoint."""

        async def get(self, request: Request) -> Response:
            # aiohttp refuses a charset inside content_type; Prometheus text format is UTF-8 anyway.
            return self.bytes(metrics.exposition(), content_type="text/plain; version=0.0.4")

    @app.page(LIVENESS_PATH)
    class LivenessView(View):
        """Answers as long as the event loop runs."""

        async def get(self, request: Request) -> Response:
            return self.text("ok\n")

    @app.page(READINESS_PATH)
    class ReadinessView(View):
        """200 once partitions are assigned and tables recovered; 503 with the reason before."""

        async def get(self, request: Request) -> Response:
            reason = not_ready_because(self.app)
            if reason is None:
                return self.text("ready\n")
            return self.text(f"not ready: {reason}\n", status=503)
