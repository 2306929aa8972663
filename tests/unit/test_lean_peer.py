"""A member's peer connection is lean: once DTLS is done the Peer lets aiortc's peer connection go
and keeps its ICE transport and SRTP sessions alone; before that (or when it must keep it) no idle
decoder thread (its microphone's packets are taken before aiortc's decoder, which aiortc starts
anyway; the Peer ends it as soon as it starts) and no task per stream; and the node's one DTLS
certificate and SSL context (server/media/certificate.py)."""

from __future__ import annotations

import asyncio
import datetime
import gc
import threading
import time
import weakref
from collections.abc import Callable

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcdtlstransport import SRTP_PROFILES, RTCDtlsTransport
from aiortc.sdp import SessionDescription
from aiortc.stats import RTCInboundRtpStreamStats
from coturn import machine_address
from OpenSSL import SSL
from OpenSSL._util import lib as openssl

from server.media.certificate import node_certificate
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


async def connected_listener(
    mux: UdpMux, name: str, setup: str = "actpass", on_change: Callable[[], None] = lambda: None,
) -> tuple[Peer, RTCPeerConnection, RTCDtlsTransport, weakref.ref[RTCPeerConnection]]:
    """A Peer with a microphone (sending a tone) and three slots, connected to an aiortc 'browser'
    whose offer says `a=setup:<setup>`; the Peer's DTLS transport, held from before it connects,
    and a weak reference to its aiortc peer connection."""
    browser = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    browser.addTransceiver(ToneTrack(), direction="sendrecv")
    for _ in range(3):
        browser.addTransceiver("audio", direction="recvonly")
    await browser.setLocalDescription(await browser.createOffer())
    peer = Peer(name, [], 3, on_packet=lambda packet, red: None, on_transport_change=on_change, mux=mux)
    offer = browser.localDescription.sdp.replace("a=setup:actpass", f"a=setup:{setup}")
    answer = await peer.answer(offer)
    dtls, pc = peer._dtls, peer._pc
    assert dtls is not None and pc is not None
    await browser.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def up() -> bool:
        return browser.connectionState == "connected" and peer._connected

    await wait_until(up, what=f"{name}'s connection comes up")
    return peer, browser, dtls, weakref.ref(pc)


def stream_loops(peer: Peer) -> int:
    """Tasks still running a loop of `peer`'s senders and receivers: aiortc's RTP and RTCP loops,
    or a stand-in of ours."""
    assert peer._pc is not None
    endpoints = [e for t in peer._pc.getTransceivers() for e in (t.sender, t.receiver)]
    count = 0
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        owner = coro.cr_frame.f_locals.get("self") if coro.cr_frame is not None else None
        count += "park_streams" in coro.__qualname__ or (
            coro.__qualname__.split(".")[-1] in ("_run_rtp", "_run_rtcp")
            and any(owner is endpoint for endpoint in endpoints))
    return count


async def packets_heard(browser: RTCPeerConnection, slot: int) -> int:
    stats = await browser.getTransceivers()[slot].receiver.getStats()
    return sum(s.packetsReceived for s in stats.values() if isinstance(s, RTCInboundRtpStreamStats))


async def test_a_connected_peer_lets_aiortcs_peer_connection_go_and_still_carries_media() -> None:
    mux = UdpMux()
    await mux.open(0, addresses=[machine_address()])
    changes: list[None] = []
    try:
        gc.disable()  # the MediaRouter freezes each negotiated peer out of the collector: reference counts must free it
        peer, browser, dtls, pc = await connected_listener(mux, "ada", on_change=lambda: changes.append(None))
        dtls_ref = weakref.ref(dtls)
        del dtls

        async def let_go() -> bool:
            return peer._pc is None

        await wait_until(let_go, what="the Peer lets aiortc's peer connection go")
        await asyncio.sleep(0.05)  # the DTLS task ends
        assert pc() is None, "aiortc's peer connection is still alive"
        assert dtls_ref() is None, "aiortc's DTLS transport (and its OpenSSL connection) is still alive"
        heard: list[int] = []
        peer._on_packet = lambda packet, red: heard.append(packet.sequence_number)
        for seq in range(10):  # the slot's packets reach the browser through the link
            assert peer.outlets[0].write(seq, seq * 960, 0, b"\xf8\xff\xfe")
        peer.send_reports(time.monotonic() + 60)  # a receiver report on the microphone goes out too

        async def both_ways() -> bool:
            return await packets_heard(browser, 1) == 10 and len(heard) > 10

        await wait_until(both_ways, what="media flows both ways after the let-go")
        told = len(changes)
        await peer.close()
        assert len(changes) > told and not peer._connected, "closing the Peer says its transport is down"
        assert mux.peers == 0, "closing the Peer closes its ICE connection"
        assert not peer.outlets[0].write(10, 9600, 0, b"\xf8\xff\xfe")
    finally:
        gc.enable()
        await browser.close()
        await mux.close()


async def test_a_peer_that_is_dtls_server_keeps_aiortc_and_no_task_per_stream() -> None:
    """A browser that insists on being DTLS client leaves the server the DTLS server, which may be
    asked for its last flight again: the Peer keeps aiortc's connection, with no loop per stream."""
    mux = UdpMux()
    await mux.open(0, addresses=[machine_address()])
    try:
        peer, browser, _, _ = await connected_listener(mux, "ada", setup="active")
        try:
            await asyncio.sleep(0.1)
            assert peer._pc is not None and len(peer._pc.getTransceivers()) == 4
            assert stream_loops(peer) == 0, "the server's streams left RTP or RTCP loops running"
        finally:
            await peer.close()  # and stop() still finds its loops ended: it does not hang
            await browser.close()
    finally:
        await mux.close()


def fingerprint(sdp: str) -> str:
    description = SessionDescription.parse(sdp)
    return next(f.value for f in description.media[0].dtls.fingerprints if f.algorithm == "sha-256")


async def test_two_members_connect_with_the_nodes_one_certificate() -> None:
    mux = UdpMux()
    await mux.open(0, addresses=[machine_address()])
    certificate = node_certificate()
    expected = next(f.value for f in certificate.getFingerprints() if f.algorithm == "sha-256")
    pairs = []
    try:
        for name in ("ada", "grace"):  # each connects: DTLS completes with the shared context
            pairs.append(await connected_listener(mux, name))
        for _, browser, dtls, _ in pairs:
            assert fingerprint(browser.remoteDescription.sdp) == expected
            assert dtls._ssl.get_context() is certificate._create_ssl_context(SRTP_PROFILES)
    finally:
        for peer, browser, _, _ in pairs:
            await peer.close()
            await browser.close()
        await mux.close()


def test_the_shared_context_keeps_no_sessions_and_releases_buffers() -> None:
    context = node_certificate()._create_ssl_context(SRTP_PROFILES)
    assert context is node_certificate()._create_ssl_context(SRTP_PROFILES)
    assert context.get_session_cache_mode() == SSL.SESS_CACHE_OFF
    assert openssl.SSL_CTX_set_mode(context._context, 0) & SSL.MODE_RELEASE_BUFFERS  # adds nothing, returns the mode


def test_the_certificate_is_renewed_a_day_before_it_expires() -> None:
    current = node_certificate()
    assert node_certificate(current.expires - datetime.timedelta(days=2)) is current
    renewed = node_certificate(current.expires - datetime.timedelta(hours=12))
    assert renewed is not current
    assert renewed.getFingerprints() != current.getFingerprints()
    assert renewed.expires >= current.expires  # to the second: the same second when current is new
