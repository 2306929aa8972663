"""The relay between nodes on real loopback sockets: sealed datagrams arrive once, in any order
within the window; forged, tampered, replayed and foreign ones are dropped and counted."""

from __future__ import annotations

import asyncio
import socket

from server.cluster.relay import HEADER, REPLAY_WINDOW, Address, Kind, Relay


class Tap:
    """What a relay hands on, and the raw datagrams its peer sent (to replay and tamper with)."""

    def __init__(self) -> None:
        self.got: list[tuple[Kind, bytes]] = []

    def __call__(self, kind: Kind, body: bytes, sender: Address) -> None:
        self.got.append((kind, body))


async def pair(secret_a: str = "s", secret_b: str = "s") -> tuple[Relay, Relay, Tap, Address]:
    tap = Tap()
    a, b = Relay(secret_a, 0xA, Tap()), Relay(secret_b, 0xB, tap)
    await a.open("127.0.0.1")
    b_address = await b.open("127.0.0.1")
    return a, b, tap, b_address


async def settle() -> None:
    await asyncio.sleep(0.05)


async def test_sealed_datagrams_arrive_and_forged_ones_do_not() -> None:
    a, b, tap, to_b = await pair()
    a.send(to_b, Kind.SLOT, b"slot packet")
    a.send(to_b, Kind.FOLLOW, b"room")
    await settle()
    assert tap.got == [(Kind.SLOT, b"slot packet"), (Kind.FOLLOW, b"room")]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rogue:
        rogue.sendto(b"\x01\x02" + bytes(40), to_b)  # looks like a header, opens to nothing
        rogue.sendto(b"x", to_b)  # too short for a header
    await settle()
    assert len(tap.got) == 2 and b.stats.rejected == 2 and b.stats.received == 2
    a.close()
    b.close()


async def test_another_secret_cannot_talk_into_the_room() -> None:
    a, b, tap, to_b = await pair("ours", "theirs")
    a.send(to_b, Kind.SPEAKER, b"let me speak")
    await settle()
    assert tap.got == [] and b.stats.rejected == 1
    a.close()
    b.close()


async def test_replayed_tampered_and_late_datagrams_are_dropped() -> None:
    a, b, tap, to_b = await pair()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as catcher, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as wire:
        catcher.bind(("127.0.0.1", 0))
        catcher.settimeout(1)
        sent = []
        for n in range(REPLAY_WINDOW + 3):  # what A seals, caught on its way
            a.send(catcher.getsockname(), Kind.SLOT, b"%d" % n)
            sent.append(catcher.recv(2048))
        newest, second, first = sent[-1], sent[-2], sent[0]
        for datagram in (second, newest, second):  # out of order is fine; twice is not
            wire.sendto(datagram, to_b)
        tampered = bytearray(newest)
        tampered[HEADER.size + 1] ^= 1
        wire.sendto(bytes(tampered), to_b)
        wire.sendto(first, to_b)  # further behind than the window: can't tell, so dropped
        await settle()
    assert [body for _, body in tap.got] == [b"%d" % (REPLAY_WINDOW + 1), b"%d" % (REPLAY_WINDOW + 2)]
    assert b.stats.rejected == 3
    a.close()
    b.close()
