"""The forwarding core's aiortc internals are where it expects, and a move is reported clearly."""

from __future__ import annotations

import aiortc
import pytest

from server.media import aiortc_adapter
from server.media.aiortc_adapter import AiortcInternalsMoved, check_internals


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
