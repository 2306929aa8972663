"""One room over two nodes: the host on one, a speaker on the other, listeners on both; everyone
hears everyone on stage through the room's origin, nobody can inject into the relay, and when
the origin is killed the other node takes the room over and the audio comes back."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time

import httpx

from server.cluster.cascade import IDLE_S
from signaling.participant import Participant, ToneTrack
from support import busy, hosted_room, media, node_entry, serving, wait_until


async def counts(people: list[Participant]) -> list[int]:
    return [await p.packets_received() for p in people]


async def test_a_room_over_two_nodes(two_nodes, redis) -> None:
    a, b = two_nodes
    room_id, host = hosted_room(a)
    speaker = Participant(b.ws_url, b.identity("Speaker"))
    listeners = [Participant(node.ws_url, node.identity(f"Listener {n}")) for n, node in enumerate((a, a, b, b))]
    everyone = [host, speaker, *listeners]
    try:
        async with busy(redis, b):
            await host.join(room_id)  # opens the room's media on node A, the less loaded
        await speaker.join(room_id)
        for listener in listeners:
            await listener.join(room_id)
        await speaker.client.request("raise_hand")
        await host.client.request("invite", target=speaker.welcome.you.id)
        await speaker.client.request("accept_invite")
        await speaker.client.request("unmute_self")  # a new speaker arrives muted
        await host.connect_media(ToneTrack(440))
        await speaker.connect_media(ToneTrack(880))
        for listener in listeners:
            await listener.connect_media()
        assert await redis.hget(f"dropin:room:{room_id}", "origin") == node_entry(a)["id"]

        async def all_hear_both() -> bool:
            for listener in listeners:
                if sorted(await listener.packets_per_slot())[-2] <= 20:  # two slots carry a voice
                    return False
            return await host.packets_received() > 20 and await speaker.packets_received() > 20

        await wait_until(
            all_hear_both, 10, interval=0.2, what="every listener hears both speakers, and each speaker the other"
        )
        sent_before = [await host.packets_sent(), await speaker.packets_sent()]
        heard_before = await counts(everyone)
        await asyncio.sleep(5)
        host_sent = await host.packets_sent() - sent_before[0]
        speaker_sent = await speaker.packets_sent() - sent_before[1]
        heard = [now - before for now, before in zip(await counts(everyone), heard_before)]
        assert host_sent > 200 and speaker_sent > 200
        assert heard[0] >= 0.99 * speaker_sent, f"the host (node A) heard {heard[0]} of the speaker's {speaker_sent}"
        assert heard[1] >= 0.99 * host_sent, f"the speaker (node B) heard {heard[1]} of the host's {host_sent}"
        for count in heard[2:]:
            assert count >= 0.99 * (host_sent + speaker_sent), f"a listener heard {count} of {host_sent + speaker_sent}"
        assert media(b)["relayed_up"] >= speaker_sent and media(b)["relay"]["received"] > host_sent
        assert media(a)["relay"]["rejected"] == media(b)["relay"]["rejected"] == 0

        # Nobody else can talk into the relay: forged and replayed datagrams are dropped and counted.
        host_part, port = node_entry(b)["relay"].rsplit(":", 1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rogue:
            for _ in range(20):
                rogue.sendto(os.urandom(200), (host_part, int(port)))

        async def all_rejected() -> bool:
            return media(b)["relay"]["rejected"] >= 20

        await wait_until(all_rejected, 3, interval=0.2, what="forged datagrams are dropped and counted")
        before = await counts(listeners[2:])
        await asyncio.sleep(1)
        assert all(now - then > 80 for now, then in zip(await counts(listeners[2:]), before)), "audio goes on"
    finally:
        await asyncio.gather(*(p.close() for p in everyone), return_exceptions=True)


async def test_the_room_survives_its_origin(two_nodes, redis) -> None:
    a, b = two_nodes
    room_id, host = hosted_room(b)
    origin_listener = Participant(a.ws_url, a.identity("Early"))
    listener = Participant(b.ws_url, b.identity("Listener"))
    try:
        async with busy(redis, b):
            await origin_listener.join(room_id)  # the room's media opens first on node A: A is the origin
        await origin_listener.connect_media()
        await host.join(room_id)
        await listener.join(room_id)
        await host.connect_media(ToneTrack(440))
        await listener.connect_media()
        assert await redis.hget(f"dropin:room:{room_id}", "origin") == node_entry(a)["id"]

        async def listener_hears() -> bool:
            return await listener.packets_received() > 50

        await wait_until(
            listener_hears, 10, interval=0.2, what="the listener on B hears the host on B through the origin on A"
        )
        a.process.send_signal(signal.SIGKILL)
        a.process.wait()
        killed_at = time.monotonic()
        before = await listener.packets_received()

        async def back() -> bool:
            return await listener.packets_received() > before + 50

        await wait_until(
            back, 12, interval=0.2, what="node B takes the room over and the listener hears the host again"
        )
        assert time.monotonic() - killed_at < 12
        assert await redis.hget(f"dropin:room:{room_id}", "origin") == node_entry(b)["id"]
    finally:
        await asyncio.gather(host.close(), listener.close(), origin_listener.close(), return_exceptions=True)


async def test_workers_on_one_port_are_nodes_of_one_room(redis_server, tmp_path, redis) -> None:
    with serving(redis_server.url, tmp_path, DROPIN_WORKERS="2") as port:

        async def two_workers() -> bool:
            nodes = httpx.get(f"{port.base_url}/api/nodes").json()["nodes"]
            return len(nodes) == 2 and all(n["address"] == port.base_url[7:] for n in nodes)

        await wait_until(two_workers, 15, interval=0.2, what="two workers register, both serving the one port")
        room_id, host = hosted_room(port)
        listeners: list[Participant] = []
        try:
            await host.join(room_id)
            await host.connect_media(ToneTrack(440))

            async def on_both_workers() -> bool:
                nodes = httpx.get(f"{port.base_url}/api/nodes").json()["nodes"]
                return all(n["members"] > 0 for n in nodes)

            # The kernel hands each connection to one worker: join until both serve someone.
            while len(listeners) < 24 and not (len(listeners) >= 4 and await on_both_workers()):
                listener = Participant(port.ws_url, port.identity(f"Listener {len(listeners)}"))
                listeners.append(listener)
                await listener.join(room_id)
                await listener.connect_media()
                await asyncio.sleep(2.1 if len(listeners) >= 4 else 0)  # a heartbeat, for the counts
            assert await on_both_workers(), "24 connections all went to one worker"

            async def all_hear() -> bool:
                return all([await p.packets_received() > 20 for p in listeners])

            await wait_until(all_hear, 10, interval=0.2, what="listeners on both workers hear the host")
            sent_before, heard_before = await host.packets_sent(), await counts(listeners)
            await asyncio.sleep(3)
            sent = await host.packets_sent() - sent_before
            for heard, before in zip(await counts(listeners), heard_before):
                assert heard - before >= 0.99 * sent, f"a listener heard {heard - before} of {sent}"
        finally:
            await asyncio.gather(host.close(), *(p.close() for p in listeners), return_exceptions=True)


async def test_a_room_opened_on_a_busy_node_is_placed_on_another(two_nodes, redis) -> None:
    a, b = two_nodes
    b_id = node_entry(b)["id"]

    async def b_settled() -> bool:  # a node is busy for a moment after it starts
        return node_entry(b)["cpu"] < 0.5

    await wait_until(b_settled, 10, interval=0.2, what="node B settles after starting")
    room_id, host = hosted_room(a)
    listeners = [Participant(a.ws_url, a.identity(f"Listener {n}")) for n in range(2)]
    try:
        async with busy(redis, a):
            await host.join(room_id)  # opens the room's media on the busy node A
        assert await redis.hget(f"dropin:room:{room_id}", "origin") == b_id
        await host.connect_media(ToneTrack(440))
        for listener in listeners:
            await listener.join(room_id)
            await listener.connect_media()

        async def hear() -> bool:
            return all([await p.packets_received() > 50 for p in listeners])

        await wait_until(hear, 10, interval=0.2,
                         what="listeners on A hear the host on A through the origin on B, which has no members")
        assert media(b)["relay"]["received"] > 50 and media(a)["relayed_up"] > 50
    finally:
        await asyncio.gather(host.close(), *(p.close() for p in listeners), return_exceptions=True)


async def test_a_speaker_off_the_stage_frees_their_slot_at_an_origin_with_no_members(two_nodes, redis) -> None:
    a, b = two_nodes

    async def b_settled() -> bool:
        return node_entry(b)["cpu"] < 0.5

    await wait_until(b_settled, 10, interval=0.2, what="node B settles after starting")
    room_id, host = hosted_room(a)
    speaker = Participant(a.ws_url, a.identity("Speaker"))
    listener = Participant(a.ws_url, a.identity("Listener"))
    try:
        async with busy(redis, a):
            await host.join(room_id)  # the origin goes to B, which has no members: it never reads the log
        await speaker.join(room_id)
        await listener.join(room_id)
        await host.client.request("invite", target=speaker.welcome.you.id)
        await speaker.client.request("accept_invite")
        await speaker.client.request("unmute_self")  # a new speaker arrives muted
        await host.connect_media(ToneTrack(440))
        await speaker.connect_media(ToneTrack(880))
        await listener.connect_media()

        async def speaker_holds_a_slot() -> bool:
            return sorted(await listener.packets_per_slot())[-2] > 20

        await wait_until(speaker_holds_a_slot, 10, interval=0.2, what="the listener hears both")
        await host.client.request("move_to_audience", target=speaker.welcome.you.id)
        deadline = time.monotonic() + 3
        while True:
            event = await asyncio.wait_for(listener.client.events.get(), deadline - time.monotonic())
            if event.type == "speakers" and all(
                slot.speaker is None or slot.speaker.id != speaker.welcome.you.id for slot in event.slots
            ):
                break  # the origin gave the slot up at once, not when someone next needs it
    finally:
        await asyncio.gather(host.close(), speaker.close(), listener.close(), return_exceptions=True)


async def test_the_origin_keeps_a_room_whose_members_have_not_connected_media_yet(server, redis) -> None:
    """A node seating members keeps the room's media (and its place as origin) while they are
    still setting up theirs, however long that takes: a slow ICE path must not lose the room."""
    room_id, host = hosted_room(server)
    try:
        await host.join(room_id)
        await asyncio.sleep(IDLE_S + 2)
        assert await redis.hget(f"dropin:room:{room_id}", "origin") == node_entry(server)["id"]
        await host.connect_media(ToneTrack())
        assert media(server)["peers"] == 1
    finally:
        await host.close()
