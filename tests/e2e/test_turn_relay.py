"""End to end through a real coturn: a Chromium listener forced to relay (the page's test switch
`dropin.iceTransportPolicy`) hears the host over TURN/UDP and over TURN/TCP; with credentials
coturn refuses it does not connect, and says so.

The host's page is not forced and reaches the server directly. coturn runs on this machine's own
address (tests/coturn.py); the server hands each member TURN credentials in its welcome
(DROPIN_TURN_URLS, DROPIN_TURN_SECRET). Credentials made with another secret than coturn's are
refused exactly as expired ones are (tests/integration/test_turn.py checks both against coturn).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from coturn import Coturn
from impair import audio_stats, live_host_and_relayed_listener, serving_with_turn, until_hearing
from playwright.async_api import expect

from support import RunningServer

UNREACHABLE = "Can't reach the audio server from this network"


@pytest.fixture
def transport() -> str:
    return "udp"


@pytest.fixture
def turn_secret(coturn: Coturn) -> str:
    return coturn.secret


@pytest.fixture
def server(redis_server, tmp_path: Path, coturn: Coturn, transport: str, turn_secret: str) -> Iterator[RunningServer]:
    """The `server` of tests/e2e/conftest.py's pages, handing out credentials for coturn over `transport`."""
    with serving_with_turn(redis_server.url, tmp_path, coturn.urls(transport), turn_secret) as running:
        yield running


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_a_relay_only_listener_hears_the_host_through_coturn(open_page, coturn, transport) -> None:
    host, listener = await live_host_and_relayed_listener(open_page)

    stats = await until_hearing(listener, 150, within_s=15, level=True)  # Opus sends 50 packets a second
    assert stats["packets"] > 150, f"the relayed listener hears too little: {stats}"
    assert stats["level"] > 0, f"and what he hears is silent: {stats}"
    local, remote = stats["local"], stats["remote"]
    assert local is not None and local["type"] == "relay", f"his selected path is not relayed: {stats}"
    assert local["relayProtocol"] == transport, f"he reaches coturn over {local['relayProtocol']}, not {transport}"
    assert local["address"] == coturn.address, "the relay is coturn's"
    assert remote["type"] == "host", "coturn relays to the server's own address"

    # Ada's page was not forced: her path is direct.
    host_path = (await audio_stats(host))["local"]
    assert host_path is not None and host_path["type"] != "relay", f"the host's path is relayed: {host_path}"


@pytest.mark.parametrize("turn_secret", ["not-coturns-secret"])
async def test_refused_credentials_never_connect(open_page, coturn) -> None:
    host, listener = await live_host_and_relayed_listener(open_page)

    # The page says within 20 s that the audio can't get through (15 s after the answer).
    await expect(listener.get_by_role("alert").filter(has_text=UNREACHABLE)).to_be_visible(timeout=20_000)
    stats = await audio_stats(listener)
    assert stats["packets"] == 0, f"audio got through with refused credentials: {stats}"
    assert stats["state"] != "connected" and stats["local"] is None, f"the listener connected: {stats}"
    log = coturn.log.read_text(errors="replace")
    assert "check_stun_auth: Cannot find credentials" in log, "coturn was asked, and refused the credentials"
    assert "ALLOCATE processed, success" not in log, "coturn relayed for someone"
    # He is still in the room: Ada counts him.
    await expect(host.get_by_text("1 listening")).to_be_visible(timeout=5_000)
