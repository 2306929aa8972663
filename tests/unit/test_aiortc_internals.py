"""The forwarding core's aiortc internals are where it expects, and a move is reported clearly."""

from __future__ import annotations

import aiortc
import pytest
from aiortc import RTCPeerConnection
from aiortc.codecs import CODECS
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.sdp import SessionDescription

from server.media import aiortc_adapter
from server.media.aiortc_adapter import AiortcInternalsMoved, check_internals
from server.media.peer import Peer
from support import offer_with_red


def test_installed_aiortc_has_the_internals_the_core_uses() -> None:
    check_internals()


def test_an_upgrade_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiortc, "__version__", "9.9.9")
    with pytest.raises(AiortcInternalsMoved, match="aiortc is 9.9.9, not 1.16.0"):
        check_internals()


def test_a_moved_receive_hook_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    async def renamed(self, packet, arrival_ms):  # what an upstream rename would look like
        pass

    monkeypatch.setattr(aiortc_adapter.RTCRtpReceiver, "_handle_rtp_packet", renamed)
    with pytest.raises(AiortcInternalsMoved, match="_handle_rtp_packet"):
        check_internals()


async def test_red_is_answered_first_on_the_microphone_and_after_opus_on_the_slots() -> None:
    browser = RTCPeerConnection()
    browser.addTransceiver("audio", direction="sendonly")
    browser.addTransceiver("audio", direction="recvonly")
    await browser.setLocalDescription(await browser.createOffer())
    peer = Peer("ada", [], 1, on_packet=lambda packet, red: None, on_transport_change=lambda: None)
    try:
        answer = SessionDescription.parse(await peer.answer(offer_with_red(browser.localDescription.sdp)))
        microphone, slot = ([(c.mimeType.lower(), c.payloadType, c.parameters) for c in m.rtp.codecs]
                            for m in answer.media)
        assert microphone[0] == ("audio/red", 63, {"96/96": None}) and microphone[1][:2] == ("audio/opus", 96)
        assert slot[0][:2] == ("audio/opus", 96) and slot[1] == ("audio/red", 63, {"96/96": None})
        assert microphone[1][2]["useinbandfec"] == 1
        assert (peer.outlets[0].payload_type, peer.outlets[0].red_payload_type) == (96, 63)
        assert all(c.mimeType.lower() != "audio/red" for c in CODECS["audio"]), "aiortc's own codecs are untouched"
    finally:
        await peer.close()
        await browser.close()


async def test_an_offer_without_red_is_answered_opus_only() -> None:
    browser = RTCPeerConnection()
    browser.addTransceiver("audio", direction="sendonly")
    browser.addTransceiver("audio", direction="recvonly")
    await browser.setLocalDescription(await browser.createOffer())
    peer = Peer("bo", [], 1, on_packet=lambda packet, red: None, on_transport_change=lambda: None)
    try:
        answer = SessionDescription.parse(await peer.answer(browser.localDescription.sdp))
        assert [[c.mimeType.lower() for c in m.rtp.codecs] for m in answer.media] == [["audio/opus"]] * 2
        assert peer.outlets[0].red_payload_type is None
    finally:
        await peer.close()
        await browser.close()


def test_aiortc_gaining_red_of_its_own_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    red = RTCRtpCodecParameters(mimeType="audio/red", clockRate=48000, channels=2, payloadType=63)
    monkeypatch.setitem(CODECS, "audio", [*CODECS["audio"], red])
    with pytest.raises(AiortcInternalsMoved, match="audio/red"):
        check_internals()
