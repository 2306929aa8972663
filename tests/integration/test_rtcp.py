"""The forwarding core's RTCP: receiver reports reach a speaker, sender reports with real counts
reach a listener, though aiortc's own per-stream RTCP is silenced."""

from __future__ import annotations

import asyncio

from aiortc.sdp import SessionDescription

from support import host_and_listener


async def stats_of(endpoint, kind: str) -> list:
    return [s for s in (await endpoint.getStats()).values() if s.type == kind]


async def eventually(probe, timeout: float = 15.0, every: float = 0.2):
    async with asyncio.timeout(timeout):
        while not (found := await probe()):
            await asyncio.sleep(every)
    return found


async def test_speaker_gets_receiver_reports_and_listener_gets_sender_reports(server) -> None:
    _, host, listener = await host_and_listener(server)
    watching = None
    try:
        microphone = host.pc.getTransceivers()[0].sender
        slot = listener.pc.getTransceivers()[1].receiver

        async def counted_report() -> tuple | None:
            """The first sender report that counts packets, with what the slot had received by then
            (one stats snapshot, watched from the start: the first report comes soon after connecting)."""
            stats = list((await slot.getStats()).values())
            reports = [s for s in stats if s.type == "remote-outbound-rtp" and s.packetsSent > 0]
            received = sum(s.packetsReceived for s in stats if s.type == "inbound-rtp")
            return (reports[0], received) if reports else None

        watching = asyncio.create_task(eventually(counted_report, every=0.05))
        (report,) = await eventually(lambda: stats_of(microphone, "remote-inbound-rtp"))
        assert report.packetsReceived > 0 and 0 <= report.packetsLost <= 2, report

        async def timed_report() -> list:
            """A receiver report that echoes the speaker's last sender report (LSR and DLSR), from
            which their browser measures the round trip."""
            return [r for r in await stats_of(microphone, "remote-inbound-rtp") if r.roundTripTime is not None]

        (report,) = await eventually(timed_report)
        assert 0 <= report.roundTripTime < 0.5, report

        sender_report, received = await watching
        # The report counted what the slot had sent by then (a packet or two may still have been on
        # their way); we look within 50 ms of its arrival, and allow for a busy machine.
        assert received - 25 <= sender_report.packetsSent <= received + 3, (sender_report, received)
        assert sender_report.bytesSent > 20 * sender_report.packetsSent, "octet count: Opus payloads, not zeros"
    finally:
        if watching is not None:
            watching.cancel()
        await asyncio.gather(host.close(), listener.close(), return_exceptions=True)


async def test_the_answer_asks_for_opus_in_band_fec_on_every_section(server) -> None:
    """A browser puts in-band FEC in what it sends only if the answer's Opus says useinbandfec=1,
    and its encoder sizes that FEC by the loss our receiver reports tell it."""
    _, host, listener = await host_and_listener(server)
    try:
        for participant in (host, listener):
            answer = SessionDescription.parse(participant.pc.remoteDescription.sdp)
            for media in answer.media:
                (opus,) = [codec for codec in media.rtp.codecs if codec.mimeType.lower() == "audio/opus"]
                assert opus.parameters.get("useinbandfec") == 1, (media.rtp.muxId, opus)
    finally:
        await asyncio.gather(host.close(), listener.close(), return_exceptions=True)
