"""Opus in RFC 2198 redundant audio (audio/red): parsed once per packet, rewritten per listener.

A RED payload is its block headers, then its blocks in the same order, the primary last. A
redundant block's header is 4 bytes (F=1, the block's payload type, a 14-bit timestamp offset, a
10-bit length); the primary's is 1 byte (F=0, its payload type) and its block runs to the end.
Timestamp offsets are relative to the packet's, so a slot's rewriting of timestamps keeps them
right. Pure functions of bytes, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

FOLLOWS = 0x80  # the F bit: another block header follows this one
PAYLOAD_TYPE = 0x7F


class MalformedRed(ValueError):
    """A RED payload whose headers are cut short or whose blocks run past its end."""


@dataclass(frozen=True, slots=True)
class Red:
    """One valid RED payload whose blocks all carry the same format (Opus)."""

    payload: bytes
    headers: tuple[int, ...]  # offset of each block header's first byte (F bit and payload type)
    primary_at: int  # where the primary block starts
    payload_type: int  # the blocks' payload type, as the speaker numbered Opus

    @classmethod
    def parse(cls, payload: bytes) -> Red:
        """Check `payload`'s block headers and lengths; raises MalformedRed."""
        size = len(payload)
        headers: list[int] = []
        at = blocks = 0
        while True:
            if at >= size:
                raise MalformedRed("the block headers are cut short")
            headers.append(at)
            if not payload[at] & FOLLOWS:
                at += 1
                break
            if at + 4 > size:
                raise MalformedRed("a redundant block header is cut short")
            blocks += (payload[at + 2] & 0x03) << 8 | payload[at + 3]
            at += 4
        primary_at = at + blocks
        if primary_at >= size:
            raise MalformedRed("the blocks run past the end: no primary")
        payload_type = payload[0] & PAYLOAD_TYPE
        if any(payload[header] & PAYLOAD_TYPE != payload_type for header in headers):
            raise MalformedRed("blocks of different formats")
        return cls(payload, tuple(headers), primary_at, payload_type)

    def primary(self) -> bytes:
        """The primary block alone: a plain Opus payload."""
        return self.payload[self.primary_at:]

    def for_payload_type(self, payload_type: int) -> bytes:
        """The RED payload with every block's payload type set to `payload_type` (the listener's Opus)."""
        if payload_type == self.payload_type:
            return self.payload
        rewritten = bytearray(self.payload)
        for header in self.headers:
            rewritten[header] = rewritten[header] & FOLLOWS | payload_type
        return bytes(rewritten)


def wrap(payload_type: int, primary: bytes, redundant: tuple[tuple[int, bytes], ...] = ()) -> bytes:
    """A RED payload of `primary` after `redundant` blocks (timestamp offset, Opus payload), oldest
    first: what a browser sends (the tests play one)."""
    headers = b"".join(
        bytes((FOLLOWS | payload_type, offset >> 6, (offset & 0x3F) << 2 | len(block) >> 8, len(block) & 0xFF))
        for offset, block in redundant
    )
    return headers + bytes((payload_type,)) + b"".join(block for _, block in redundant) + primary
