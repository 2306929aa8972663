"""While Redis is down, requests are refused with `unavailable` (REST in the documented body),
audio keeps flowing, a leave is not lost; once Redis is back, the very next request succeeds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.state.redis_server import RedisServer
from signaling import messages as m
from signaling.client import RequestFailed
from support import Member, RunningServer, host_and_listener, serving


@pytest.fixture
def node(own_redis: RedisServer, tmp_path: Path) -> Iterator[RunningServer]:
    with serving(own_redis.url, tmp_path, DROPIN_RECONNECT_GRACE_S="30") as running:
        yield running


async def refused(member: Member, action: str) -> str:
    with pytest.raises(RequestFailed) as refusal:
        await member.act(action)
    return refusal.value.code


async def test_an_outage_refuses_clearly_and_loses_nothing(node, own_redis) -> None:
    room_id, host, listener = await host_and_listener(node)
    leaver = await Member.enter(node.ws_url, room_id, node.identity("Leaver"))
    stayer = await Member.enter(node.ws_url, room_id, node.identity("Stayer"))
    newcomer_token = node.identity("Newcomer")
    api = httpx.AsyncClient(base_url=node.base_url, timeout=10)
    try:
        assert node.room(room_id)["listeners"] == 3
        heard_before = await listener.packets_received()

        own_redis.stop()
        for response in (
            await api.get("/api/rooms"),
            await api.get(f"/api/rooms/{room_id}"),
            await api.post(
                "/api/rooms", json={"title": "Later"}, headers={"Authorization": f"Bearer {newcomer_token}"}
            ),
        ):
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "unavailable", response.text
            assert response.json()["error"]["message"]
        assert await refused(stayer, "raise_hand") == "unavailable"
        with pytest.raises(RequestFailed) as join_refused:
            await Member.enter(node.ws_url, room_id, newcomer_token)
        assert join_refused.value.code == "unavailable"
        assert isinstance(await leaver.act("leave"), m.Ok)  # taken now, applied once Redis is back
        assert isinstance(await stayer.act("ping"), m.Pong)
        await asyncio.sleep(1)
        assert await listener.packets_received() > heard_before + 25, "audio stopped with Redis"

        own_redis.start()
        assert (await api.get(f"/api/rooms/{room_id}")).status_code == 200
        assert isinstance(await stayer.act("raise_hand"), m.Ok)
        newcomer = await Member.enter(node.ws_url, room_id, newcomer_token)
        async with asyncio.timeout(15):
            while node.room(room_id)["listeners"] != 3:  # listener, stayer, newcomer: the leaver is gone
                await asyncio.sleep(0.2)
        await newcomer.client.close()
        assert "Traceback" not in node.log
    finally:
        await api.aclose()
        await stayer.client.close()
        await leaver.client.close()
        await asyncio.gather(host.close(), listener.close(), return_exceptions=True)
