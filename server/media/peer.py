"""A Peer: one member's peer connection with the server.

The browser offers one send-capable audio transceiver (its microphone; silent until it is on
stage) followed by up to K receive-only slots. The server answers Opus (and Opus in RED where the
browser offers it: first on the microphone, after Opus on the slots), taps the microphone's
packets before aiortc's jitter buffer, and writes each slot's packets directly (see Forwarder).

aiortc negotiates the connection (SDP, ICE, the DTLS handshake); the media then goes through a
MediaLink (server/media/link.py), and once DTLS is done the Peer lets aiortc's peer connection
go, keeping only its ICE transport (consent freshness, the selected pair) and the SRTP sessions:
a connected listener holds no transceivers, no OpenSSL connection and no parsed SDP.

The Peer also sends the RTCP that matters: receiver reports to a speaker about their microphone
(loss and jitter, which the browser's Opus encoder adapts its FEC to) and sender reports on the
slots. aiortc's own per-stream RTCP loops are parked: they would report on nothing. It reads the
member's RTCP: their receiver reports on the slots, which with its own reception of their
microphone make the `Reading` of their connection quality (server/media/meters.py), and a
speaker's sender reports, which its receiver reports echo.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Hashable

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.clock import current_ntp_time
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import (
    RtcpPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    RtpPacket,
)
from aiortc.sdp import MediaDescription, SessionDescription, candidate_from_sdp

from server.media.aiortc_adapter import (
    ParkedTrack,
    answer_opus_with_fec,
    answer_red,
    end_decoder_on_receive,
    ice_connections,
    park_streams,
    payload_type,
    red_payload_type,
    release_after_handshake,
    tap_receiver,
)
from server.media.certificate import use_node_certificate
from server.media.link import MediaLink
from server.media.meters import DownlinkMeter, UplinkMeter
from server.media.outlet import Outlet
from server.media.quality import Reading
from server.media.slot import OPUS_CLOCK_RATE, TS_MOD
from server.media.udp_mux import UdpMux
from vocabulary.errors import DropinError, ErrorCode

log = logging.getLogger(__name__)

OPUS = [c for c in RTCRtpSender.getCapabilities("audio").codecs if c.mimeType.lower() == "audio/opus"]
RR_INTERVAL_S = 1.0  # receiver reports to a speaker, while their packets arrive
SR_INTERVAL_S = 5.0  # sender reports on the slots, as browsers pace audio RTCP
SDES_CNAME = 1


def _audio_sections(sdp: str, slot_count: int) -> list[MediaDescription]:
    """The offer's audio sections; refuses offers other than one microphone and at most `slot_count` slots."""
    try:
        description = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc's parser raises assorted errors on garbage
        raise DropinError(ErrorCode.BAD_SDP, f"the offer is not valid SDP ({exc.__class__.__name__})") from None
    kinds = [media.kind for media in description.media]
    if not kinds:
        raise DropinError(ErrorCode.BAD_SDP, "the offer has no media sections")
    if any(kind != "audio" for kind in kinds):
        raise DropinError(ErrorCode.BAD_SDP, "Dropin rooms are audio only; the offer has other media")
    if len(kinds) > 1 + slot_count:
        raise DropinError(
            ErrorCode.BAD_SDP,
            f"the offer has {len(kinds)} audio sections; at most {1 + slot_count} (microphone and slots)",
        )
    return description.media


