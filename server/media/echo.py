"""An echo test: a member's own microphone sent back to them alone, on one of their slots, for a
few seconds.

While it runs, the member's outlet for that slot carries a slot of its own (the Forwarder leaves
the outlet out of the room slot's fan-out, which serves only outlets attached to it), numbered
on from what the member last received there. When it ends, the outlet goes back to the room's
slot shifted by the difference, so the member's stream never goes back in sequence or time:
the browser's receiver plays on as across a change of speaker.
"""

from __future__ import annotations

from aiortc.rtp import RtpPacket

from server.media.outlet import Outlet
from server.media.red import Red
from server.media.slot import SEQ_MOD, TS_MOD, Slot


class Echo:
    """One member's echo test on one of their outlets, until `until` (monotonic seconds)."""

    def __init__(self, outlet: Outlet, index: int, until: float, now: float) -> None:
        room = outlet.slot
        if room is None:
            raise ValueError("the outlet is not attached to a slot")
        self.index = index
        self.until = until
        self._outlet = outlet
        self._room = room
        self._own = Slot(index)
        seq, ts = room.position(now)  # its clock runs from now, with what the member last got
        self._own.passed((seq + outlet.seq_shift) % SEQ_MOD, (ts + outlet.ts_shift) % TS_MOD, now)
        self._swap(self._own, now)

    def forward(self, packet: RtpPacket, red: Red | None, now: float) -> None:
        """Send one of the member's microphone packets (RED if `red` is its payload) back to them:
        as RED if they negotiated it on their slots, else its primary block."""
        own, outlet = self._own, self._outlet
        seq, ts = own.rewrite(packet.ssrc, packet.sequence_number, packet.timestamp, now)
        own.packets += 1
        own.octets += len(packet.payload)
        if red is None:
            outlet.write(seq, ts, packet.marker, packet.payload)
        elif outlet.red_payload_type is None:
            outlet.write(seq, ts, packet.marker, red.primary())
        else:
            outlet.write(seq, ts, packet.marker, red.for_payload_type(outlet.payload_type), red=True)

    def end(self, now: float) -> None:
        """Hand the outlet back to the room's slot, numbered on from the echo."""
        self._swap(self._room, now)

    def _swap(self, to: Slot, now: float) -> None:
        """Attach the outlet to `to`, numbered on from what it carried, with its sender report
        counts going on too."""
        outlet = self._outlet
        carried = outlet.slot
        assert carried is not None
        seq, ts = carried.position(now)
        seq, ts = (seq + outlet.seq_shift) % SEQ_MOD, (ts + outlet.ts_shift) % TS_MOD  # as the member saw them
        sent, octets = carried.packets - outlet.base_packets, carried.octets - outlet.base_octets
        to_seq, to_ts = to.position(now)
        outlet.slot = to
        outlet.seq_shift, outlet.ts_shift = (seq - to_seq) % SEQ_MOD, (ts - to_ts) % TS_MOD
        outlet.base_packets, outlet.base_octets = to.packets - sent, to.octets - octets
