"""An Outlet: one member's end of one slot, and the RtpWriter its packets go out through.

The Forwarder attaches outlets (forwarder), a slot's fan-out writes to them (fastpath), and each
Peer makes one per slot it receives (peer). This module depends on none of those.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Protocol

from server.media.slot import SEQ_MOD, TS_MOD, Slot

RTP_VERSION_BYTE = 0x80
MARKER = 0x80
SEQ_TS = struct.Struct("!HI")


class RtpWriter(Protocol):
    """Where an outlet's packets go (see link.MediaLink)."""

    def write(self, packet: bytes) -> bool: ...

    def ready(self) -> bool:
        """Whether a packet written now can reach the member (their connection is up)."""
        ...

    def socket_target(self) -> tuple[int, int, object, tuple[str, int]] | None: ...


@dataclass(slots=True)
class Outlet:
    """One member's end of one slot: the SSRC and payload types (Opus, and RED if they negotiated
    it) negotiated with them."""

    ssrc: int
    payload_type: int
    writer: RtpWriter
    red_payload_type: int | None = None
    # The first two header bytes: Opus without and with marker, then RED without and with marker.
    heads: tuple[bytes, bytes, bytes, bytes] = field(init=False)
    ssrc_bytes: bytes = field(init=False)
    slot: Slot | None = None  # set when attached: the slot this outlet carries
    base_packets: int = 0  # the slot's counters when attached, for RTCP sender reports
    base_octets: int = 0
    # What this member's stream is ahead of its slot's numbering: non-zero once an echo test has
    # run on it (server/media/echo.py), so that their stream goes on without going back.
    seq_shift: int = 0
    ts_shift: int = 0

    def __post_init__(self) -> None:
        red = self.payload_type if self.red_payload_type is None else self.red_payload_type
        self.heads = (
            bytes((RTP_VERSION_BYTE, self.payload_type)),
            bytes((RTP_VERSION_BYTE, MARKER | self.payload_type)),
            bytes((RTP_VERSION_BYTE, red)),
            bytes((RTP_VERSION_BYTE, MARKER | red)),
        )
        self.ssrc_bytes = self.ssrc.to_bytes(4, "big")

    @property
    def shifted(self) -> bool:
        return bool(self.seq_shift or self.ts_shift)

    def write(self, seq: int, ts: int, marker: int, payload: bytes, red: bool = False) -> bool:
        """Send one packet of the slot (numbered as the slot numbers it) through the writer: an
        Opus payload, or a RED one (`red`, rewritten for this member) under their RED payload type."""
        numbers = SEQ_TS.pack((seq + self.seq_shift) % SEQ_MOD, (ts + self.ts_shift) % TS_MOD)
        return self.writer.write(b"".join((self.heads[2 * red + marker], numbers, self.ssrc_bytes, payload)))
