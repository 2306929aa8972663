"""Connection quality: the levels' thresholds, when a change is announced, and the meters that
read loss, jitter, round-trip time and silence from receiver reports and microphone packets."""

from __future__ import annotations

import pytest
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtcpReceiverInfo, RtpPacket

from server.domain.events import Link
from server.media.meters import DownlinkMeter, UplinkMeter, loss_heard
from server.media.quality import QualityTracker, Reading, Settled, grade, worst


@pytest.mark.parametrize(
    ("loss", "jitter_ms", "rtt_ms", "level"),
    [
        (0.0, 0.0, None, "excellent"),
        (0.009, 0.0, 299.0, "excellent"),
        (0.0, 29.9, None, "excellent"),
        (0.004, 14.0, None, "excellent"),
        (0.01, 0.0, None, "good"),
        (0.0, 30.0, None, "good"),
        (0.005, 15.0, None, "good"),  # each halfway to good: together, good
        (0.0, 0.0, 300.0, "good"),
        (0.049, 0.0, None, "good"),
        (0.05, 0.0, None, "poor"),
        (12 / 240, 0.0, None, "poor"),  # 5 % as a report's counts make it
        (0.0, 60.0, 10.0, "poor"),
        (0.03, 30.0, None, "poor"),  # 3 % loss with 30 ms jitter: as poor as 5 % alone
        (0.01, 30.0, None, "good"),
        (0.0, 0.0, 600.0, "poor"),
    ],
)
def test_levels_follow_the_thresholds(loss: float, jitter_ms: float, rtt_ms: float | None, level: str) -> None:
    assert grade(loss, jitter_ms, rtt_ms) == level
    assert grade(loss, jitter_ms, rtt_ms, silent=True) == "lost"


def test_the_worst_level_wins() -> None:
    assert worst("excellent", "poor", "good") == "poor"
    assert worst("good", "lost") == "lost"


def test_a_worse_level_holds_2_s_and_a_better_one_5_s_before_it_is_taken() -> None:
    settled = Settled()
    assert settled.update("excellent", 0.0) == "excellent"  # the first is taken at once
    assert settled.update("poor", 1.0) == "excellent"
    assert settled.update("lost", 2.5) == "excellent"  # still worse: the 2 s run from 1.0
    assert settled.update("poor", 3.0) == "poor"
    assert settled.update("good", 4.0) == "poor"
    assert settled.update("excellent", 8.9) == "poor"
    assert settled.update("excellent", 9.0) == "excellent"


def test_a_flapping_link_is_not_announced() -> None:
    settled = Settled()
    settled.update("good", 0.0)
    for second in range(1, 30):
        assert settled.update("poor" if second % 2 else "good", float(second)) == "good"


def link(level: str = "excellent", loss: float = 0.0) -> Link:
    return Link(level=level, loss=loss, jitter_ms=1.0, since_packet_s=0.5)  # type: ignore[arg-type]


def test_the_tracker_announces_changes_of_level_only() -> None:
    tracker = QualityTracker(started=0.0)
    assert tracker.update(Reading(False, link(), None, None), 1.0) is None, "not before the connection is up"
    first = tracker.update(Reading(True, link(), None, 12.0), 2.0)
    assert first is not None and first.level == "excellent" and first.up is None and first.rtt_ms == 12.0
    assert tracker.update(Reading(True, link(loss=0.002), None, 13.0), 3.0) is None, "same level: nothing"

    on_stage = tracker.update(Reading(True, link(), link("good"), None), 4.0)
    assert on_stage is not None and on_stage.up is not None, "a link that appears is announced at once"
    assert (on_stage.level, on_stage.up.level) == ("good", "good")

    assert tracker.update(Reading(True, link("poor", 0.07), link("good"), None), 5.0) is None
    poor = tracker.update(Reading(True, link("poor", 0.08), link("good"), None), 7.0)
    assert poor is not None and (poor.level, poor.down.level, poor.down.loss) == ("poor", "poor", 0.08)

    dropped = tracker.update(Reading(False, link(), link(), None), 7.5)
    assert dropped is None, "a connection that goes down is lost after 2 s"
    lost = tracker.update(Reading(False, link(), link(), None), 9.5)
    assert lost is not None and lost.level == "lost" and lost.up is not None and lost.up.level == "lost"
    assert tracker.gone() is None, "already announced lost"


def test_a_connection_that_never_comes_up_is_lost_after_10_s() -> None:
    tracker = QualityTracker(started=0.0)
    assert tracker.update(Reading(False, link(), None, None), 9.0) is None
    lost = tracker.update(Reading(False, link(), None, None), 10.0)
    assert lost is not None and lost.level == "lost"


