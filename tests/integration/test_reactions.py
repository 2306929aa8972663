"""Reactions: a crowd's applause reaches everyone as a few aggregated events, not one per clap;
they are limited per member, checked, and counted in the round-up."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest

from signaling.client import RequestFailed
from support import Member


async def test_thirty_people_clapping_at_once_are_a_few_events_with_every_clap_counted(server) -> None:
    host_token = server.identity("Host")
    room_id = server.create_room(host_token)
    host = await Member.enter(server.ws_url, room_id, host_token)
    crowd = [await Member.enter(server.ws_url, room_id, server.identity(f"L{i}")) for i in range(30)]
    await host.settle()
    started = time.monotonic()
    await asyncio.gather(*(member.act("react", kind="applause") for member in crowd))
    await crowd[0].act("react", kind="heart")

    heard: Counter[str] = Counter()
    events = 0
    async with asyncio.timeout(5):
        while heard["applause"] < 30 or heard["heart"] < 1:
            event = await host.expect("reactions")
            heard.update(event.counts)
            events += 1
    assert heard == Counter(applause=30, heart=1), "every reaction is counted once"
    took = time.monotonic() - started
    assert events <= 2 + 2 * took, f"{events} events in {took:.1f} s: at most one per half second (and a partial)"
    await asyncio.sleep(0.7)
    later = [host.client.events.get_nowait() for _ in range(host.client.events.qsize())]
    assert not [event for event in later if event.type == "reactions"], "nothing more once the clapping stopped"

    async with httpx.AsyncClient(base_url=server.base_url) as http:
        roundup = (await http.get(f"/api/rooms/{room_id}/roundup")).json()
        markdown = (await http.get(f"/api/rooms/{room_id}/roundup.md")).text
    assert roundup["reactions"] == {"applause": 30, "heart": 1}
    assert "- **Reactions:** applause 30, heart 1" in markdown
    for member in (host, *crowd):
        await member.client.close()


async def test_reactions_are_checked_and_limited(server) -> None:
    host_token = server.identity("Host")
    room_id = server.create_room(host_token)
    host = await Member.enter(server.ws_url, room_id, host_token)
    for kind in ("boo", "", 3):
        with pytest.raises(RequestFailed) as bad:
            await host.act("react", kind=kind)
        assert bad.value.code == "invalid_message"
    codes = []
    for _ in range(12):  # a burst of 8, then 4 a second
        try:
            await host.act("react", kind="plus_one")
            codes.append("ok")
        except RequestFailed as refused:
            codes.append(refused.code)
    assert codes[:8] == ["ok"] * 8 and "rate_limited" in codes[8:]
    counted = (await host.expect("reactions")).counts
    assert counted == {"plus_one": codes.count("ok")}, "a refused reaction is not counted"
    await host.client.close()
