"""Timers in Redis: each due job runs once on whichever node claims it, a job whose node died
mid-run runs again, and the room's timers fire after the node that set them is gone."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter

import httpx
import pytest
from redis.asyncio import Redis

from server.state import keys
from server.state.timers import Timers
from support import Member, serving


async def test_each_due_job_runs_once_across_nodes(redis: Redis) -> None:
    ran: Counter[str] = Counter()

    async def note(*arguments: str) -> None:
        ran["|".join(arguments)] += 1

    nodes = [Timers(redis) for _ in range(4)]
    for timers in nodes:
        timers.handle("note", note)
    now = time.time()
    for n in range(50):
        await nodes[0].schedule(now - 1, "note", str(n))
    await nodes[0].schedule(now + 3600, "note", "later")
    await asyncio.gather(*(timers.fire_due() for timers in nodes for _ in range(3)))
    assert ran == Counter({str(n): 1 for n in range(50)})
    assert await redis.zcard(keys.TIMERS) == 1 and await redis.zcard(keys.TIMERS_RUNNING) == 0


async def test_a_job_scheduled_while_a_claim_is_out_is_not_forgotten(redis: Redis) -> None:
    """The claim answers what is next as of when it ran; a job this node scheduled just after
    that must still be known to be due then (the node asks Redis again at that time, not at its
    next look, up to a second later)."""
    timers = Timers(redis)
    claim = timers._claim
    due = time.time() + 30

    async def claim_then_schedule(**kwargs: object) -> object:
        answer = await claim(**kwargs)  # Redis has answered: nothing is due, nothing next
        await timers.schedule(due, "note")  # and only now does this node's job reach Redis
        return answer

    timers._claim = claim_then_schedule  # type: ignore[method-assign]
    await timers.fire_due()
    assert await redis.zscore(keys.TIMERS, "note") == due
    assert timers._next_due <= due, "the node forgot the job it scheduled while its claim was out"


async def test_a_job_whose_node_died_mid_run_runs_again(redis: Redis) -> None:
    ran: list[str] = []

    async def dies(room: str) -> None:
        raise asyncio.CancelledError  # the node went away while running it

    async def note(room: str) -> None:
        ran.append(room)

    doomed, survivor = Timers(redis, lease_s=0.5), Timers(redis)
    doomed.handle("end_if_hostless", dies)
    survivor.handle("end_if_hostless", note)
    await doomed.schedule(time.time() - 1, "end_if_hostless", "r1")
    with pytest.raises(asyncio.CancelledError):
        await doomed.fire_due()
    assert await survivor.fire_due() == 0  # claimed, its lease still running
    await asyncio.sleep(0.6)
    assert await survivor.fire_due() == 1 and ran == ["r1"]
    assert await redis.zcard(keys.TIMERS_RUNNING) == 0


async def test_a_room_whose_host_never_came_ends(server) -> None:
    room_id = server.create_room(server.identity("Host"))
    assert server.room(room_id)["status"] == "live"
    await asyncio.sleep(2.8)  # DROPIN_HOST_GRACE_S is 2 s in tests
    room = server.room(room_id)
    assert room["status"] == "ended"
    assert room_id not in [r["id"] for r in httpx.get(f"{server.base_url}/api/rooms").json()["rooms"]]


async def log_of(redis: Redis, room_id: str) -> list[dict[str, object]]:
    return [json.loads(fields["event"]) for _, fields in await redis.xrange(keys.log(room_id))]


async def until_logged(redis: Redis, room_id: str, kind: str, timeout: float = 10.0) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while not any(entry["type"] == kind for entry in await log_of(redis, room_id)):
        assert time.monotonic() < deadline, f"no {kind} in the log of room {room_id}"
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # time for a second firing, were there one
    return await log_of(redis, room_id)


def kill(node) -> None:
    node.process.send_signal(signal.SIGKILL)
    node.process.wait()


async def test_an_invitation_lapses_once_after_its_node_is_killed(redis_server, tmp_path, redis: Redis) -> None:
    with serving(redis_server.url, tmp_path / "a", DROPIN_INVITE_TTL_S="5") as first:
        host_token, ada_token = first.identity("Host"), first.identity("Ada")
        room_id = first.create_room(host_token)
        host = await Member.enter(first.ws_url, room_id, host_token)
        ada = await Member.enter(first.ws_url, room_id, ada_token)
        await host.act("invite", target=ada.id)
        kill(first)
    await asyncio.gather(host.client.close(), ada.client.close(), return_exceptions=True)
    with serving(redis_server.url, tmp_path / "b"):
        entries = await until_logged(redis, room_id, "invite_ended")
    assert [e for e in entries if e["type"] == "invite_ended"] == [
        {"type": "invite_ended", "id": ada.id, "outcome": "lapsed"}
    ]


async def test_a_hostless_room_ends_once_after_its_node_is_killed(redis_server, tmp_path, redis: Redis) -> None:
    with serving(redis_server.url, tmp_path / "a", DROPIN_HOST_GRACE_S="3") as first:
        host_token = first.identity("Host")
        room_id = first.create_room(host_token)
        host = await Member.enter(first.ws_url, room_id, host_token)
        listener = await Member.enter(first.ws_url, room_id, first.identity("Ada"))
        await host.act("leave")  # no moderator to take over: the room ends after the host grace
        kill(first)
    await asyncio.gather(host.client.close(), listener.client.close(), return_exceptions=True)
    assert await redis.hget(keys.room(room_id), "status") == "live"
    with serving(redis_server.url, tmp_path / "b"):
        entries = await until_logged(redis, room_id, "room_ended")
    assert Counter(e["type"] for e in entries)["room_ended"] == 1
