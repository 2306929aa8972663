"""The echo test: a member hears their own microphone on their last slot for about `seconds`, and
nobody else hears it; one per 30 s; `seconds` outside 1..10 is refused and changes nothing. And,
on the forwarder with recorded sockets: the member's stream on that slot goes on without going
back in sequence or time, during the test and after it, as the room's slot carries on."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from aiortc.rtp import RtpPacket

from server.media.forwarder import Forwarder
from server.media.outlet import Outlet
from server.media.slot import SEQ_MOD, TS_MOD, seq_newer
from signaling import messages as m
from signaling.client import RequestFailed
from signaling.participant import Participant, ToneTrack
from support import hosted_room
from vocabulary.errors import ErrorCode


async def test_a_member_hears_their_own_microphone_alone_for_the_seconds_asked(server) -> None:
    room_id, host = hosted_room(server)
    tester = Participant(server.ws_url, server.identity("Tester"))
    other = Participant(server.ws_url, server.identity("Other"))
    try:
        for participant in (host, tester, other):
            await participant.join(room_id)
        await tester.connect_media(ToneTrack())  # a listener's microphone, as the page attaches it
        await other.connect_media()
        await asyncio.sleep(1)
        assert await tester.packets_per_slot() == [0, 0, 0], "a listener's microphone never reaches the room"

        reply = await tester.client.request("echo", seconds=2)
        assert isinstance(reply, m.Ok) and (reply.slot, reply.seconds) == (2, 2), reply
        await asyncio.sleep(3)
        heard = await tester.packets_per_slot()
        assert heard[:2] == [0, 0] and 60 <= heard[2] <= 2.5 * 50, heard
        assert await other.packets_per_slot() == [0, 0, 0], "nobody else hears it"
        await asyncio.sleep(1)
        assert await tester.packets_per_slot() == heard, "the test ends after its seconds"

        with pytest.raises(RequestFailed) as again:
            await tester.client.request("echo")
        assert again.value.code is ErrorCode.RATE_LIMITED and "30 s" in again.value.message
        for seconds in (11, 0, "5"):
            with pytest.raises(RequestFailed) as invalid:
                await other.client.request("echo", seconds=seconds)
            assert invalid.value.code is ErrorCode.INVALID_MESSAGE
        await asyncio.sleep(1)
        assert await other.packets_per_slot() == [0, 0, 0], "a refused test changes nothing"
        assert await tester.packets_per_slot() == heard
    finally:
        await asyncio.gather(host.close(), tester.close(), other.close(), return_exceptions=True)


async def test_an_echo_needs_an_audio_connection(server) -> None:
    room_id, host = hosted_room(server)
    try:
        await host.join(room_id)
        with pytest.raises(RequestFailed) as refused:
            await host.client.request("echo", seconds=3)
        assert refused.value.code is ErrorCode.NO_OFFER
    finally:
        await host.close()


class Recorded:
    """Stands in for a member's SRTP socket: keeps the (sequence number, timestamp) sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, int]] = []

    def write(self, packet: bytes) -> bool:
        parsed = RtpPacket.parse(packet)
        self.sent.append((parsed.sequence_number, parsed.timestamp))
        return True

    def ready(self) -> bool:
        return True

    def socket_target(self) -> None:
        return None


def test_the_echoed_stream_goes_on_without_going_back() -> None:
    clock = [100.0]
    forwarder = Forwarder(2, clock=lambda: clock[0])
    sockets = {name: [Recorded(), Recorded()] for name in ("speaker", "tester", "other")}
    for name, recorded in sockets.items():
        forwarder.attach(name, [Outlet(ssrc=10 + i, payload_type=111, writer=r) for i, r in enumerate(recorded)])
    forwarder.allow("speaker", True)
    frames = itertools.count(1)  # timestamps run on in silence; sequence numbers (one count per source) don't
    sent = {source: itertools.count(1) for source in ("speaker", "relayed", "tester")}

    def talk(count: int, tester: bool = False, relayed: bool = True, silent: bool = False) -> None:
        """`count` 20 ms frames: two speakers (slots 0 and 1; the second, if `relayed`, from
        another node) and, if `tester`, the tester's microphone; timestamps run with the clock."""
        for _ in range(count):
            clock[0] += 0.02
            ts = next(frames) * 960 % TS_MOD
            if silent:
                continue
            voiced = RtpPacket(payload_type=111, sequence_number=next(sent["speaker"]), timestamp=ts, ssrc=1,
                               payload=b"opus")
            voiced.extensions.audio_level = (True, 10)
            forwarder.on_packet("speaker", voiced)
            if relayed:
                forwarder.take("relayed", 10, 2, next(sent["relayed"]), ts, 0, b"opus")
            if tester:
                forwarder.on_packet("tester", RtpPacket(payload_type=111, sequence_number=next(sent["tester"]),
                                                        timestamp=ts + 960 * 3, ssrc=3, payload=b"mine"))

    talk(50)
    assert forwarder.echo("tester", 2) == 1
    talk(30, tester=True)  # the tester hears themselves on slot 1 ...
    talk(20, tester=True, relayed=False)  # ... while the room's slot 1 goes on for a while, then pauses
    talk(55, silent=True)
    forwarder.tick()  # the test's 2 s are up
    talk(50)

    tester, other = sockets["tester"][1].sent, sockets["other"][1].sent
    assert len(other) == 130 and len(tester) == 150, (len(other), len(tester))
    for (seq, ts), (next_seq, next_ts) in zip(tester, tester[1:]):
        assert next_seq == (seq + 1) % SEQ_MOD, "no gap and no going back"
        assert 0 < (next_ts - ts) % TS_MOD <= 1.2 * 48_000, "time goes on (1.1 s of silence at most)"
    assert all(seq_newer(b[0], a[0]) for a, b in zip(other, other[1:]))
    assert len(sockets["other"][0].sent) == 150, "the speaker's slot went on for everyone"
