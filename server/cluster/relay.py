"""Media between nodes: one UDP socket per node, every datagram sealed and authenticated.

A datagram is a 14-byte header (version, kind, the sender's tag, the sender's counter) and its
body sealed with AES-256-GCM under a key derived from the cluster's shared `DROPIN_SECRET`; the
header is the associated data and the tag and counter the nonce. A datagram that fails to open,
comes from an unknown version, or repeats a counter the receiver has seen (or one too old to
tell) is dropped and counted: nobody on the network can inject into a room or replay its audio.

Kinds (bodies are length-prefixed strings, then fixed fields, then the payload: Opus, or RED
whose blocks are Opus when the flags say so; its block payload types are rewritten per listener):
- SPEAKER, edge to origin: a packet from a member allowed to speak (room, member, SSRC,
  sequence number, timestamp, flags (marker, RED), audio level).
- SLOT, origin to edge: a slot's packet, already rewritten (room, slot, sequence number,
  timestamp, flags (marker, RED)).
- SPEAKERS, origin to edge: who is speaking and who holds each slot (room, JSON).
- FOLLOW, edge to origin, every second while the edge has members in the room: "send me it".
- STOP, edge to origin: one of the edge's speakers may no longer speak (room, member).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

VERSION = 1
HEADER = struct.Struct("!BBIQ")  # version, kind, sender tag, counter
REPLAY_WINDOW = 1024  # how far behind the newest counter from a sender a datagram may still arrive
Address = tuple[str, int]


class Kind(IntEnum):
    SPEAKER = 1
    SLOT = 2
    SPEAKERS = 3
    FOLLOW = 4
    STOP = 5


@dataclass(slots=True)
class RelayStats:
    sent: int = 0
    received: int = 0
    rejected: int = 0  # failed to open, unknown version or kind, replayed, malformed


def relay_key(secret: str) -> bytes:
    """The cluster's relay key: every node with the same secret derives the same one."""
    return hashlib.sha256(b"dropin relay v1\0" + secret.encode()).digest()


def pack_str(text: str) -> bytes:
    raw = text.encode()
    return bytes((len(raw),)) + raw


def unpack_str(body: bytes, at: int) -> tuple[str, int]:
    length = body[at]
    return body[at + 1:at + 1 + length].decode(), at + 1 + length


Receiver = Callable[[Kind, bytes, Address], None]


class Relay(asyncio.DatagramProtocol):
    """The node's relay socket: seals what it sends, opens and checks what it receives, and hands
    each good datagram's kind and body to `receive`."""

    def __init__(self, secret: str, tag: int, receive: Receiver) -> None:
        self.tag = tag
        self.stats = RelayStats()
        self._aead = AESGCM(relay_key(secret))
        self._receive = receive
        self._counter = 0
        self._seen: dict[int, tuple[int, int]] = {}  # sender tag -> (newest counter, bitmap behind it)
        self._transport: asyncio.DatagramTransport | None = None

    async def open(self, host: str, port: int = 0) -> Address:
        """Bind the socket; returns the address other nodes reach it at."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        self._transport = transport
        bound: Address = transport.get_extra_info("sockname")[:2]
        return bound

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def send(self, to: Address, kind: Kind, body: bytes) -> None:
        if self._transport is None:
            return
        self._counter += 1
        header = HEADER.pack(VERSION, kind, self.tag, self._counter)
        nonce = header[2:]  # tag and counter: 12 bytes, never repeated under one key
        self._transport.sendto(header + self._aead.encrypt(nonce, body, header), to)
        self.stats.sent += 1

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            version, kind, tag, counter = HEADER.unpack_from(data)
            if version != VERSION or tag == self.tag:
                raise ValueError("not a datagram for this node")
            header = data[:HEADER.size]
            body = self._aead.decrypt(header[2:], data[HEADER.size:], header)
            if not self._fresh(tag, counter):
                raise ValueError("replayed")
            kind = Kind(kind)
        except (struct.error, ValueError, InvalidTag):
            self.stats.rejected += 1
            return
        self.stats.received += 1
        try:
            self._receive(kind, body, (str(addr[0]), int(addr[1])))
        except Exception:
            log.exception("relay: handling a %s datagram", kind.name)

    def _fresh(self, tag: int, counter: int) -> bool:
        """Whether `counter` is new from this sender (a sliding window, as SRTP's replay list)."""
        newest, seen = self._seen.get(tag, (0, 0))
        if counter > newest:
            shift = counter - newest
            seen = ((seen << shift) | 1) & ((1 << REPLAY_WINDOW) - 1) if shift < REPLAY_WINDOW else 1
            self._seen[tag] = (counter, seen)
            return True
        behind = newest - counter
        if behind >= REPLAY_WINDOW or seen >> behind & 1:
            return False
        self._seen[tag] = (newest, seen | 1 << behind)
        return True
