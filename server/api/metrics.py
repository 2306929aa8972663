"""`GET /metrics`: this node's figures in Prometheus' text format (server/metrics.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from server.metrics import Metrics

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    node: Metrics = request.app.state.metrics
    return Response(generate_latest(node.registry), media_type=CONTENT_TYPE_LATEST)
