"""The Recorder writes each slot to an Ogg Opus file that PyAV reads back, in wall-clock time:
a slot nobody holds, or whose speaker paused, is silence of the right length, so the slots of one
recording stay in step; RED reaches it as its primary block; the timeline says who held what."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from server.media.forwarder import Forwarder
from server.media.recorder import FRAME, RATE, Recorder, samples
from server.media.red import wrap


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def opus_packets(count: int) -> list[bytes]:
    """`count` 20 ms Opus packets of a 440 Hz tone, encoded by libopus through PyAV."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = RATE, "mono", "s16"
    encoder.time_base = Fraction(1, RATE)
    packets: list[bytes] = []
    for n in range(count + 5):
        t = np.arange(n * FRAME, (n + 1) * FRAME)
        frame = av.AudioFrame.from_ndarray((np.sin(2 * np.pi * 440 * t / RATE) * 8000).astype(np.int16)[None, :],
                                           format="s16", layout="mono")
        frame.sample_rate, frame.pts = RATE, n * FRAME
        packets += [bytes(packet) for packet in encoder.encode(frame)]
    return packets[:count]


def decoded(path: Path) -> tuple[str, np.ndarray]:
    """The file's codec and its audio, decoded (mono)."""
    with av.open(str(path)) as container:
        codec = container.streams.audio[0].codec_context.name
        audio = np.concatenate([frame.to_ndarray()[0] for frame in container.decode(audio=0)])
        return codec, audio


def loudness(audio: np.ndarray, start_s: float, end_s: float) -> float:
    return float(np.abs(audio[int(start_s * RATE):int(end_s * RATE)]).mean())


def test_opus_packet_lengths_come_from_their_toc_byte() -> None:
    assert samples(opus_packets(1)[0]) == FRAME
    assert samples(bytes([0b11111_000])) == FRAME  # CELT 20 ms, one frame
    assert samples(bytes([0b00011_001, 0, 0])) == 2 * 2880  # SILK 60 ms, two frames
    assert samples(bytes([0b10000_011, 0b000100])) == 4 * 120  # CELT 2.5 ms, four frames (code 3)
    assert samples(b"") == 0


def test_slots_are_written_in_step_with_silence_where_nobody_spoke(tmp_path: Path) -> None:
    clock = Clock()
    recorder = Recorder(tmp_path, 2, clock)
    tone = iter(opus_packets(200))
    clock.now += 1.0  # a second of nothing on either slot
    for _ in range(50):  # a second of slot 0
        recorder.packet(0, next(tone))
        clock.now += 0.02
    clock.now += 1.0  # its speaker pauses for a second
    for _ in range(50):  # then a second of slot 1
        recorder.packet(1, next(tone))
        clock.now += 0.02
    assert recorder.close() == 4.0

    codec, first = decoded(tmp_path / "slot0.ogg")
    assert codec == "opus"
    _, second = decoded(tmp_path / "slot1.ogg")
    for audio in (first, second):
        assert abs(len(audio) / RATE - 4.0) < 0.02, "each slot runs the whole recording"
    assert loudness(first, 0.1, 0.9) < 0.005 and loudness(first, 1.2, 1.9) > 0.05 and loudness(first, 2.2, 3.9) < 0.005
    assert loudness(second, 0.1, 2.9) < 0.005 and loudness(second, 3.2, 3.9) > 0.05


def test_a_late_packet_after_a_short_wobble_follows_on_without_a_gap(tmp_path: Path) -> None:
    clock = Clock()
    recorder = Recorder(tmp_path, 1, clock)
    for packet in opus_packets(100):
        recorder.packet(0, packet)
        clock.now += 0.02 if clock.now < 100.5 else 0.021  # a little jitter: no silence is inserted
    recorder.close()
    _, audio = decoded(tmp_path / "slot0.ogg")
    assert loudness(audio, 0.05, 1.95) > 0.05


def test_the_forwarder_hands_its_recorder_each_slot_packet_as_opus_and_who_holds_the_slots(tmp_path: Path) -> None:
    clock = Clock()
    forwarder = Forwarder(1, clock=clock)
    forwarder.allow("ada", True)
    recorder = Recorder(tmp_path, 1, clock)
    forwarder.record(recorder)
    for n, packet in enumerate(opus_packets(25)):  # RED from the 10th on: its primary block is what is kept
        forwarder.take("ada", 30, 1, n, n * FRAME, 0, wrap(111, packet) if n >= 10 else packet, red=n >= 10)
        clock.now += 0.02
    forwarder.tick()
    forwarder.record(None)
    forwarder.take("ada", 30, 1, 25, 25 * FRAME, 0, opus_packets(1)[0])  # after recording stopped
    recorder.close()
    assert [moment.holders for moment in recorder.moments] == [(None,), ("ada",)]
    _, audio = decoded(tmp_path / "slot0.ogg")
    assert abs(len(audio) / RATE - 0.5) < 0.03
    assert loudness(audio, 0.25, 0.45) > 0.05


def test_quiet_slots_keep_up_so_the_files_are_whole_before_they_are_finished(tmp_path: Path) -> None:
    clock = Clock()
    recorder = Recorder(tmp_path, 2, clock)
    for packet in opus_packets(200):  # four seconds on slot 0, none on slot 1
        recorder.packet(0, packet)
        clock.now += 0.02
        recorder.keep_up()
    for index in range(2):  # read while still being written, as after the node writing it died
        _, audio = decoded(tmp_path / f"slot{index}.ogg")
        assert len(audio) / RATE > 1.5, f"slot {index}: all but its last page (a second or so) is in the file"
    recorder.close()
