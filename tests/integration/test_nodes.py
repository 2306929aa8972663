"""Nodes on one Redis: they register and list each other, and when one is killed (kill -9) the
others take it out and its members leave after the reconnect grace, unless they come back."""

from __future__ import annotations

import signal

import httpx
from redis.asyncio import Redis

from server.state import keys
from support import Member, RunningServer, wait_until


def listed(node: RunningServer) -> list[dict]:
    return httpx.get(f"{node.base_url}/api/nodes").json()["nodes"]


async def test_nodes_list_each_other_with_what_they_serve(two_nodes) -> None:
    a, b = two_nodes
    host_token = a.identity("Host")
    room_id = a.create_room(host_token)
    host = await Member.enter(a.ws_url, room_id, host_token)
    listeners = [await Member.enter(b.ws_url, room_id, b.identity(f"L{n}")) for n in range(3)]

    async def both_counted() -> bool:
        nodes = {n["address"]: n for n in listed(a)}
        return (nodes.get(a.base_url[7:], {}).get("members"), nodes.get(b.base_url[7:], {}).get("members")) == (1, 3)

    await wait_until(both_counted, 6, interval=0.2, what="each node counts the members it serves")
    from_a, from_b = listed(a), listed(b)
    assert [(n["id"], n["alive"]) for n in from_a] == [(n["id"], n["alive"]) for n in from_b]
    assert all(n["alive"] and n["rooms"] == 1 for n in from_a)
    assert [n["address"] for n in from_a if n["you"]] == [a.base_url[7:]]
    for member in (host, *listeners):
        await member.client.close()


async def test_a_killed_nodes_members_leave_unless_they_come_back(two_nodes, redis: Redis) -> None:
    a, b = two_nodes
    host_token, bo_token = a.identity("Host"), b.identity("Bo")
    room_id = a.create_room(host_token)
    host = await Member.enter(a.ws_url, room_id, host_token)
    bo = await Member.enter(b.ws_url, room_id, bo_token)
    gone = [await Member.enter(b.ws_url, room_id, b.identity(f"Gone {n}")) for n in range(3)]
    await bo.act("raise_hand")
    await host.act("invite", target=bo.id)
    await bo.act("accept_invite")
    await host.until(lambda view: bo.id in view.stage)
    last_seq = bo.view.seq
    b_id = next(n["id"] for n in listed(b) if n["you"])

    b.process.send_signal(signal.SIGKILL)
    b.process.wait()
    back = await Member.enter(a.ws_url, room_id, bo_token, last_seq=last_seq)  # Bo's page reconnects
    assert back.welcome.you.role == "speaker"

    async def b_taken_out() -> bool:
        return b_id not in [n["id"] for n in listed(a)]

    async def only_they_left() -> bool:
        return await redis.hlen(keys.members(room_id)) == 2

    await wait_until(b_taken_out, 12, interval=0.2, what="the live node takes the dead one out")
    await wait_until(
        only_they_left, 5, interval=0.2, what="the dead node's members who did not come back leave after the grace"
    )
    await host.settle()
    room = a.room(room_id)
    assert room["counts"] == {"host": 1, "moderator": 0, "speaker": 1, "listener": 0}
    assert list(host.view.stage) == [host.id, bo.id]  # what a client that never dropped believes
    assert not await redis.exists(keys.node(b_id), keys.node_seats(b_id))
    for member in (host, back, bo, *gone):
        await member.client.close()
