"""The Forwarder: one room's selective forwarding core.

Opus packets from the room's speakers are forwarded on arrival to everyone else in the room,
through the slot each speaker holds. Nothing is decoded, mixed or buffered. Packets from members
who may not speak are dropped here, whatever their browser sends.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Protocol

from aiortc.rtp import RtpPacket

from server.media.slot import Slot

RTP_HEADER = struct.Struct("!BBHII")  # V=2 P=0 X=0 CC=0, M+PT, sequence, timestamp, SSRC
RTP_VERSION_BYTE = 0x80

MemberId = Hashable
SlotListener = Callable[[list[MemberId | None]], None]


class RtpWriter(Protocol):
    """Where an outlet's packets go (see aiortc_adapter.DirectRtpWriter)."""

    def write(self, packet: bytes) -> bool: ...


@dataclass(slots=True)
class Outlet:
    """One member's end of one slot: the SSRC and payload type negotiated with them."""

    ssrc: int
    payload_type: int
    writer: RtpWriter


@dataclass(slots=True)
class ForwarderStats:
    received: int = 0
    forwarded: int = 0
    delivered: int = 0
    dropped_not_speaker: int = 0
    dropped_no_slot: int = 0


class Forwarder:
    """Maps speakers onto slots and writes their packets to every other member's outlets."""

    def __init__(
        self,
        slot_count: int,
        on_slots_changed: SlotListener | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.slots = [Slot(i) for i in range(slot_count)]
        self.stats = ForwarderStats()
        self._on_slots_changed = on_slots_changed
        self._clock = clock
        self._speakers: set[MemberId] = set()
        self._slot_of: dict[MemberId, Slot] = {}
        self._outlets: dict[MemberId, list[Outlet]] = {}

    @property
    def idle(self) -> bool:
        """Nobody receives from and nobody may send into this room's media."""
        return not self._outlets and not self._speakers

    def assignment(self) -> list[MemberId | None]:
        """Who holds each slot, by slot index."""
        return [slot.speaker for slot in self.slots]

    def allow(self, member: MemberId, allowed: bool) -> None:
        """Start or stop forwarding `member`'s audio; takes effect from the next packet."""
        if allowed:
            self._speakers.add(member)
        else:
            self._speakers.discard(member)
            self._release(member)

    def attach(self, member: MemberId, outlets: list[Outlet]) -> None:
        """Deliver the room's slots to `member` through `outlets` (one per slot they receive)."""
        self._outlets[member] = outlets

    def detach(self, member: MemberId) -> None:
        """Forget `member` entirely: no more packets to or from them."""
        self._outlets.pop(member, None)
        self.allow(member, False)

    def on_packet(self, member: MemberId, packet: RtpPacket) -> None:
        """Forward one packet from `member` to everyone else in the room."""
        stats = self.stats
        stats.received += 1
        if member not in self._speakers:
            stats.dropped_not_speaker += 1
            return
        slot = self._slot_of.get(member) or self._claim(member)
        if slot is None:
            stats.dropped_no_slot += 1
            return
        seq, ts = slot.rewrite(packet.ssrc, packet.sequence_number, packet.timestamp, self._clock())
        marker_bit = packet.marker << 7
        payload = packet.payload
        index = slot.index
        delivered = 0
        for listener, outlets in self._outlets.items():
            if listener == member or index >= len(outlets):
                continue
            outlet = outlets[index]
            header = RTP_HEADER.pack(RTP_VERSION_BYTE, marker_bit | outlet.payload_type, seq, ts, outlet.ssrc)
            if outlet.writer.write(header + payload):
                delivered += 1
        stats.forwarded += 1
        stats.delivered += delivered

    def _claim(self, member: MemberId) -> Slot | None:
        for slot in self.slots:
            if slot.speaker is None:
                slot.assign(member)
                self._slot_of[member] = slot
                self._notify()
                return slot
        return None

    def _release(self, member: MemberId) -> None:
        slot = self._slot_of.pop(member, None)
        if slot is not None:
            slot.assign(None)
            self._notify()

    def _notify(self) -> None:
        if self._on_slots_changed is not None:
            self._on_slots_changed(self.assignment())
