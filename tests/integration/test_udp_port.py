"""`--udp-port`: every member's audio on one UDP port of the node, the one their answers name;
what strangers send there is dropped and counted."""

from __future__ import annotations

import asyncio
import socket

import httpx
from aiortc.sdp import SessionDescription
from coturn import machine_address

from support import host_and_listener, serving, wait_until


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("0.0.0.0", 0))
        return int(udp.getsockname()[1])


async def test_every_member_is_heard_through_the_one_port(redis_server, tmp_path) -> None:
    port = free_udp_port()
    with serving(redis_server.url, tmp_path, DROPIN_UDP_PORT=str(port)) as server:
        _, host, listener = await host_and_listener(server)
        try:
            await wait_until(lambda: _more_than(listener, 50), what="the listener hears the host")
            for member in (host, listener):
                answer = SessionDescription.parse(member.pc.remoteDescription.sdp)
                candidates = [c for media in answer.media for c in media.ice_candidates]
                assert candidates and {c.port for c in candidates} == {port}
            media = httpx.get(f"{server.base_url}/api/media").json()
            assert media["udp_port"] == port and media["unknown_datagrams"] == 0

            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
                for _ in range(3):
                    stranger.sendto(b"\x80" + bytes(100), (machine_address(), port))

            async def counted() -> bool:
                return httpx.get(f"{server.base_url}/api/media").json()["unknown_datagrams"] == 3

            await wait_until(counted, what="the stranger's datagrams dropped and counted")
            before = await listener.packets_received()
            await asyncio.sleep(0.5)
            assert await listener.packets_received() > before + 10, "the room plays on"
        finally:
            await asyncio.gather(host.close(), listener.close(), return_exceptions=True)


async def _more_than(listener, packets: int) -> bool:
    return await listener.packets_received() > packets
