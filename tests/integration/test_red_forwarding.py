"""Opus in RED (RFC 2198) through a room over two nodes, with aiortc peers: aiortc has no RED, so
the speaker's offer and listener's offer are given audio/red as Chromium's have it
(tests/unit/test_aiortc_internals.py's `offer_with_red`) and the speaker's Opus packets are
wrapped in RED on their way out. The speaker is on the edge node, so RED crosses the relay both
ways (SPEAKER up to the origin, SLOT down again). The RED listener gets RED with its own Opus
payload type inside; the others get the primary blocks, plain Opus they decode."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
from aiortc.rtp import RtpPacket, is_rtcp

from server.media.red import Red, wrap
from signaling import messages as m
from signaling.participant import Participant, ToneTrack
from support import RunningServer, busy, offer_with_red, wait_until

RED = 63


def offers_red(participant: Participant) -> None:
    """Make the participant's offers carry audio/red, as Chromium's do."""
    assert participant.client is not None
    request: Callable[..., Awaitable[m.Message]] = participant.client.request

    async def with_red(action: str, **fields: object) -> m.Message:
        if action == "offer":
            fields["sdp"] = offer_with_red(str(fields["sdp"]), red=RED)
        return await request(action, **fields)

    participant.client.request = with_red  # type: ignore[method-assign]


def sends_red(participant: Participant) -> None:
    """Wrap each Opus packet the participant sends in RED, with the previous one as redundancy."""
    assert participant.pc is not None
    dtls = participant.pc.getTransceivers()[0].sender.transport
    send, extensions = dtls._send_rtp, dtls._rtp_header_extensions_map
    previous: list[bytes] = []

    async def send_red(data: bytes) -> None:
        if not is_rtcp(data):
            packet = RtpPacket.parse(data, extensions)
            redundant = ((960, previous[-1]),) if previous else ()
            previous[:] = [packet.payload]
            packet.payload, packet.payload_type = wrap(packet.payload_type, packet.payload, redundant), RED
            data = packet.serialize(extensions)
        await send(data)

    dtls._send_rtp = send_red


def received_red(participant: Participant) -> list[Red]:
    """The RED payloads the participant will receive (aiortc itself drops them: it has no RED)."""
    assert participant.pc is not None
    dtls = participant.pc.getTransceivers()[1].receiver.transport
    handle, extensions = dtls._handle_rtp_data, dtls._rtp_header_extensions_map
    seen: list[Red] = []

    async def tap(data: bytes, arrival_time_ms: int) -> None:
        packet = RtpPacket.parse(data, extensions)
        if packet.payload_type == RED:
            seen.append(Red.parse(packet.payload))
        await handle(data, arrival_time_ms)

    dtls._handle_rtp_data = tap
    return seen


def media(node: RunningServer) -> dict:
    return httpx.get(f"{node.base_url}/api/media").json()


async def test_red_from_a_speaker_reaches_red_and_plain_listeners_on_both_nodes(two_nodes, redis) -> None:  # noqa: F811
    a, b = two_nodes
    token = a.identity("Host")
    room_id = a.create_room(token)
    host = Participant(b.ws_url, token)  # a RED speaker on one node
    red_listener = Participant(a.ws_url, a.identity("Red"))
    plain = [Participant(node.ws_url, node.identity(f"Plain {n}")) for n, node in enumerate((a, b))]
    everyone = [host, red_listener, *plain]
    try:
        async with busy(redis, b):
            await red_listener.join(room_id)  # opens the room's media on node A, the less loaded: its origin
        for participant in (host, *plain):
            await participant.join(room_id)
        offers_red(host)
        offers_red(red_listener)
        await red_listener.connect_media()
        seen = received_red(red_listener)
        await host.connect_media(ToneTrack(440))
        sends_red(host)
        for listener in plain:
            await listener.connect_media()

        async def everyone_hears() -> bool:
            return len(seen) > 50 and min([await p.packets_received() for p in plain]) > 50

        await wait_until(everyone_hears, timeout=15)
        assert {red.payload_type for red in seen} == {96}, "RED's blocks carry the listener's Opus payload type"
        assert any(len(red.headers) == 2 for red in seen), "with the redundant block"
        stats = [media(a), media(b)]
        assert stats[1]["relayed_up"] > 50, f"the speaker's RED went up to the origin, the slot's back down: {stats}"
        assert sum(s["red_passed"] for s in stats) > 50 and all(s["red_unwrapped"] > 50 for s in stats), stats
        assert not any(s["dropped_malformed_red"] for s in stats), stats
    finally:  # the host's leave may end the room and close the others' sockets first: close each anyway
        await asyncio.gather(*(participant.close() for participant in everyone), return_exceptions=True)
