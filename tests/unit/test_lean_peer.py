"""A member's peer connection carries no idle decoder thread: its microphone's packets are taken
before aiortc's decoder, which aiortc starts anyway; the Peer ends it as soon as it starts."""

from __future__ import annotations

import asyncio
import threading

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from coturn import machine_address

from server.media.peer import Peer
from server.media.udp_mux import UdpMux
from signaling.participant import ToneTrack
from support import wait_until


def decoder_threads() -> int:
    return sum(thread.name == "audio-decoder" for thread in threading.enumerate())


async def test_a_speaking_members_peer_keeps_no_decoder_thread() -> None:
    mux = UdpMux()
    await mux.open(0, addresses=[machine_address()])
    browser = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    browser.addTransceiver(ToneTrack(), direction="sendonly")  # a microphone, and no slot to decode
    await browser.setLocalDescription(await browser.createOffer())
    received: list[int] = []
    peer = Peer("ada", [], 0, on_packet=lambda packet, red: received.append(packet.sequence_number),
                on_transport_change=lambda: None, mux=mux)
    before = decoder_threads()
    try:
        answer = await peer.answer(browser.localDescription.sdp)
        await browser.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

        async def hearing() -> bool:
            return len(received) > 20

        await wait_until(hearing, what="the microphone's packets reach the Peer")
        await asyncio.sleep(0.2)
        assert decoder_threads() == before, "the server's receiver ended aiortc's decoder thread"
    finally:
        await peer.close()
        await browser.close()
        await mux.close()
