"""What recording a room costs the node that records it (its origin), per slot packet.

In one process: a Forwarder with 3 slots and 3 speakers taking real Opus packets (libopus, 20 ms
frames of speech-like noise at 32 kb/s, encoded before timing), a clock that runs 20 ms a round,
no listeners. Baseline: the Forwarder's `take` alone. Then the same packets with a Recorder on the
Forwarder (Ogg Opus files through PyAV, each page flushed to disk as made, quiet slots kept up
every second as server/recordings.py does). CPU time of this thread, per slot packet, best of
`--repeats`; the ratio is with over without, and the added microseconds are what recording adds
to each packet the room's origin forwards (whatever the number of listeners). Also: the files'
size per slot-hour.

Prints a table and records it in docs/benchmarks.md.

    .venv/bin/python bench/recording.py [--seconds 60] [--repeats 3] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.servers import record_section  # noqa: E402
from server.media.forwarder import Forwarder  # noqa: E402
from server.media.recorder import FRAME, RATE, Recorder  # noqa: E402

MARK_START, MARK_END = "<!-- recording:start -->", "<!-- recording:end -->"
HEADING = "## Recording: the origin's cost per slot packet"
SPEAKERS = ("ada", "bo", "cy")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def opus_packets(count: int) -> list[bytes]:
    """`count` 20 ms Opus packets at 32 kb/s of noise shaped like speech (bursts and pauses)."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format, encoder.bit_rate = RATE, "mono", "s16", 32_000
    encoder.time_base = Fraction(1, RATE)
    rng = np.random.default_rng(1)
    packets: list[bytes] = []
    for n in range(count + 5):
        level = 6000 if (n // 40) % 3 else 300  # 0.8 s talking, 0.4 s pause
        samples = (rng.standard_normal(FRAME) * level).astype(np.int16)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate, frame.pts = RATE, n * FRAME
        packets += [bytes(packet) for packet in encoder.encode(frame)]
    return packets[:count]


def cpu_per_packet(packets: list[bytes], folder: Path | None) -> tuple[float, int]:
    """Microseconds of CPU per slot packet through `take` (with a Recorder writing to `folder`),
    and the bytes written per slot."""
    clock = Clock()
    forwarder = Forwarder(len(SPEAKERS), clock=clock)
    for speaker in SPEAKERS:
        forwarder.allow(speaker, True)
    recorder = Recorder(folder, len(SPEAKERS), clock) if folder is not None else None
    forwarder.record(recorder)
    started = time.thread_time_ns()
    for n, payload in enumerate(packets):
        for ssrc, speaker in enumerate(SPEAKERS):
            forwarder.take(speaker, 40, ssrc, n, n * FRAME, 0, payload)
        clock.now += FRAME / RATE
        if recorder is not None and n % 50 == 49:
            recorder.keep_up()
    cpu_ns = time.thread_time_ns() - started
    written = 0
    if recorder is not None and folder is not None:
        recorder.close()
        written = sum(path.stat().st_size for path in folder.glob("slot*.ogg")) // len(SPEAKERS)
    return cpu_ns / 1000 / (len(packets) * len(SPEAKERS)), written


def run(seconds: int, repeats: int) -> dict[str, float]:
    packets = opus_packets(seconds * RATE // FRAME)
    without, with_ = [], []
    written = 0
    for _ in range(repeats):
        without.append(cpu_per_packet(packets, None)[0])
        with tempfile.TemporaryDirectory() as folder:
            us, written = cpu_per_packet(packets, Path(folder))
            with_.append(us)
    return {"seconds": seconds, "without": min(without), "with": min(with_),
            "mb_per_hour": written * 3600 / seconds / 1e6}


def table(r: dict[str, float]) -> str:
    return "\n".join([
        "| audio per slot | `take` alone (baseline) | `take` with a Recorder | added per slot packet "
        "| with / without | file per slot-hour |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {r['seconds']:.0f} s × 3 slots | {r['without']:.1f} µs | {r['with']:.1f} µs | "
        f"{r['with'] - r['without']:.1f} µs | **{r['with'] / r['without']:.2f}** | {r['mb_per_hour']:.1f} MB |",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60, help="audio per slot")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    result = run(args.seconds, args.repeats)
    print(table(result))
    if not args.no_write:
        command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
        machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        record_section(MARK_START, MARK_END, (
            f"{MARK_START}\n{HEADING}\n\n{time.strftime('%Y-%m-%d')}: `{command}` on {machine}. One process: a "
            "Forwarder with 3 speakers and no listeners takes real Opus packets (32 kb/s, 20 ms), CPU time of "
            "the thread per slot packet, best of the repeats; then the same with a Recorder writing the three "
            "slots to Ogg Opus files (each page flushed as made, quiet slots kept up each second). The added "
            "time is per packet the origin forwards, whatever the number of listeners (a packet to 400 "
            "listeners costs about 1.8 ms of fan-out: see the fan-out table).\n\n" + table(result) + "\n" + MARK_END
        ))


if __name__ == "__main__":
    main()
