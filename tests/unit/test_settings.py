"""Settings: the session limits come from `Limits`, DROPIN_<NAME> reaches each session, TURN needs its secret."""

from __future__ import annotations

from dataclasses import fields

import pytest
from pydantic import ValidationError

from server.config import Settings
from server.media.turn import IceServer, IceServers, turn_credential
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


def test_turn_comes_with_its_secret_and_ice_servers_are_stun_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DROPIN_TURN_URLS", "turn:turn.example:3478?transport=udp, turns:turn.example:443?transport=tcp")
    with pytest.raises(ValidationError, match="needs both"):
        Settings()
    monkeypatch.setenv("DROPIN_TURN_SECRET", "s")
    assert Settings().turn_urls == ["turn:turn.example:3478?transport=udp", "turns:turn.example:443?transport=tcp"]
    with pytest.raises(ValidationError, match="--turn-url and --turn-secret"):
        Settings(ice_servers=[{"urls": ["turn:turn.example:3478"], "username": "u", "credential": "static"}])
    with pytest.raises(ValidationError, match="starts with turn"):
        Settings(turn_urls=["stun:turn.example:3478"])


def test_webhooks_come_with_a_signing_secret_in_standard_webhooks_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DROPIN_WEBHOOK_URLS", "https://hooks.example/in, http://10.0.0.5:9000/dropin")
    with pytest.raises(ValidationError, match="webhooks need --webhook-secret"):
        Settings()
    for secret in ("hunter2", "whsec_not base64!", "whsec_c2hvcnQ="):  # not whsec_, not base64, 5 bytes
        monkeypatch.setenv("DROPIN_WEBHOOK_SECRET", secret)
        with pytest.raises(ValidationError, match="whsec_ and base64"):
            Settings()
    monkeypatch.setenv("DROPIN_WEBHOOK_SECRET", "whsec_" + "QUJD" * 11)
    settings = Settings()
    assert settings.webhook_urls == ["https://hooks.example/in", "http://10.0.0.5:9000/dropin"]
    assert settings.webhook_secret in settings.secrets  # never logged
    with pytest.raises(ValidationError, match="starts with http"):
        Settings(webhook_urls=["ftp://hooks.example/in"])


def test_each_member_gets_turn_credentials_of_their_own_and_the_node_none() -> None:
    ice = IceServers(stun_urls=["stun:stun.example:3478"], turn_urls=["turn:t:3478"], turn_secret="s", turn_ttl_s=600)
    stun, turn = ice.for_member("ada", now=1_000)
    assert stun == IceServer(urls=["stun:stun.example:3478"])
    assert (turn.urls, turn.username) == (["turn:t:3478"], "1600:ada")
    assert turn.credential == turn_credential("s", "ada", 1600).credential
    assert turn.credential != ice.for_member("bo", now=1_000)[1].credential
    assert [server.urls for server in ice.for_node()] == [["stun:stun.example:3478"]], "no relay of its own"
    assert IceServers().for_member("ada") == []
