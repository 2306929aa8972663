"""A Peer: one member's peer connection with the server.

The browser offers one send-capable audio transceiver (its microphone; silent until it is on
stage) followed by up to K receive-only slots. The server answers Opus only, taps the microphone's
packets before aiortc's jitter buffer, and writes each slot's packets directly (see Forwarder).
"""

from __future__ import annotations

from collections.abc import Callable

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.rtp import RtpPacket
from aiortc.sdp import SessionDescription, candidate_from_sdp

from server.media.aiortc_adapter import DirectRtpWriter, ParkedTrack, payload_type, tap_receiver
from server.media.forwarder import Outlet
from signaling.errors import DropinError, ErrorCode

OPUS = [c for c in RTCRtpSender.getCapabilities("audio").codecs if c.mimeType.lower() == "audio/opus"]


def _count_audio_sections(sdp: str, slot_count: int) -> int:
    """The offer's audio sections; refuses offers other than one microphone and at most `slot_count` slots."""
    try:
        description = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc's parser raises assorted errors on garbage
        raise DropinError(ErrorCode.BAD_SDP, f"the offer is not valid SDP ({exc.__class__.__name__})")
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
    return len(kinds)


class Peer:
    """The server's side of one member's peer connection."""

    def __init__(
        self,
        ice_servers: list[RTCIceServer],
        slot_count: int,
        on_packet: Callable[[RtpPacket], None],
    ) -> None:
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers))
        self._slot_count = slot_count
        self._on_packet = on_packet
        self.outlets: list[Outlet] = []

    async def answer(self, offer_sdp: str) -> str:
        """Apply the member's offer and return the server's answer (all candidates included)."""
        offered = _count_audio_sections(offer_sdp, self._slot_count)
        pc = self._pc
        microphone = pc.addTransceiver("audio", direction="recvonly")
        slots = [pc.addTransceiver(ParkedTrack(), direction="sendonly") for _ in range(offered - 1)]
        for transceiver in [microphone, *slots]:
            transceiver.setCodecPreferences(OPUS)
        tap_receiver(microphone.receiver, lambda packet, _arrival_ms: self._on_packet(packet))
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            raise DropinError(ErrorCode.BAD_SDP, f"the offer could not be applied: {exc}") from None
        self.outlets = [
            Outlet(
                ssrc=slot.sender._ssrc,
                payload_type=payload_type(slot),
                writer=DirectRtpWriter(slot.sender.transport),
            )
            for slot in slots
        ]
        return pc.localDescription.sdp

    async def add_candidate(self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None) -> None:
        """Add a candidate trickled by the browser; an empty one marks the end of candidates."""
        if not candidate:
            return
        try:
            parsed = candidate_from_sdp(candidate.removeprefix("candidate:"))
        except Exception:
            raise DropinError(ErrorCode.BAD_CANDIDATE, "the ICE candidate could not be parsed") from None
        parsed.sdpMid = sdp_mid
        parsed.sdpMLineIndex = sdp_mline_index
        await self._pc.addIceCandidate(parsed)

    async def close(self) -> None:
        await self._pc.close()