class Peer:
    """The server's side of one member's peer connection."""

    def __init__(
        self,
        member: Hashable,
        ice_servers: list[RTCIceServer],
        slot_count: int,
        on_packet: Callable[[RtpPacket, bool], None],
        on_transport_change: Callable[[], None],
        mux: UdpMux | None = None,
    ) -> None:
        """`mux`: the node's shared UDP port, which the connection gathers its host candidates on
        (None: sockets of its own)."""
        self._member = member
        self._mux = mux
        self._pc: RTCPeerConnection | None = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers))
        use_node_certificate(self._pc)
        self._dtls: RTCDtlsTransport | None = None  # aiortc's, until the Peer lets it go
        self._ice: RTCIceTransport | None = None  # what the Peer keeps of aiortc's once it has
        self._slot_count = slot_count
        self._on_packet = on_packet
        self._on_transport_change = on_transport_change
        self.outlets: list[Outlet] = []
        self._red: int | None = None  # the microphone's RED payload type, if negotiated
        self._link: MediaLink | None = None
        self._ssrc = 0  # the microphone's, which our receiver reports come from
        self._cname = b""
        self._reception: dict[int, StreamStatistics] = {}
        self._sender_reports: dict[int, tuple[int, float]] = {}  # ssrc -> (LSR, wall-clock arrival)
        self._reported = 0  # microphone packets received when the last receiver report went
        self._next_rr = 0.0
        self._next_sr = time.monotonic() + random.uniform(0, SR_INTERVAL_S)
        self._closed = False
        self._last_packet: float | None = None  # monotonic time of the latest microphone packet
        self._slot_ssrcs: frozenset[int] = frozenset()
        self._downlink = DownlinkMeter()
        # What the room's listeners lose of what we send them (meters.loss_heard): our receiver
        # reports tell this member's encoder the worse of it and their own uplink loss, so that
        # it adds in-band FEC for losses on the way to listeners too, which it never hears of.
        self.listeners_loss = 0.0
        self._uplink = UplinkMeter()

    async def answer(self, offer_sdp: str) -> str:
        """Apply the member's offer and return the server's answer (all candidates included)."""
        offered = _audio_sections(offer_sdp, self._slot_count)
        pc = self._pc
        if pc is None:
            raise RuntimeError("a Peer answers one offer")
        microphone = pc.addTransceiver("audio", direction="recvonly")
        slots = [pc.addTransceiver(ParkedTrack(), direction="sendonly") for _ in offered[1:]]
        for transceiver in [microphone, *slots]:
            transceiver.setCodecPreferences(OPUS)
            park_streams(transceiver)
        tap_receiver(microphone.receiver, self._receive)
        end_decoder_on_receive(microphone.receiver)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            if self._mux is not None:
                for connection in ice_connections(pc):
                    self._mux.adopt(connection)
            for index, (transceiver, media) in enumerate(zip([microphone, *slots], offered)):
                answer_opus_with_fec(transceiver)
                answer_red(transceiver, media, first=index == 0)
            await pc.setLocalDescription(await pc.createAnswer())
            dtls = microphone.receiver.transport
            if dtls is None:
                raise ValueError("the microphone section has no transport")
        except Exception as exc:  # whatever aiortc chokes on in a client's SDP is that client's bad input
            await self.close()
            raise DropinError(ErrorCode.BAD_SDP, f"the offer could not be applied: {exc}") from None
        self._dtls = dtls
        dtls.on("statechange", lambda: self._dtls_changed(dtls))
        link = self._link = MediaLink.of(dtls)
        link.tap(lambda packet: self._receive(packet, 0), self._on_rtcp)
        self._red = red_payload_type(microphone)
        self._ssrc = microphone.sender._ssrc
        self.outlets = [
            Outlet(ssrc=slot.sender._ssrc, payload_type=payload_type(slot), writer=link,
                   red_payload_type=red_payload_type(slot))
            for slot in slots
        ]
        self._slot_ssrcs = frozenset(outlet.ssrc for outlet in self.outlets)
        answer = SessionDescription.parse(pc.localDescription.sdp)
        cnames = (ssrc.cname for media in answer.media for ssrc in media.ssrc if ssrc.cname)
        self._cname = next(cnames, "dropin").encode()
        return pc.localDescription.sdp

    @property
    def relayed(self) -> bool:
        """Whether the connection goes through a TURN relay (for /metrics)."""
        return self._link is not None and self._link.relayed()

    def _dtls_changed(self, dtls: RTCDtlsTransport) -> None:
        if dtls.state == "connected" and self._link is not None:
            self._link.key(dtls)
            asyncio.get_running_loop().call_soon(self._let_go)  # once start() has returned
        self._set_connected(dtls.state == "connected")

    def _let_go(self) -> None:
        """Keep only the ICE transport of aiortc's peer connection, if DTLS needs nothing more."""
        if self._closed or self._dtls is None or self._link is None:
            return
        ice = release_after_handshake(self._dtls)
        if ice is None:  # aiortc keeps the connection (we are DTLS server, or a flight may be resent)
            return
        self._link.dtls_done = True
        ice.on("statechange", lambda: self._set_connected(ice.state not in ("failed", "closed")))
        self._ice, self._pc, self._dtls = ice, None, None

    @property
    def _connected(self) -> bool:
        return self._link is not None and self._link.connected

    def _set_connected(self, connected: bool) -> None:
        if self._link is not None:
            self._link.connected = connected
        if connected:  # sender reports count what this member could have received
            for outlet in self.outlets:
                if outlet.slot is not None:
                    outlet.base_packets, outlet.base_octets = outlet.slot.packets, outlet.slot.octets
        self._on_transport_change()

    def _receive(self, packet: RtpPacket, _arrival_ms: int) -> None:
        """A microphone packet: account for it in the reception statistics, then forward it (as RED
        if it has the microphone's RED payload type)."""
        stats = self._reception.get(packet.ssrc)
        if stats is None:
            stats = self._reception[packet.ssrc] = StreamStatistics(OPUS_CLOCK_RATE)
        stats.add(packet)
        self._last_packet = time.monotonic()
        self._on_packet(packet, packet.payload_type == self._red)

    def _on_rtcp(self, data: bytes) -> None:
        """RTCP from the member: their report blocks on our slots go to the downlink meter; a
        speaker's sender reports are kept for our receiver reports to echo."""
        try:
            packets = RtcpPacket.parse(data)
        except ValueError:
            return
        now = time.monotonic()
        for packet in packets:
            if isinstance(packet, RtcpSrPacket):
                lsr = (packet.sender_info.ntp_timestamp >> 16) & 0xFFFFFFFF
                self._sender_reports[packet.ssrc] = (lsr, time.time())
            if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
                for block in packet.reports:
                    if block.ssrc in self._slot_ssrcs:
                        self._downlink.report(block, now)

    def reading(self, now: float, may_speak: bool) -> Reading:
        """The member's connection quality as measured now (monotonic seconds); their uplink only
        if `may_speak`."""
        slots = (outlet.slot for outlet in self.outlets)
        self._downlink.sent(sum(slot.packets for slot in slots if slot and slot.speaker != self._member), now)
        return Reading(
            connected=self._connected,
            down=self._downlink.link(now),
            up=self._uplink.link(self._reception.values(), self._last_packet, may_speak, now),
            rtt_ms=self._downlink.rtt_ms,
        )

    def send_reports(self, now: float) -> None:
        """Send whichever RTCP reports are due at `now` (monotonic seconds)."""
        writer = self._link
        if writer is None:
            return
        if now >= self._next_rr:
            self._next_rr = now + RR_INTERVAL_S
            self._send_receiver_report(writer)
        if now >= self._next_sr:
            self._next_sr = now + SR_INTERVAL_S * random.uniform(0.5, 1.5)
            self._send_sender_reports(now, writer)

    def _send_receiver_report(self, writer: MediaLink) -> None:
        received = sum(stats.packets_received for stats in self._reception.values())
        if received == self._reported:
            return
        self._reported = received
        reports = []
        for ssrc, stats in self._reception.items():
            lsr, dlsr = 0, 0
            if (last := self._sender_reports.get(ssrc)) is not None:
                lsr, dlsr = last[0], int(max(0.0, time.time() - last[1]) * 65536)
            reports.append(
                RtcpReceiverInfo(
                    ssrc=ssrc,
                    fraction_lost=max(stats.fraction_lost, min(255, int(self.listeners_loss * 256))),
                    packets_lost=stats.packets_lost,
                    highest_sequence=(stats.cycles + (stats.max_seq or 0)) & 0xFFFFFFFF,
                    jitter=stats.jitter,
                    lsr=lsr,
                    dlsr=dlsr,
                )
            )
        report = RtcpRrPacket(ssrc=self._ssrc, reports=reports)
        writer.write_rtcp(bytes(report) + self._sdes(self._ssrc))

    def _send_sender_reports(self, now: float, writer: MediaLink) -> None:
        """One compound packet: a sender report for each slot that has carried audio to this member."""
        ntp = current_ntp_time()
        packets = b""
        for outlet in self.outlets:
            slot = outlet.slot
            rtp_time = slot.rtp_time(now) if slot is not None else None
            if slot is None or rtp_time is None or slot.packets == outlet.base_packets:
                continue
            info = RtcpSenderInfo(
                ntp_timestamp=ntp,
                rtp_timestamp=(rtp_time + outlet.ts_shift) % TS_MOD,
                packet_count=(slot.packets - outlet.base_packets) & 0xFFFFFFFF,
                octet_count=(slot.octets - outlet.base_octets) & 0xFFFFFFFF,
            )
            packets += bytes(RtcpSrPacket(ssrc=outlet.ssrc, sender_info=info))
        if packets and writer.write_rtcp(packets + self._sdes(*(outlet.ssrc for outlet in self.outlets))):
            self._downlink.sender_report((ntp >> 16) & 0xFFFFFFFF, now)

    def _sdes(self, *ssrcs: int) -> bytes:
        chunks = [RtcpSourceInfo(ssrc=ssrc, items=[(SDES_CNAME, self._cname)]) for ssrc in ssrcs]
        return bytes(RtcpSdesPacket(chunks=chunks))

    async def add_candidate(self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None) -> None:
        """Add a candidate trickled by the browser; an empty one marks the end of candidates."""
        if not candidate:
            return
        try:
            parsed = candidate_from_sdp(candidate.removeprefix("candidate:"))
        except Exception:
            raise DropinError(ErrorCode.BAD_CANDIDATE, "the ICE candidate could not be parsed") from None
        if sdp_mid is None and sdp_mline_index is None:
            raise DropinError(ErrorCode.BAD_CANDIDATE, "the ICE candidate names neither sdpMid nor sdpMLineIndex")
        parsed.sdpMid = sdp_mid
        parsed.sdpMLineIndex = sdp_mline_index
        try:
            if self._pc is not None:
                await self._pc.addIceCandidate(parsed)
            elif self._ice is not None:  # connected already: one ICE transport carries every section
                await self._ice.addRemoteCandidate(parsed)
        except Exception as exc:  # aiortc refuses, e.g., an address it cannot resolve
            raise DropinError(ErrorCode.BAD_CANDIDATE, f"the ICE candidate could not be added: {exc}") from None

    async def close(self) -> None:
        """Close the connection (once; aiortc's close waits for ever the second time after a failure)."""
        if self._closed:
            return
        self._closed = True
        if self._ice is not None:  # the rest of aiortc's peer connection is let go already
            await self._ice.stop()
            return
        if self._pc is None:
            return
        try:
            await self._pc.close()
        except Exception:
            # A connection left half set up by a bad offer has a transceiver with no transport, and
            # aiortc gives up there: stop the transports it never reached.
            log.info("closing a half-negotiated peer connection", exc_info=True)
            for transceiver in self._pc.getTransceivers():
                dtls = transceiver.receiver.transport
                if dtls is not None:
                    await dtls.stop()
                    await dtls.transport.stop()
