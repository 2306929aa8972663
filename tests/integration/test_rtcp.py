"""The forwarding core's RTCP: receiver reports reach a speaker, sender reports with real counts
reach a listener, though aiortc's own per-stream RTCP is silenced."""

from __future__ import annotations

import asyncio

from support import host_and_listener


async def stats_of(endpoint, kind: str) -> list:
    return [s for s in (await endpoint.getStats()).values() if s.type == kind]


async def eventually(probe, timeout: float = 15.0):
    async with asyncio.timeout(timeout):
        while not (found := await probe()):
            await asyncio.sleep(0.2)
    return found


async def test_speaker_gets_receiver_reports_and_listener_gets_sender_reports(server) -> None:
    _, host, listener = await host_and_listener(server)
    try:
        microphone = host.pc.getTransceivers()[0].sender
        slot = listener.pc.getTransceivers()[1].receiver

        (report,) = await eventually(lambda: stats_of(microphone, "remote-inbound-rtp"))
        assert report.packetsReceived > 0 and 0 <= report.packetsLost <= 2, report

        async def counted_report() -> list:
            return [s for s in await stats_of(slot, "remote-outbound-rtp") if s.packetsSent > 0]

        (sender_report,) = await eventually(counted_report)
        received = (await listener.packets_per_slot())[0]
        # The report counted what the slot had sent by then (a packet or two may still have been on
        # their way); we look within 0.2 s of its arrival.
        assert received - 25 <= sender_report.packetsSent <= received + 3, (sender_report, received)
        assert sender_report.bytesSent > 20 * sender_report.packetsSent, "octet count: Opus payloads, not zeros"
    finally:
        await asyncio.gather(host.close(), listener.close(), return_exceptions=True)
