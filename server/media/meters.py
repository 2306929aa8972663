"""The measures behind a member's connection quality, from RTCP and from their packets.

`DownlinkMeter`: what the member's receiver reports say about the slots we send them (loss over
the last LOSS_WINDOW_S from the reports' cumulative counts, jitter, round-trip time from LSR/DLSR
against our sender reports), and whether they have stopped reporting while we send.
`UplinkMeter`: our reception of their microphone (loss over the same window, jitter, the time
since their last packet). Both grade their link with server/media/quality.py. `loss_heard`:
the listeners' loss a speaker's encoder is told of, so that it adds FEC for it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtcpReceiverInfo

from server.domain.events import Link
from server.media.quality import DOWN_SILENT_S, UP_SILENT_S, grade
from server.media.slot import OPUS_CLOCK_RATE

LOSS_WINDOW_S = 10.0
SENDER_REPORTS_KEPT = 8  # a receiver report may answer one of the last few sender reports
RTT_SMOOTHING = 0.8  # weight of the previous round-trip time, as aiortc's senders do
MS_PER_RTP_TICK = 1000 / OPUS_CLOCK_RATE


@dataclass(frozen=True, slots=True)
class _Count:
    """Cumulative packet counts at a moment: expected (by sequence number) and lost."""

    at: float
    expected: int
    lost: int


def _window_loss(windows: Iterable[deque[_Count]]) -> float | None:
    """Packets lost over expected, summed over each window's first and last counts; None if no
    window spans any packets."""
    expected = lost = 0
    for counts in windows:
        if len(counts) >= 2:
            expected += counts[-1].expected - counts[0].expected
            lost += counts[-1].lost - counts[0].lost
    return min(1.0, max(0, lost) / expected) if expected > 0 else None


def _add(counts: deque[_Count], count: _Count) -> None:
    """Append `count`, keeping one count from before the window as its start. Counts that go back
    (a restarted stream, a 16-bit wrap) start the window again."""
    if counts and count.expected < counts[-1].expected:
        counts.clear()
    counts.append(count)
    while len(counts) >= 2 and counts[1].at <= count.at - LOSS_WINDOW_S:
        counts.popleft()


class DownlinkMeter:
    """What one member's receiver reports say about the slots we send them."""

    def __init__(self) -> None:
        self._counts: dict[int, deque[_Count]] = {}  # by slot SSRC
        self._latest: dict[int, RtcpReceiverInfo] = {}
        self._reported_at: dict[int, float] = {}
        self._sender_reports: dict[int, float] = {}  # LSR (middle of the NTP time) -> when we sent it
        self._rtt_s: float | None = None
        self._heard: float | None = None  # their last report on our slots
        self._sent = 0
        self._waiting: float | None = None  # since when we have sent packets no report has covered

    @property
    def rtt_ms(self) -> float | None:
        return round(self._rtt_s * 1000, 1) if self._rtt_s is not None else None

    def sender_report(self, lsr: int, at: float) -> None:
        """We sent a sender report whose NTP time has `lsr` for its middle 32 bits."""
        self._sender_reports[lsr] = at
        while len(self._sender_reports) > SENDER_REPORTS_KEPT:
            del self._sender_reports[next(iter(self._sender_reports))]

    def report(self, block: RtcpReceiverInfo, at: float) -> None:
        """A report block from the member about one of our slots."""
        _add(self._counts.setdefault(block.ssrc, deque()), _Count(at, block.highest_sequence, block.packets_lost))
        self._latest[block.ssrc] = block
        self._reported_at[block.ssrc] = at
        sent = self._sender_reports.get(block.lsr) if block.lsr else None
        if sent is not None:
            rtt = max(0.0, at - sent - block.dlsr / 65536)
            self._rtt_s = rtt if self._rtt_s is None else RTT_SMOOTHING * self._rtt_s + (1 - RTT_SMOOTHING) * rtt
        self._heard, self._waiting = at, None

    def sent(self, packets: int, at: float) -> None:
        """How many slot packets we have sent the member so far (a running total)."""
        if packets != self._sent:
            self._sent = packets
            if self._waiting is None:
                self._waiting = at

    def link(self, now: float) -> Link:
        recent = [ssrc for ssrc, at in self._reported_at.items() if at > now - LOSS_WINDOW_S]
        loss = _window_loss(self._counts[ssrc] for ssrc in recent)
        if loss is None:  # a single report so far: its own fraction
            loss = max((self._latest[ssrc].fraction_lost / 256 for ssrc in recent), default=0.0)
        jitter_ms = max((self._latest[ssrc].jitter * MS_PER_RTP_TICK for ssrc in recent), default=0.0)
        silent = self._waiting is not None and now - self._waiting >= DOWN_SILENT_S
        return Link(
            level=grade(loss, jitter_ms, self.rtt_ms, silent),
            loss=round(loss, 3),
            jitter_ms=round(jitter_ms, 1),
            since_packet_s=round(now - self._heard, 1) if self._heard is not None else None,
        )


class UplinkMeter:
    """Our reception of one member's microphone, while they may speak."""

    def __init__(self) -> None:
        self._counts: deque[_Count] = deque()
        self._since: float | None = None  # when they last became allowed to speak

    def link(self, streams: Iterable[StreamStatistics], last_packet: float | None, may_speak: bool,
             now: float) -> Link | None:
        """The uplink now, from the microphone's reception statistics (one per SSRC) and when its
        last packet came; None while the member may not speak."""
        if not may_speak:
            self._since = None
            self._counts.clear()
            return None
        if self._since is None:
            self._since = now
        started = [stats for stats in streams if stats.max_seq is not None]
        expected = sum(stats.packets_expected for stats in started)
        _add(self._counts, _Count(now, expected, expected - sum(stats.packets_received for stats in started)))
        loss = _window_loss([self._counts]) or 0.0
        jitter_ms = max((stats.jitter * MS_PER_RTP_TICK for stats in started), default=0.0)
        silent = now - max(self._since, last_packet or self._since) >= UP_SILENT_S
        return Link(
            level=grade(loss, jitter_ms, silent=silent),
            loss=round(loss, 3),
            jitter_ms=round(jitter_ms, 1),
            since_packet_s=round(now - last_packet, 1) if last_packet is not None else None,
        )


HEARD_PERCENTILE = 0.9


def loss_heard(losses: list[float]) -> float:
    """The loss a room's speakers' encoders should hear of, from each member's downlink loss: the
    90th percentile (the worst, in a small room), so one listener on a terrible link does not make
    every speaker spend bitrate on FEC for all, while a room losing packets gets it."""
    if not losses:
        return 0.0
    ranked = sorted(losses)
    return ranked[min(len(ranked) - 1, math.ceil(HEARD_PERCENTILE * len(ranked)) - 1)]
