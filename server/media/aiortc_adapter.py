"""The aiortc adaptation: what the server changes in aiortc's peer connection so that the
forwarding core, not aiortc, carries the media (see server/media/link.py), and how it lets the
peer connection go once DTLS is done.

This relies on aiortc and aioice internals. They are pinned (exact versions in pyproject.toml)
and `check_internals()` fails with a clear message if an upgrade moves them; the server calls it
at start-up and tests/unit/test_aiortc_internals.py runs it.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
from collections.abc import Callable
from typing import NoReturn

import aioice
import aiortc
from aioice import stun
from aioice.ice import CandidatePair, Connection, StunProtocol
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.codecs import CODECS
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdtlstransport import RTCDtlsTransport, RtpRouter
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpReceiveParameters
from aiortc.rtcrtpreceiver import decoder_worker
from aiortc.rtp import RtpPacket
from aiortc.sdp import MediaDescription, parameters_from_sdp, parameters_to_sdp
from pylibsrtp import Session

PINNED = {"aiortc": "1.16.0", "aioice": "0.13.0", "pylibsrtp": "1.0.0"}

PacketHandler = Callable[[RtpPacket, int], None]


class AiortcInternalsMoved(RuntimeError):
    """An aiortc/aioice upgrade changed an internal the forwarding core depends on."""


def tap_receiver(receiver: RTCRtpReceiver, handler: PacketHandler) -> None:
    """Hand every RTP packet for `receiver` to `handler(packet, arrival_ms)` on arrival.

    The DTLS transport has already decrypted and parsed the packet; aiortc's jitter buffer,
    decoder thread and track never see it.
    """

    async def handle_rtp_packet(packet: RtpPacket, arrival_time_ms: int) -> None:
        handler(packet, arrival_time_ms)

    receiver._handle_rtp_packet = handle_rtp_packet  # type: ignore[method-assign]


def ice_connections(pc: RTCPeerConnection) -> list[Connection]:
    """The aioice connections of a peer connection's transports (one when bundled), once its remote
    description is set and before its local one is (which gathers their candidates)."""
    connections: dict[int, Connection] = {}
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        if dtls is not None:
            connection = dtls.transport._connection
            connections[id(connection)] = connection
    return list(connections.values())


def end_decoder_on_receive(receiver: RTCRtpReceiver) -> None:
    """End the decoder thread aiortc starts when `receiver` starts receiving: the tap takes every
    packet before it, so it would only sit idle, a thread per member."""
    receive = receiver.receive

    async def receive_without_decoder(parameters: RTCRtpReceiveParameters) -> None:
        await receive(parameters)
        # Ask the thread to end, and let it go: joining it (aiortc's __stop_decoder) would hold the
        # event loop until it has. Name-mangled internals, checked in check_internals.
        receiver._RTCRtpReceiver__decoder_queue.put(None)  # type: ignore[attr-defined]
        receiver._RTCRtpReceiver__decoder_thread = None  # type: ignore[attr-defined]
        del receiver.receive  # this closure holds the receiver: no cycle for the collector to find

    receiver.receive = receive_without_decoder  # type: ignore[method-assign]


OPUS_FMTP = {"minptime": 10, "useinbandfec": 1}  # what browsers offer, and what we answer


def answer_opus_with_fec(transceiver: RTCRtpTransceiver) -> None:
    """Make the answer's Opus carry `useinbandfec=1`: aiortc's Opus has no fmtp at all, and a
    browser whose answer lacks it never puts in-band FEC in what it sends."""
    for codec in transceiver._codecs:
        if codec.mimeType.lower() == "audio/opus":
            codec.parameters = {**codec.parameters, **OPUS_FMTP}


def answer_red(transceiver: RTCRtpTransceiver, offered: MediaDescription, first: bool) -> None:
    """Add Opus in RED (RFC 2198, audio/red 48000/2, fmtp "<opus>/<opus>") to the answer if the
    offer's section has it: `first` on the microphone, so the browser sends RED; after Opus on a
    slot, so the server may send it RED. aiortc has no audio/red: it goes into this transceiver's
    negotiated codecs alone (never aiortc's CODECS), and the server never decodes it."""
    opus = next((c for c in transceiver._codecs if c.mimeType.lower() == "audio/opus"), None)
    if opus is None:
        return
    fmtp = {f"{opus.payloadType}/{opus.payloadType}": None}
    for codec in offered.rtp.codecs:
        if codec.mimeType.lower() == "audio/red" and codec.clockRate == 48000 and codec.parameters == fmtp:
            red = RTCRtpCodecParameters(mimeType=codec.mimeType, clockRate=48000, channels=codec.channels,
                                        payloadType=codec.payloadType, parameters=dict(fmtp))
            transceiver._codecs.insert(0 if first else len(transceiver._codecs), red)
            return


def red_payload_type(transceiver: RTCRtpTransceiver) -> int | None:
    """The negotiated payload type of audio/red, if `answer_red` added it."""
    return next((c.payloadType for c in transceiver._codecs if c.mimeType.lower() == "audio/red"), None)


def payload_type(transceiver: RTCRtpTransceiver) -> int:
    """The negotiated payload type of the transceiver's first (preferred) codec."""
    payload_type = transceiver._codecs[0].payloadType
    if payload_type is None:  # aiortc sets it on every negotiated codec
        raise ValueError("the transceiver's codec has no payload type: is it negotiated?")
    return payload_type


def park_streams(transceiver: RTCRtpTransceiver) -> None:
    """Keep aiortc's per-stream loops from running: the RTCP loops of the sender and the receiver,
    and the sender's RTP loop.

    The RTCP loops report on aiortc's own sending and receiving, which the forwarding core
    bypasses, and cost a timer per stream per second; the Peer sends the reports instead. aiortc
    still handles incoming RTCP (the speakers' sender reports among it). The RTP loop would wait
    on a track whose packets the forwarder writes directly. Each loop's task ends at once, having
    said it started and exited (stop() waits for both), so no task lingers per stream.
    """
    loops = ((transceiver.sender, "RTCRtpSender", "rtcp"), (transceiver.receiver, "RTCRtpReceiver", "rtcp"),
             (transceiver.sender, "RTCRtpSender", "rtp"))
    for endpoint, owner, loop in loops:
        started: asyncio.Event = getattr(endpoint, f"_{owner}__{loop}_started")
        exited: asyncio.Event = getattr(endpoint, f"_{owner}__{loop}_exited")

        async def done(*_: object, started: asyncio.Event = started, exited: asyncio.Event = exited) -> None:
            started.set()
            exited.set()

        setattr(endpoint, f"_run_{loop}", done)


def release_after_handshake(dtls: RTCDtlsTransport) -> RTCIceTransport | None:
    """Let go of all that aiortc made for a peer connection but its ICE transport, which is
    returned, once `dtls` has connected and can need nothing more: the DTLS task ends, and the
    peer connection, transceivers and OpenSSL connection (about 80 KB) become garbage.

    Only as DTLS client (our answer's `setup:active`, which aiortc gives every offer of
    `actpass`) with no retransmission pending: the browser's last flight completed the
    handshake, so no flight of ours can be asked for again. The server does nothing with DTLS
    after it (no data channel; a close alert is not needed, the websocket says who left). None,
    and nothing let go, otherwise. Call after the transport's `start()` has returned.
    """
    ssl, task = dtls._ssl, dtls._task
    if dtls._role != "client" or ssl is None or ssl.DTLSv1_get_timeout() is not None or task is None:
        return None
    ice = dtls.transport
    for emitter in (dtls, ice, ice.iceGatherer):  # the peer connection's listeners hold it
        emitter.remove_all_listeners()
    task.cancel()
    # Break the cycles through the transport (its task's traceback, its router's senders and
    # receivers), so that reference counting frees it all: the router has frozen the heap since
    # the negotiation (gc.freeze), and the collector would never look at these objects.
    dtls._task = None
    dtls._rtp_router = RtpRouter()
    return ice


class ParkedTrack(MediaStreamTrack):
    """A track that never yields a frame: it keeps aiortc's sender task asleep on a slot whose
    packets the forwarder writes directly, until the track is stopped."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._stopped = asyncio.Event()

    async def recv(self) -> NoReturn:
        await self._stopped.wait()
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._stopped.set()


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise AiortcInternalsMoved(
            f"aiortc internals moved: {what}. The forwarding core in server/media/aiortc_adapter.py"
            f" was written for aiortc {PINNED['aiortc']} / aioice {PINNED['aioice']} / pylibsrtp"
            f" {PINNED['pylibsrtp']}; re-check it"
            " against the installed versions before changing the pins."
        )


def check_internals() -> None:
    """Raise AiortcInternalsMoved unless every internal this module uses is where it expects."""
    _require(aiortc.__version__ == PINNED["aiortc"], f"aiortc is {aiortc.__version__}, not {PINNED['aiortc']}")
    _require(aioice.__version__ == PINNED["aioice"], f"aioice is {aioice.__version__}, not {PINNED['aioice']}")
    srtp_version = importlib.metadata.version("pylibsrtp")
    _require(srtp_version == PINNED["pylibsrtp"], f"pylibsrtp is {srtp_version}, not {PINNED['pylibsrtp']}")
    _require("self._srtp" in inspect.getsource(Session.__init__), "pylibsrtp Session._srtp (the srtp_t)")

    params = list(inspect.signature(RTCRtpReceiver._handle_rtp_packet).parameters)
    _require(
        params == ["self", "packet", "arrival_time_ms"],
        "RTCRtpReceiver._handle_rtp_packet(packet, arrival_time_ms)",
    )
    source = inspect.getsource(RTCDtlsTransport._handle_rtp_data)
    _require(
        "receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)" in source,
        "RTCDtlsTransport._handle_rtp_data no longer calls receiver._handle_rtp_packet",
    )
    init = inspect.getsource(RTCDtlsTransport.__init__)
    _require(all(f"self.{name}" in init for name in ("_tx_srtp", "_ssl", "_role", "_task", "_rtp_router")),
             "RTCDtlsTransport._tx_srtp / _ssl / _role / _task / _rtp_router")
    _require("self._task = asyncio.ensure_future(self.__run())" in inspect.getsource(RTCDtlsTransport.start)
             and "timeout = self._ssl.DTLSv1_get_timeout()" in inspect.getsource(RTCDtlsTransport._recv_next),
             "RTCDtlsTransport.start() runs its receive loop as _task, which handles DTLS timeouts")
    _require("self._connection" in inspect.getsource(RTCIceTransport.__init__), "RTCIceTransport._connection")
    _require("self._protocols" in inspect.getsource(Connection.__init__), "aioice Connection._protocols")
    _require("def datagram_received" in inspect.getsource(StunProtocol), "aioice StunProtocol.datagram_received")
    _require(
        "self._rx_srtp" in inspect.getsource(RTCDtlsTransport.__init__)
        and "self._rtp_header_extensions_map" in inspect.getsource(RTCDtlsTransport.__init__),
        "RTCDtlsTransport._rx_srtp / _rtp_header_extensions_map",
    )
    _require("self._nominated" in inspect.getsource(Connection.__init__), "aioice Connection._nominated")
    pair_init = inspect.signature(CandidatePair.__init__).parameters
    _require("protocol" in pair_init, "aioice CandidatePair.protocol")
    _require(hasattr(CandidatePair, "remote_addr"), "aioice CandidatePair.remote_addr")
    _require("self.transport" in inspect.getsource(StunProtocol), "aioice StunProtocol.transport")
    _require("self._codecs" in inspect.getsource(RTCRtpTransceiver.__init__), "RTCRtpTransceiver._codecs")
    _require(
        all(c.mimeType.lower() != "audio/red" for c in CODECS["audio"])
        and parameters_to_sdp(parameters_from_sdp("111/111")) == "111/111",
        "aiortc has no audio/red of its own, and renders RED's fmtp (\"111/111\") as it was offered",
    )
    for cls, name in ((RTCRtpSender, "RTCRtpSender"), (RTCRtpReceiver, "RTCRtpReceiver")):
        init, send = inspect.getsource(cls.__init__), inspect.getsource(cls)
        _require(
            "self.__rtcp_started" in init
            and "self.__rtcp_exited" in init
            and "ensure_future(self._run_rtcp())" in send,
            f"{name} starts its RTCP loop with self._run_rtcp() and signals __rtcp_started/__rtcp_exited",
        )
    sender_init, sender = inspect.getsource(RTCRtpSender.__init__), inspect.getsource(RTCRtpSender)
    _require(
        "self.__rtp_started" in sender_init
        and "self.__rtp_exited" in sender_init
        and "ensure_future(self._run_rtp(parameters.codecs[0]))" in sender,
        "RTCRtpSender starts its RTP loop with self._run_rtp(codec) and signals __rtp_started/__rtp_exited",
    )
    gather = inspect.getsource(Connection.get_component_candidates)
    _require(
        list(inspect.signature(Connection.get_component_candidates).parameters) == [
            "self", "component", "addresses", "timeout"]
        and "self._protocols += host_protocols" in gather and "if self.turn_server:" in gather,
        "aioice Connection.get_component_candidates(component, addresses, timeout) makes the host protocols, "
        "and with no addresses the TURN candidate alone (server/media/udp_mux.py replaces the first part)",
    )
    _require(
        list(inspect.signature(StunProtocol.__init__).parameters) == ["self", "receiver"]
        and "self.transactions" in inspect.getsource(StunProtocol.__init__)
        and "local_username" in inspect.getsource(Connection.__init__)
        and hasattr(stun.Message, "check_message_integrity"),
        "aioice StunProtocol(receiver).transactions, Connection.local_username, stun.Message.check_message_integrity",
    )
    _require(
        "self.__decoder_thread.start()" in inspect.getsource(RTCRtpReceiver.receive)
        and "self.__decoder_queue.put(None)" in inspect.getsource(RTCRtpReceiver)
        and "if task is None:" in inspect.getsource(decoder_worker),
        "RTCRtpReceiver.receive() starts a decoder thread that ends on a None in its __decoder_queue",
    )
    pc_source = inspect.getsource(RTCPeerConnection)
    _require(
        "self.__certificates = [RTCCertificate.generateCertificate()]" in pc_source
        and "RTCDtlsTransport(iceTransport, self.__certificates)" in pc_source
        and "self.__local_certificate._create_ssl_context(" in inspect.getsource(RTCDtlsTransport)
        and "self.__local_certificate.getFingerprints()" in inspect.getsource(RTCDtlsTransport),
        "RTCPeerConnection.__certificates go to its DTLS transports, which make their SSL context and "
        "fingerprints from them (server/media/certificate.py)",
    )
