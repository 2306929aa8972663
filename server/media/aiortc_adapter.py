"""The aiortc adaptation: taking packets before aiortc's jitter buffer, and writing packets
straight to a peer's SRTP session and socket, without aiortc's per-sender tasks.

This relies on aiortc and aioice internals. They are pinned (exact versions in pyproject.toml)
and `check_internals()` fails with a clear message if an upgrade moves them; the server calls it
at start-up and tests/unit/test_aiortc_internals.py runs it.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
from collections.abc import Callable
from typing import Any, NoReturn

import aioice
import aiortc
from aioice import stun
from aioice.ice import CandidatePair, Connection, StunProtocol
from aioice.turn import TurnTransport
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.codecs import CODECS
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpReceiveParameters
from aiortc.rtcrtpreceiver import decoder_worker
from aiortc.rtp import RtpPacket
from aiortc.sdp import MediaDescription, parameters_from_sdp, parameters_to_sdp
from pylibsrtp import Session
from pylibsrtp._binding import ffi  # type: ignore[import-not-found]  # pylibsrtp's cffi module has no stub

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

    receiver.receive = receive_without_decoder  # type: ignore[method-assign]


def is_rtp(data: bytes) -> bool:
    """Whether a datagram on a WebRTC socket is (S)RTP: not STUN or DTLS by its first byte, and
    not RTCP by its packet type (RFC 5761)."""
    return len(data) > 12 and 0x80 <= data[0] < 0xC0 and not 192 <= data[1] <= 223


def tap_datagrams(dtls: RTCDtlsTransport, on_rtp: Callable[[RtpPacket], None]) -> None:
    """Take SRTP packets straight from the connection's sockets (its aioice protocols, TURN
    included): unprotected, parsed and handed to `on_rtp` on the spot, with no hop through
    aioice's queue and aiortc's coroutines. STUN, DTLS and RTCP go on to aioice as before, and
    so does anything before DTLS has keyed SRTP. Call once the local description is set.
    """
    extensions = dtls._rtp_header_extensions_map

    for protocol in dtls.transport._connection._protocols:

        def datagram_received(
            data: bytes,
            addr: tuple[Any, ...],
            forward: Callable[[bytes, tuple[Any, ...]], None] = protocol.datagram_received,
        ) -> None:
            rx = dtls._rx_srtp
            if rx is None or not is_rtp(data):
                forward(data, addr)  # STUN, DTLS, RTCP, or RTP before SRTP is keyed
                return
            try:
                packet = RtpPacket.parse(rx.unprotect(data), extensions)
            except Exception:  # forged, replayed or malformed: dropped, as aiortc would
                return
            on_rtp(packet)

        # method-assign: the tap replaces the method on this instance. assignment: aioice types `data`
        # as bytes | str, but a datagram endpoint is only ever handed bytes.
        protocol.datagram_received = datagram_received  # type: ignore[method-assign,assignment]


def tap_rtcp(dtls: RTCDtlsTransport, on_rtcp: Callable[[bytes], None]) -> None:
    """Hand every compound RTCP packet from the peer, unprotected, to `on_rtcp` before aiortc
    routes it (to the microphone's receiver, which keeps the speaker's last sender report)."""
    handle = dtls._handle_rtcp_data

    async def handle_rtcp_data(data: bytes) -> None:
        on_rtcp(data)
        await handle(data)

    dtls._handle_rtcp_data = handle_rtcp_data  # type: ignore[method-assign]


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


class DirectRtpWriter:
    """Writes serialized RTP and RTCP to one peer: SRTP-protect, then a UDP send, on the caller's stack."""

    __slots__ = ("_dtls", "_nominated", "_target", "_target_pair")

    def __init__(self, dtls: RTCDtlsTransport) -> None:
        self._dtls = dtls
        self._nominated: dict[int, CandidatePair] = dtls.transport._connection._nominated
        self._target: tuple[int, int, Session, tuple[str, int]] | None = None
        self._target_pair: CandidatePair | None = None  # the pair `_target` was read from

    def write(self, packet: bytes) -> bool:
        """Send RTP `packet`; False if the peer's transport is not (or no longer) connected."""
        dtls = self._dtls
        if dtls._state is not DtlsState.CONNECTED:
            return False
        pair = self._nominated.get(1)
        if pair is None or (transport := pair.protocol.transport) is None:
            return False
        # A relayed (TURN) pair's transport queues the send itself; a host pair's is a UDP socket.
        transport.sendto(dtls._tx_srtp.protect(packet), pair.remote_addr)
        return True

    def ready(self) -> bool:
        return self._dtls._state is DtlsState.CONNECTED

    def socket_target(self) -> tuple[int, int, Session, tuple[str, int]] | None:
        """For the C fan-out loop: (socket descriptor, srtp_t address, the pylibsrtp Session that
        owns it, remote address) once connected on a plain UDP pair; None otherwise (TURN too).
        Read once per connected pair: every join rebuilds each slot's fan-out from everyone's."""
        dtls = self._dtls
        pair = self._nominated.get(1)
        if dtls._state is not DtlsState.CONNECTED or pair is None or dtls._tx_srtp is None:
            return None
        if pair is self._target_pair:
            return self._target
        transport = pair.protocol.transport
        socket = transport.get_extra_info("socket") if transport is not None else None
        if socket is None or isinstance(transport, TurnTransport) or socket.fileno() < 0:
            return None
        session: Session = dtls._tx_srtp
        self._target_pair = pair
        self._target = socket.fileno(), int(ffi.cast("uintptr_t", session._srtp[0])), session, pair.remote_addr[:2]
        return self._target

    def relayed(self) -> bool:
        """Whether the selected pair goes through a TURN relay (the member's or this node's)."""
        pair = self._nominated.get(1)
        return pair is not None and "relay" in (pair.local_candidate.type, pair.remote_candidate.type)

    def write_rtcp(self, packet: bytes) -> bool:
        """Send a compound RTCP `packet` (SRTCP); False if not connected."""
        dtls = self._dtls
        pair = self._nominated.get(1)
        if dtls._state is not DtlsState.CONNECTED or pair is None or pair.protocol.transport is None:
            return False
        pair.protocol.transport.sendto(dtls._tx_srtp.protect_rtcp(packet), pair.remote_addr)
        return True


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


