"""One UDP port for every peer: real aioice connections on this machine's address, the server's
side adopted by one UdpMux, the clients' on sockets of their own, as browsers are."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aioice import Connection, stun
from aioice import ice as aioice_ice
from coturn import machine_address

from server.media.udp_mux import UdpMux

ADDRESS = machine_address()


@pytest.fixture
async def mux() -> AsyncIterator[UdpMux]:
    shared = UdpMux()
    await shared.open(0, addresses=[ADDRESS])
    yield shared
    await shared.close()


async def connected_pair(mux: UdpMux) -> tuple[Connection, Connection]:
    """A server connection on the mux and a client of its own, through ICE."""
    server = Connection(ice_controlling=False)
    client = Connection(ice_controlling=True)
    mux.adopt(server)
    for connection in (server, client):
        await connection.gather_candidates()
    for near, far in ((server, client), (client, server)):
        near.remote_username, near.remote_password = far.local_username, far.local_password
        for candidate in far.local_candidates:
            await near.add_remote_candidate(candidate)
        await near.add_remote_candidate(None)
    await asyncio.wait_for(asyncio.gather(server.connect(), client.connect()), 10)
    return server, client


async def test_several_peers_share_one_port_and_each_gets_its_own_datagrams(mux: UdpMux) -> None:
    pairs = [await connected_pair(mux) for _ in range(4)]
    for server, _ in pairs:
        assert [(c.host, c.port, c.type) for c in server.local_candidates] == [(ADDRESS, mux.port, "host")]
    assert mux.peers == 4
    for index, (server, client) in enumerate(pairs):
        await client.send(f"from client {index}".encode())
        await server.send(f"to client {index}".encode())
    for index, (server, client) in enumerate(pairs):
        assert await asyncio.wait_for(server.recv(), 2) == f"from client {index}".encode()
        assert await asyncio.wait_for(client.recv(), 2) == f"to client {index}".encode()
    assert mux.unknown == 0
    for server, client in pairs:
        await asyncio.gather(server.close(), client.close())
    assert mux.peers == 0


async def test_consent_checks_go_both_ways_through_the_shared_port(
    mux: UdpMux, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aioice_ice, "CONSENT_INTERVAL", 0.1)
    server, client = await connected_pair(mux)
    answered = {"server": 0, "client": 0}
    for name, connection in (("server", server), ("client", client)):
        pair = connection._nominated[1]
        request = pair.protocol.request

        async def counted(*args, name=name, request=request, **kwargs):
            response = await request(*args, **kwargs)
            answered[name] += 1
            return response

        pair.protocol.request = counted
    await asyncio.sleep(1.0)  # about eight rounds each way
    assert answered["server"] >= 3 and answered["client"] >= 3, answered
    await client.send(b"still consented")
    assert await asyncio.wait_for(server.recv(), 2) == b"still consented"

    # The browser goes away: the server's consent checks go unanswered and it closes (RFC 7675).
    await client.close()
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(server.recv(), 5)
    await server.close()
    assert mux.peers == 0


async def test_a_peer_leaving_while_its_browser_sends_releases_its_address(mux: UdpMux) -> None:
    leaving, leaving_client = await connected_pair(mux)
    staying, staying_client = await connected_pair(mux)
    sender = leaving_client._nominated[1]
    await leaving.close()
    for _ in range(20):  # what the departed peer's browser still sends: nobody's now
        sender.protocol.transport.sendto(b"\x80" + bytes(40), sender.remote_addr)
        await staying_client.send(b"meanwhile")
    for _ in range(20):
        assert await asyncio.wait_for(staying.recv(), 2) == b"meanwhile"
    await asyncio.sleep(0.1)
    assert mux.unknown == 20
    await asyncio.gather(staying.close(), staying_client.close(), leaving_client.close())


async def test_unknown_senders_are_ignored_and_counted(mux: UdpMux) -> None:
    server, client = await connected_pair(mux)
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind((ADDRESS, 0))
    target = (ADDRESS, mux.port)
    forged = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    forged.attributes["USERNAME"] = f"{server.local_username}:{client.local_username}"
    forged.add_message_integrity(b"not the password")
    strangers_ufrag = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    strangers_ufrag.attributes["USERNAME"] = f"nobody:{client.local_username}"
    strangers_ufrag.add_message_integrity(server.local_password.encode())
    for datagram in (b"\x80" + bytes(40), b"\x16\xfe\xfd" + bytes(20), bytes(forged), bytes(strangers_ufrag), b""):
        stranger.sendto(datagram, target)
    await asyncio.sleep(0.2)
    assert mux.unknown == 5
    await client.send(b"unaffected")
    assert await asyncio.wait_for(server.recv(), 2) == b"unaffected"
    stranger.close()
    await asyncio.gather(server.close(), client.close())


async def test_a_port_taken_by_another_worker_moves_to_the_next(mux: UdpMux) -> None:
    second = UdpMux()
    assert await second.open(mux.port, tries=3, addresses=[ADDRESS]) == mux.port + 1
    third = UdpMux()
    with pytest.raises(OSError):
        await third.open(mux.port, tries=1, addresses=[ADDRESS])
    assert third.sockets == []
    await second.close()



async def test_an_announced_address_is_what_the_candidates_name() -> None:
    published = UdpMux(announced_ip="203.0.113.7")  # a container's published port, a 1:1 NAT
    await published.open(0, addresses=[ADDRESS])
    server = Connection(ice_controlling=False)
    published.adopt(server)
    await server.gather_candidates()
    assert [(c.host, c.port, c.type) for c in server.local_candidates] == [("203.0.113.7", published.port, "host")]
    await server.close()
    await published.close()
