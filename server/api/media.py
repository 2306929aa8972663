"""The node's media plane in figures: what the forwarding core has done, and how fast."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from pydantic import BaseModel, Field

from server.api.deps import Service

router = APIRouter(prefix="/api/media", tags=["media"])


class ForwardTimes(BaseModel):
    """A distribution in microseconds over the latest forwarded packets (up to 8192 per room)."""

    samples: int
    p50: float | None
    p99: float | None
    max: float | None


class RelayFigures(BaseModel):
    """Datagrams between this node and the other nodes of the cluster."""

    sent: int
    received: int
    rejected: int = Field(description="failed authentication, replayed, or malformed: dropped")


class MediaStats(BaseModel):
    rooms: int
    peers: int
    udp_port: int | None = Field(description="the one UDP port every peer connection of this node uses")
    unknown_datagrams: int = Field(description="datagrams on that port from senders that are none of its peers': "
                                   "dropped")
    received: int
    forwarded: int
    delivered: int
    dropped_not_speaker: int
    dropped_no_slot: int
    relayed_up: int = Field(description="speakers' packets sent to their room's origin on another node")
    red_passed: int = Field(description="speakers' RED packets delivered to listeners who negotiated RED, as RED")
    red_unwrapped: int = Field(description="speakers' RED packets delivered to other listeners as their primary (Opus)")
    dropped_malformed_red: int = Field(description="speakers' RED packets cut short or running past their end")
    relay: RelayFigures
    forward_us: ForwardTimes = Field(description="from the forwarder taking a packet to the last listener's send")
    forward_cpu_us: ForwardTimes = Field(
        description="the CPU time spent on that; the rest of forward_us is time the server was not running"
    )


@router.get("", response_model=MediaStats, summary="This node's forwarding figures")
async def media_stats(service: Service) -> MediaStats:
    """Packets this node received from speakers, forwarded, and delivered to listeners."""
    return MediaStats(**service.router.stats(), relay=RelayFigures(**asdict(service.cascade.relay.stats)))
