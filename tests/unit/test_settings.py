"""Settings: the session limits' defaults come from `Limits`, and DROPIN_<NAME> reaches each session."""

from __future__ import annotations

from dataclasses import fields

import pytest

from server.config import Settings
from signaling.session import Limits


def test_limits_default_to_the_sessions_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for field in fields(Limits):
        monkeypatch.delenv(f"DROPIN_{field.name.upper()}", raising=False)
    assert Settings().limits == Limits()
    assert Limits() == Limits(
        max_message_bytes=65536, max_sdp_bytes=32768, rate_per_s=20.0, rate_burst=60,
        action_rate_per_s=2.0, action_burst=10,
    )  # the defaults README.md documents


def test_limits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DROPIN_MAX_MESSAGE_BYTES": "1000", "DROPIN_MAX_SDP_BYTES": "500", "DROPIN_RATE_PER_S": "5",
        "DROPIN_RATE_BURST": "7", "DROPIN_ACTION_RATE_PER_S": "0.5", "DROPIN_ACTION_BURST": "3",
    }.items():
        monkeypatch.setenv(name, value)
    assert Settings().limits == Limits(
        max_message_bytes=1000, max_sdp_bytes=500, rate_per_s=5.0, rate_burst=7, action_rate_per_s=0.5, action_burst=3
    )
