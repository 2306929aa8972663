"""`GET /metrics`: this node's figures in Prometheus' text format (server/metrics.py), behind a
bearer token when DROPIN_METRICS_TOKEN is set."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from server.metrics import Metrics

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    token: str | None = request.app.state.metrics_token
    given = request.headers.get("authorization", "")
    if token and not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response("metrics need Authorization: Bearer <DROPIN_METRICS_TOKEN>\n", status_code=401,
                        headers={"WWW-Authenticate": "Bearer"}, media_type="text/plain")
    node: Metrics = request.app.state.metrics
    return Response(generate_latest(node.registry), media_type=CONTENT_TYPE_LATEST)
