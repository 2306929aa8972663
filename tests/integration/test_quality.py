"""Connection quality over real peer connections: a listener whose receiver reports show loss is
announced `poor` to moderators while a healthy one stays good; a speaker whose microphone stops is
`lost` on `up`; nobody but moderators and the member sees a member's quality; Redis keeps it only
while the member is in the room."""

from __future__ import annotations

import asyncio
import itertools

import redis.asyncio as aioredis

from server.state import keys
from signaling import messages as m
from signaling.client import SignalingClient
from signaling.participant import Participant, ToneTrack
from support import Member, host_and_listener, hosted_room, wait_until


def drop_every(participant: Participant, nth: int) -> None:
    """Make the participant's peer connection lose every `nth` RTP packet it receives, before
    aiortc counts it: its receiver reports then show the loss, as a lossy path's would."""
    assert participant.pc is not None
    dtls = participant.pc.getTransceivers()[1].receiver.transport
    handle = dtls._handle_rtp_data
    arrivals = itertools.count(1)

    async def lossy(data: bytes, arrival_time_ms: int) -> None:
        if next(arrivals) % nth:
            await handle(data, arrival_time_ms)

    dtls._handle_rtp_data = lossy


async def quality_events(client: SignalingClient, until, timeout: float) -> list[m.QualityChanged]:
    """The `quality_changed` events `client` gets until `until(event)` holds for one of them."""
    seen: list[m.QualityChanged] = []
    async with asyncio.timeout(timeout):
        while True:
            event = await client.next_event("quality_changed", timeout=timeout)
            assert isinstance(event, m.QualityChanged)
            seen.append(event)
            if until(event):
                return seen


def drained(client: SignalingClient) -> list[m.ServerMessage]:
    events = []
    while not client.events.empty():
        events.append(client.events.get_nowait())
    return events


async def test_a_lossy_listener_is_poor_to_moderators_while_a_healthy_one_stays_good(server, redis) -> None:
    room_id, host = hosted_room(server)
    healthy = Participant(server.ws_url, server.identity("Healthy"))
    lossy = Participant(server.ws_url, server.identity("Lossy"))
    moderator_token = server.identity("Moderator")
    moderator = await Member.enter(server.ws_url, room_id, moderator_token)
    late: list[Member] = []
    try:
        for participant in (host, healthy, lossy):
            await participant.join(room_id)
        await host.connect_media(ToneTrack())
        await healthy.connect_media()
        await lossy.connect_media()
        drop_every(lossy, 5)
        ids = {p.welcome.you.id: name for p, name in ((host, "host"), (healthy, "healthy"), (lossy, "lossy"))}
        lossy_id, healthy_id = lossy.welcome.you.id, healthy.welcome.you.id

        seen = await quality_events(
            host.client, lambda e: e.id == lossy_id and e.quality.level == "poor", timeout=30
        )
        poor = seen[-1].quality
        assert poor.down is not None and poor.down.loss >= 0.05, poor
        assert poor.up is None, "a listener's microphone is not assessed"

        async def host_told_of_listeners_loss() -> bool:
            """The host's encoder hears of the loss on the way to listeners (so it adds FEC)."""
            stats = (await host.pc.getTransceivers()[0].sender.getStats()).values()
            return any(s.type == "remote-inbound-rtp" and s.fractionLost >= 0.1 * 256 for s in stats)

        await wait_until(host_told_of_listeners_loss, timeout=10)
        await asyncio.sleep(3)  # the healthy listener has had as long to look bad
        seen += [e for e in drained(host.client) if isinstance(e, m.QualityChanged)]
        assert {ids[e.id] for e in seen} == {"host", "healthy", "lossy"}, seen
        healthy_levels = [e.quality.level for e in seen if e.id == healthy_id]
        assert healthy_levels and set(healthy_levels) <= {"excellent", "good"}, healthy_levels

        # The member concerned hears of their own quality, and of nobody else's.
        own = [e for e in drained(lossy.client) if isinstance(e, m.QualityChanged)]
        assert own and {e.id for e in own} == {lossy_id} and own[-1].quality.level == "poor", own
        assert {e.id for e in drained(healthy.client) if isinstance(e, m.QualityChanged)} == {healthy_id}

        # Someone made moderator sees everyone's latest in their welcome; a listener, only their own.
        await host.client.request("make_moderator", target=moderator.id)
        told = await moderator.client.next_event("quality", timeout=5)  # at once, not only as it changes
        assert isinstance(told, m.QualityEvent) and told.quality[lossy_id].level == "poor", told
        assert set(told.quality) == {host.welcome.you.id, healthy_id, lossy_id}
        late.append(await Member.enter(server.ws_url, room_id, moderator_token))  # replaces its session
        assert late[0].welcome.quality[lossy_id].level == "poor"
        assert late[0].welcome.quality[healthy_id].level in ("excellent", "good")
        assert late[0].welcome.you.role == "moderator"
        late.append(await Member.enter(server.ws_url, room_id, server.identity("Newcomer")))
        assert late[1].welcome.quality == {}
        rejoined = await Member.enter(server.ws_url, room_id, lossy.token)  # replaces the lossy listener
        late.append(rejoined)
        assert set(rejoined.welcome.quality) == {lossy_id}

        # Redis keeps a member's quality while they are in the room.
        stored = await redis.hkeys(keys.quality(room_id))
        assert set(stored) == {host.welcome.you.id, healthy_id, lossy_id}
        await healthy.leave()
        assert healthy_id not in await redis.hkeys(keys.quality(room_id))
        await host.client.request("end_room")
        assert not await redis.exists(keys.quality(room_id))
    finally:
        await asyncio.gather(
            host.close(), healthy.close(), lossy.close(), moderator.client.close(),
            *(member.client.close() for member in late), return_exceptions=True,
        )


async def test_a_speaker_whose_microphone_stops_is_lost_on_the_uplink(server) -> None:
    room_id, host = hosted_room(server)
    try:
        await host.join(room_id)
        await host.connect_media(ToneTrack())
        host_id = host.welcome.you.id
        heard = await quality_events(
            host.client, lambda e: e.id == host_id and e.quality.up is not None, timeout=15
        )
        assert heard[-1].quality.up.level in ("excellent", "good"), heard

        host.replace_microphone(None)
        lost = (await quality_events(
            host.client, lambda e: e.quality.up is not None and e.quality.up.level == "lost", timeout=15
        ))[-1].quality
        assert lost.level == "lost" and lost.up.since_packet_s >= 3, lost
        assert lost.down is not None and lost.down.level != "lost", "the host still hears the room"
    finally:
        await host.close()


async def test_a_dropped_connection_is_lost_and_a_leave_forgets(server, redis: aioredis.Redis) -> None:
    room_id, host, listener = await host_and_listener(server, host_media=False)
    try:
        listener_id = listener.welcome.you.id
        await quality_events(host.client, lambda e: e.id == listener_id, timeout=15)
        await listener.close()  # no leave: their place is kept for the reconnect grace
        gone = await quality_events(host.client, lambda e: e.id == listener_id, timeout=10)
        assert gone[-1].quality.level == "lost", gone
        assert listener_id in await redis.hkeys(keys.quality(room_id))
    finally:
        await asyncio.gather(host.close(), listener.close(), return_exceptions=True)
