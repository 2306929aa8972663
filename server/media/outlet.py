"""An Outlet: one member's end of one slot, and the RtpWriter its packets go out through.

The Forwarder attaches outlets (forwarder), a slot's fan-out writes to them (fastpath), and each
Peer makes one per slot it receives (peer). This module depends on none of those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from server.media.slot import Slot

RTP_VERSION_BYTE = 0x80
MARKER = 0x80


class RtpWriter(Protocol):
    """Where an outlet's packets go (see aiortc_adapter.DirectRtpWriter)."""

    def write(self, packet: bytes) -> bool: ...

    def socket_target(self) -> tuple[int, int, object, tuple[str, int]] | None: ...


@dataclass(slots=True)
class Outlet:
    """One member's end of one slot: the SSRC and payload type negotiated with them."""

    ssrc: int
    payload_type: int
    writer: RtpWriter
    heads: tuple[bytes, bytes] = field(init=False)  # the first two header bytes, without and with marker
    ssrc_bytes: bytes = field(init=False)
    slot: Slot | None = None  # set when attached: the slot this outlet carries
    base_packets: int = 0  # the slot's counters when attached, for RTCP sender reports
    base_octets: int = 0

    def __post_init__(self) -> None:
        self.heads = (
            bytes((RTP_VERSION_BYTE, self.payload_type)),
            bytes((RTP_VERSION_BYTE, MARKER | self.payload_type)),
        )
        self.ssrc_bytes = self.ssrc.to_bytes(4, "big")