def test_a_member_who_goes_is_lost_at_once() -> None:
    tracker = QualityTracker(started=0.0)
    assert tracker.gone() is None, "nothing was announced: nothing to take back"
    tracker.update(Reading(True, link(), link(), None), 1.0)
    gone = tracker.gone()
    assert gone is not None and gone.level == "lost" and gone.down is not None and gone.down.level == "lost"


def block(ssrc: int, highest: int, lost: int, fraction: int = 0, jitter: int = 0, lsr: int = 0,
          dlsr: int = 0) -> RtcpReceiverInfo:
    return RtcpReceiverInfo(ssrc=ssrc, fraction_lost=fraction, packets_lost=lost, highest_sequence=highest,
                            jitter=jitter, lsr=lsr, dlsr=dlsr)


def test_downlink_loss_comes_from_the_reports_counts_over_the_window() -> None:
    meter = DownlinkMeter()
    meter.report(block(1, 1000, 0, fraction=64), 0.0)
    assert meter.link(0.5).loss == 0.25, "one report: its own fraction"
    meter.report(block(1, 1100, 5), 2.0)
    meter.report(block(2, 500, 0), 2.0)
    meter.report(block(2, 600, 5), 4.0)
    assert meter.link(4.0).loss == 0.05, "10 lost of 200 over both slots"
    assert meter.link(4.0).level == "poor"
    meter.report(block(1, 1400, 5), 15.0)
    meter.report(block(2, 900, 5), 15.0)
    healthy = meter.link(15.0)
    assert healthy.loss == 0.0 and healthy.level == "excellent", "loss older than the window is forgotten"


def test_downlink_jitter_and_round_trip_time() -> None:
    meter = DownlinkMeter()
    meter.sender_report(lsr=0x12345678, at=10.0)
    meter.report(block(1, 100, 0, jitter=48 * 70, lsr=0x12345678, dlsr=65536 // 2), 10.8)
    measured = meter.link(11.0)
    assert measured.jitter_ms == 70.0 and meter.rtt_ms == 300.0
    assert measured.level == "poor" and measured.since_packet_s == 0.2


def test_a_downlink_is_lost_when_reports_stop_while_we_send() -> None:
    meter = DownlinkMeter()
    meter.sent(0, 0.0)
    assert meter.link(30.0).level == "excellent", "nothing sent: nothing to report on"
    meter.sent(50, 31.0)
    assert meter.link(40.9).level == "excellent"
    assert meter.link(41.0).level == "lost"
    meter.report(block(1, 100, 0), 41.5)
    meter.sent(100, 42.0)
    assert meter.link(42.0).level == "excellent"


def packets(stats: StreamStatistics, seqs: range, skip: int = 0) -> None:
    for seq in seqs:
        if not skip or seq % skip:
            stats.add(RtpPacket(sequence_number=seq, timestamp=seq * 960, ssrc=7))


def test_the_uplink_is_measured_only_while_the_member_may_speak() -> None:
    meter, stats = UplinkMeter(), StreamStatistics(48_000)
    assert meter.link([stats], None, may_speak=False, now=0.0) is None
    assert meter.link([stats], None, may_speak=True, now=1.0).level == "excellent"
    assert meter.link([stats], None, may_speak=True, now=3.9).level == "excellent"
    silent = meter.link([stats], None, may_speak=True, now=4.0)
    assert silent.level == "lost" and silent.since_packet_s is None, "no microphone packet for 3 s"

    packets(stats, range(1, 101))
    assert meter.link([stats], 4.5, may_speak=True, now=5.0).level == "excellent"
    packets(stats, range(101, 201), skip=5)  # 19 of the 199 since it began to send lost (and #200)
    lossy = meter.link([stats], 6.5, may_speak=True, now=7.0)
    assert lossy.loss == round(19 / 199, 3) and lossy.level == "poor" and lossy.since_packet_s == 0.5
    assert meter.link([stats], 6.5, may_speak=True, now=9.5).level == "lost"
    assert meter.link([stats], 6.5, may_speak=False, now=10.0) is None
    assert meter.link([stats], 6.5, may_speak=True, now=10.5).level != "lost", "3 s from being let speak again"


def test_speakers_hear_of_the_loss_most_listeners_see_not_the_single_worst() -> None:
    assert loss_heard([]) == 0.0
    assert loss_heard([0.0, 0.2]) == 0.2, "in a small room, the worst"
    assert loss_heard([0.0] * 17 + [0.05, 0.1, 0.5]) == 0.05, "in a larger one, the 90th percentile"
