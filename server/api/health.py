"""Health for load balancers and orchestrators: /healthz (the process answers) and /readyz (the
node takes new pages: its Redis answers and it is not draining)."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from redis.asyncio import Redis

from server.state.storage import TRANSIENT

router = APIRouter(tags=["health"])

PING_TIMEOUT_S = 1.0  # what a probe waits for Redis; Kubernetes' own default probe timeout is 1 s


class Alive(BaseModel):
    """The process answers."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Whether the node takes new pages, and if not, why."""

    ready: bool
    reason: Literal["draining", "redis_unreachable"] | None = Field(
        default=None,
        description="why not: `draining` (shutting down after a SIGTERM) or `redis_unreachable`",
    )


@router.get("/healthz", response_model=Alive, summary="Liveness: the process answers")
async def healthz() -> Alive:
    """200 whenever the node's process serves requests at all."""
    return Alive()


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: the node takes new pages",
    responses={503: {"model": Readiness, "description": "not ready: draining, or its Redis is unreachable"}},
)
async def readyz(request: Request) -> Readiness | JSONResponse:
    """200 while the node can take joins; 503 with a reason while it drains or can't reach Redis."""
    reason = "draining" if request.app.state.draining else await _redis_reason(request.app.state.redis)
    if reason is None:
        return Readiness(ready=True)
    return JSONResponse(Readiness(ready=False, reason=reason).model_dump(), status_code=503)


async def _redis_reason(redis: Redis) -> Literal["redis_unreachable"] | None:
    try:
        await asyncio.wait_for(redis.ping(), PING_TIMEOUT_S)
    except (*TRANSIENT, TimeoutError):
        return "redis_unreachable"
    return None
