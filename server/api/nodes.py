"""The cluster as its nodes see it: every registered node with what it serves and its load."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from server.api.errors import STORE, errors
from server.cluster.registry import Registry
from signaling.messages import timestamp

router = APIRouter(prefix="/api/nodes", tags=["nodes"])


class NodeOut(BaseModel):
    id: str
    address: str = Field(description="where the node serves HTTP (host:port)")
    relay: str = Field(description="where other nodes send it its rooms' audio (host:port, UDP)")
    pid: int
    started_at: str
    last_seen: str
    alive: bool = Field(description="heard from within the last 5 s; a dead node is taken out soon after")
    rooms: int
    members: int = Field(description="members whose connection this node serves")
    cpu: float = Field(description="the share of one core the node used over its last 2 s")
    relay_sent: int = Field(description="audio datagrams the node sent to other nodes since it started")
    relay_received: int
    relay_rejected: int = Field(description="datagrams dropped: failed authentication, replayed or malformed")
    you: bool = Field(description="the node that answered")


class NodeList(BaseModel):
    nodes: list[NodeOut]


@router.get("", response_model=NodeList, summary="List the cluster's nodes", responses=errors(*STORE))
async def nodes(request: Request) -> NodeList:
    """Every node registered in this Dropin's Redis, by id."""
    registry: Registry = request.app.state.registry  # set by server/app.py
    return NodeList(nodes=[
        NodeOut(id=node.id, address=node.address, relay=node.relay, pid=node.pid, started_at=timestamp(node.started_at),
                last_seen=timestamp(node.last_seen), alive=node.alive, rooms=node.rooms, members=node.members,
                cpu=node.cpu, relay_sent=node.relay_sent, relay_received=node.relay_received,
                relay_rejected=node.relay_rejected, you=node.id == registry.node_id)
        for node in await registry.nodes()
    ])
