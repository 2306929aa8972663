"""A Slot: one continuous outbound RTP stream fed by whichever speaker holds it.

Listeners see each slot as a single stream: when the slot changes speaker, sequence numbers carry
on without a gap and the timestamp advances by the real time elapsed (in whole 20 ms frames), so
the browser's jitter buffer never resets. Pure arithmetic, no I/O.
"""

from __future__ import annotations

import random
from collections.abc import Hashable

SEQ_MOD = 1 << 16
TS_MOD = 1 << 32
OPUS_CLOCK_RATE = 48_000
MIN_TS_STEP = 960  # one 20 ms Opus frame at 48 kHz


def seq_newer(a: int, b: int) -> bool:
    """Whether sequence number `a` comes after `b`, modulo 2^16 (RFC 3550 A.1)."""
    return a != b and ((a - b) % SEQ_MOD) < SEQ_MOD // 2


class Slot:
    """Rewrites sequence numbers and timestamps of the packets of the slot's current speaker."""

    def __init__(self, index: int, clock_rate: int = OPUS_CLOCK_RATE, rng: random.Random | None = None) -> None:
        rng = rng or random.Random()
        self.index = index
        self.speaker: Hashable | None = None
        self._clock_rate = clock_rate
        self._source_ssrc: int | None = None
        self._seq_offset = 0
        self._ts_offset = 0
        self._last_seq = rng.randrange(SEQ_MOD)
        self._last_ts = rng.randrange(TS_MOD)
        self._last_arrival: float | None = None
        self.packets = 0  # forwarded on this slot, for RTCP sender reports
        self.octets = 0

    def assign(self, speaker: Hashable | None) -> None:
        """Give the slot to `speaker` (None frees it); the next packet re-anchors the stream."""
        self.speaker = speaker
        self._source_ssrc = None

    def rewrite(self, ssrc: int, seq: int, timestamp: int, arrival: float) -> tuple[int, int]:
        """The slot's (sequence number, timestamp) for a packet of the current speaker.

        `arrival` is in seconds on a monotonic clock.
        """
        if ssrc != self._source_ssrc:
            self._anchor(ssrc, seq, timestamp, arrival)
        out_seq = (seq + self._seq_offset) % SEQ_MOD
        out_ts = (timestamp + self._ts_offset) % TS_MOD
        if seq_newer(out_seq, self._last_seq):
            self._last_seq, self._last_ts, self._last_arrival = out_seq, out_ts, arrival
        return out_seq, out_ts

    def passed(self, seq: int, timestamp: int, arrival: float) -> None:
        """A packet rewritten at the room's origin (another node) went out on this slot: keep up,
        so RTCP reports are right and, should this node become the origin, the stream goes on."""
        if self._last_arrival is None or seq_newer(seq, self._last_seq):
            self._last_seq, self._last_ts, self._last_arrival = seq, timestamp, arrival
        self._source_ssrc = None

    def rtp_time(self, now: float) -> int | None:
        """The slot's RTP timestamp for wall-clock `now` (monotonic seconds); None before any packet."""
        if self._last_arrival is None:
            return None
        return (self._last_ts + round((now - self._last_arrival) * self._clock_rate)) % TS_MOD

    def position(self, now: float) -> tuple[int, int]:
        """The slot's last sequence number, and its RTP time at `now` (its last timestamp before
        any packet): where a stream that takes over from it, or hands back to it, joins."""
        rtp_time = self.rtp_time(now)
        return self._last_seq, self._last_ts if rtp_time is None else rtp_time

    def _anchor(self, ssrc: int, seq: int, timestamp: int, arrival: float) -> None:
        """Map a new source so its first packet directly follows the slot's last one."""
        elapsed = 0.0 if self._last_arrival is None else arrival - self._last_arrival
        # Whole frames: a switch while the slot was fed continuously lands on the next frame, so
        # arrival jitter does not open a gap the listener's browser would have to conceal.
        step = max(MIN_TS_STEP, round(elapsed * self._clock_rate / MIN_TS_STEP) * MIN_TS_STEP)
        first_seq = (self._last_seq + 1) % SEQ_MOD
        first_ts = (self._last_ts + step) % TS_MOD
        self._seq_offset = (first_seq - seq) % SEQ_MOD
        self._ts_offset = (first_ts - timestamp) % TS_MOD
        self._source_ssrc = ssrc
        # The anchor packet is the newest by definition.
        self._last_seq = (first_seq - 1) % SEQ_MOD
