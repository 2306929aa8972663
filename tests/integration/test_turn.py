"""TURN with a real coturn: members get short-lived credentials of their own in the welcome, a
listener that may only relay hears the host through coturn over UDP and over TCP, and coturn
refuses credentials that have expired or were made with another secret."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aioice import Candidate, Connection, TransportPolicy
from coturn import Coturn, running_coturn

from server.media.turn import turn_credential
from signaling import messages as m
from signaling.client import RequestFailed, SignalingClient
from support import RunningServer, host_and_listener, serving, wait_until


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Coturn]:
    with running_coturn(tmp_path / "coturn") as turn:
        yield turn


def turn_server(redis_url: str, tmp_path: Path, coturn: Coturn, *transports: str, secret: str | None = None):
    return serving(
        redis_url, tmp_path / "node",
        DROPIN_TURN_URLS=",".join(coturn.urls(*transports)), DROPIN_TURN_SECRET=secret or coturn.secret,
        DROPIN_TURN_TTL_S="600",
    )


async def relayed_listener_hears_host(server: RunningServer) -> m.Joined:
    """The welcome of a listener allowed only relayed paths, once it hears the host's tone."""
    _, host, listener = await host_and_listener(server, relay_only=True)
    try:

        async def hearing() -> bool:
            return max(await listener.packets_per_slot()) > 50

        await wait_until(hearing, timeout=10)
        assert listener.welcome is not None
        return listener.welcome
    finally:
        await asyncio.gather(host.close(), listener.close(), return_exceptions=True)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_a_relay_only_listener_hears_the_host_through_coturn(redis_server, tmp_path, coturn, transport) -> None:
    with turn_server(redis_server.url, tmp_path, coturn, transport) as server:
        joining = time.time()
        welcome = await relayed_listener_hears_host(server)
        heard = time.time()
    (turn,) = welcome.ice_servers
    assert turn.urls == coturn.urls(transport)
    expiry, user = turn.username.split(":")
    assert user == welcome.you.id, "the credentials name the member"
    assert joining + 600 - 1 <= int(expiry) <= heard + 600, "made at the join, lasting DROPIN_TURN_TTL_S"
    assert turn.credential != coturn.secret
    assert coturn.allocations_for(welcome.you.id) >= 1, "the listener's relay was allocated by coturn"


async def test_no_credentials_without_a_valid_identity(redis_server, tmp_path, coturn) -> None:
    with turn_server(redis_server.url, tmp_path, coturn, "udp") as server:
        room_id = server.create_room(server.identity("Host"))
        client = await SignalingClient.connect(server.ws_url)
        try:
            forged = server.identity("Mallory")[:-4] + "AAAA"
            with pytest.raises(RequestFailed) as refused:
                await client.request("join", room=room_id, token=forged)
            assert refused.value.code == "unauthorized"
        finally:
            await client.close()


async def relay_candidates(coturn: Coturn, username: str, password: str) -> list[Candidate]:
    """The relayed candidates aioice gathers from coturn with these credentials."""
    connection = Connection(
        ice_controlling=True, turn_server=(coturn.address, coturn.port), turn_username=username,
        turn_password=password, turn_transport="udp", transport_policy=TransportPolicy.RELAY,
    )
    try:
        await connection.gather_candidates()
        return [candidate for candidate in connection.local_candidates if candidate.type == "relay"]
    finally:
        await connection.close()


async def test_coturn_refuses_expired_and_forged_credentials(coturn) -> None:
    valid = turn_credential(coturn.secret, "ada", int(time.time()) + 60)
    assert await relay_candidates(coturn, valid.username, valid.credential), "valid credentials get a relay"

    expired = turn_credential(coturn.secret, "ada", int(time.time()) - 1)
    assert await relay_candidates(coturn, expired.username, expired.credential) == []

    forged = turn_credential("another secret", "ada", int(time.time()) + 60)
    assert await relay_candidates(coturn, forged.username, forged.credential) == []