def last_sender_report(receiver: RTCRtpReceiver, ssrc: int) -> tuple[int, float] | None:
    """(LSR, wall-clock time it arrived) of the last RTCP sender report from `ssrc`, if any."""
    lsr: dict[int, int] = receiver._RTCRtpReceiver__lsr  # type: ignore[attr-defined]
    at: dict[int, float] = receiver._RTCRtpReceiver__lsr_time  # type: ignore[attr-defined]
    return (lsr[ssrc], at[ssrc]) if ssrc in lsr and ssrc in at else None


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
    _require(
        list(inspect.signature(RTCDtlsTransport._handle_rtcp_data).parameters) == ["self", "data"]
        and "await self._handle_rtcp_data(data)" in inspect.getsource(RTCDtlsTransport._recv_next),
        "RTCDtlsTransport._recv_next hands unprotected RTCP to self._handle_rtcp_data(data)",
    )
    _require(hasattr(DtlsState, "CONNECTED"), "aiortc.rtcdtlstransport.State.CONNECTED")
    init = inspect.getsource(RTCDtlsTransport.__init__)
    _require("self._tx_srtp" in init and "self._state" in init, "RTCDtlsTransport._tx_srtp / _state")
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
    receiver_init = inspect.getsource(RTCRtpReceiver.__init__)
    _require("self.__lsr" in receiver_init and "self.__lsr_time" in receiver_init, "RTCRtpReceiver.__lsr / __lsr_time")
