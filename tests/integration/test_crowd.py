"""A crowd at the top of the hour: hundreds of members joining, acting and leaving at the same
instant are all answered, none with `internal`, and the room's counts come out exact."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from signaling import messages as m
from signaling.client import RequestFailed, SignalingClient
from support import Member

CROWD = 500


async def at_once(clients: list[SignalingClient], type: str, **fields: object) -> Counter[str]:
    """Send one request on every client together; count the answers by type or error code."""

    async def one(client: SignalingClient) -> str:
        try:
            return (await client.request(type, timeout=60, **fields)).type
        except RequestFailed as exc:
            return exc.code

    return Counter(await asyncio.gather(*(one(client) for client in clients)))


async def test_a_crowd_joins_acts_and_leaves_at_once(server) -> None:
    host_token = server.identity("Host")
    room_id = server.create_room(host_token)
    host = await Member.enter(server.ws_url, room_id, host_token)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as api:  # 500 at once wait for the pool
        tokens = [
            response.json()["token"]
            for response in await asyncio.gather(
                *(api.post("/api/identity", json={"name": f"Guest {i}"}) for i in range(CROWD))
            )
        ]
    crowd = await asyncio.gather(*(SignalingClient.connect(server.ws_url) for _ in range(CROWD)))
    try:

        async def join(client: SignalingClient, token: str) -> str:
            try:
                return (await client.request("join", timeout=60, room=room_id, token=token)).type
            except RequestFailed as exc:
                return exc.code

        joins = Counter(await asyncio.gather(*(join(client, token) for client, token in zip(crowd, tokens))))
        assert joins == {"joined": CROWD}
        assert server.room(room_id)["listeners"] == CROWD

        assert await at_once(crowd, "raise_hand") == {"ok": CROWD}
        await host.until(lambda view: len(view.hands) == CROWD, timeout=30)

        assert await at_once(crowd, "leave") == {"ok": CROWD}
        room = server.room(room_id)
        assert (room["listeners"], room["on_stage"]) == (0, 1)
        await host.until(lambda view: not view.hands, timeout=30)
        assert isinstance(await host.act("ping"), m.Pong)
        assert "Traceback" not in server.log
    finally:
        await asyncio.gather(*(client.close() for client in crowd), return_exceptions=True)
        await host.client.close()
