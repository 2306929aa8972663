"""The slot rewriter keeps each slot one continuous RTP stream across speakers and wrap-arounds."""

from __future__ import annotations

import random

from server.media.slot import MIN_TS_STEP, SEQ_MOD, TS_MOD, Slot, seq_newer


def make_slot(last_seq: int = 100, last_ts: int = 5000) -> Slot:
    slot = Slot(0, rng=random.Random(1))
    slot._last_seq, slot._last_ts = last_seq, last_ts  # a known starting point for the arithmetic
    return slot


def test_seq_newer_wraps() -> None:
    assert seq_newer(1, 0)
    assert seq_newer(0, 65535)
    assert not seq_newer(65535, 0)
    assert not seq_newer(7, 7)


def test_one_speaker_keeps_its_spacing() -> None:
    slot = make_slot()
    slot.assign("ada")
    out = [slot.rewrite(ssrc=11, seq=500 + i, timestamp=90_000 + 960 * i, arrival=i * 0.02) for i in range(5)]
    seqs = [s for s, _ in out]
    stamps = [t for _, t in out]
    assert seqs == [101, 102, 103, 104, 105]
    assert [b - a for a, b in zip(stamps, stamps[1:])] == [960] * 4


def test_switching_speaker_continues_sequence_and_advances_time() -> None:
    slot = make_slot()
    slot.assign("ada")
    for i in range(3):
        last_seq, last_ts = slot.rewrite(11, 500 + i, 90_000 + 960 * i, arrival=i * 0.02)
    slot.assign("bo")
    # Bo's first packet arrives 1.5 s after Ada's last one, with unrelated numbering.
    seq, ts = slot.rewrite(22, 40_000, 7, arrival=0.04 + 1.5)
    assert seq == (last_seq + 1) % SEQ_MOD
    assert ts == (last_ts + 72_000) % TS_MOD
    seq2, ts2 = slot.rewrite(22, 40_001, 7 + 960, arrival=1.56)
    assert (seq2, ts2) == ((seq + 1) % SEQ_MOD, (ts + 960) % TS_MOD)


def test_switch_with_jitter_lands_on_the_next_frame() -> None:
    slot = make_slot()
    slot.assign("ada")
    _, last_ts = slot.rewrite(11, 1, 1000, arrival=10.0)
    slot.assign("bo")
    _, ts = slot.rewrite(22, 9, 123, arrival=10.027)  # 27 ms: one frame plus jitter
    assert ts == last_ts + MIN_TS_STEP
    slot.assign("ada")
    _, later = slot.rewrite(11, 2, 1960, arrival=10.027 + 0.095)  # a real pause: 5 frames
    assert later == ts + 5 * MIN_TS_STEP


def test_immediate_switch_still_moves_time_forward_by_a_frame() -> None:
    slot = make_slot()
    slot.assign("ada")
    _, last_ts = slot.rewrite(11, 1, 1000, arrival=10.0)
    slot.assign("bo")
    _, ts = slot.rewrite(22, 9, 123, arrival=10.0)
    assert ts == last_ts + MIN_TS_STEP


def test_sequence_and_timestamp_wrap_around() -> None:
    slot = make_slot(last_seq=65534, last_ts=TS_MOD - 1500)
    slot.assign("ada")
    out = [slot.rewrite(11, 10 + i, 1000 + 960 * i, arrival=i * 0.02) for i in range(4)]
    assert [s for s, _ in out] == [65535, 0, 1, 2]
    stamps = [t for _, t in out]
    assert all(0 <= t < TS_MOD for t in stamps)
    assert [(b - a) % TS_MOD for a, b in zip(stamps, stamps[1:])] == [960] * 3
    assert stamps[1] < stamps[0]  # the timestamp wrapped


def test_source_numbering_that_wraps_is_followed() -> None:
    slot = make_slot()
    slot.assign("ada")
    first = slot.rewrite(11, 65535, TS_MOD - 960, arrival=0.0)
    second = slot.rewrite(11, 0, 0, arrival=0.02)
    assert second == ((first[0] + 1) % SEQ_MOD, (first[1] + 960) % TS_MOD)


def test_reordered_packet_keeps_its_place_and_does_not_rewind() -> None:
    slot = make_slot()
    slot.assign("ada")
    a = slot.rewrite(11, 10, 0, arrival=0.0)
    c = slot.rewrite(11, 12, 1920, arrival=0.04)
    b = slot.rewrite(11, 11, 960, arrival=0.05)  # late
    assert (a[0] + 1, a[0] + 2) == (b[0], c[0])
    slot.assign("bo")
    d = slot.rewrite(22, 5, 5, arrival=0.06)
    assert d[0] == c[0] + 1  # continues after the newest, not after the late one
