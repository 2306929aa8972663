"""Recording a room without decoding it: each slot is already one continuous Opus stream, so each
is written as it is forwarded to an Ogg Opus file of its own (PyAV's muxer, libavformat's).

Every slot file starts when the recording does and runs in wall-clock time: a stretch in which a
slot carries no packets (nobody holds it, or its speaker paused) is filled with Opus's silent
frame, so the slots of one recording play back in step from their first second. Beside the
audio, a timeline says who held which slot and who was speaking, from when.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from fractions import Fraction
from pathlib import Path

import av
from av.container import OutputContainer
from av.stream import Stream

from server.domain.recording import Moment

RATE = 48_000
TIME_BASE = Fraction(1, RATE)
FRAME = 960  # a 20 ms frame at 48 kHz: the silence filled into a slot's gaps comes in these
SILENT_FRAME = b"\xf8\xff\xfe"  # a 20 ms CELT frame that decodes to silence (the usual Opus DTX filler)
LATE_FRAMES = 3  # a packet arriving this many frames after where its slot's audio has got to starts after a gap
KEEP_UP_S = 0.5  # `keep_up` fills quiet slots with silence up to this long ago
_FRAME_MS = (10, 20, 40, 60, 10, 20, 40, 60, 10, 20, 40, 60, 10, 20, 10, 20,
             2.5, 5, 10, 20, 2.5, 5, 10, 20, 2.5, 5, 10, 20, 2.5, 5, 10, 20)  # by the TOC byte's config

MemberId = Hashable


def samples(payload: bytes) -> int:
    """How many 48 kHz samples an Opus packet holds (RFC 6716 §3.1: its TOC byte and frame count)."""
    if not payload:
        return 0
    toc = payload[0]
    code = toc & 3
    frames = 1 if code == 0 else 2 if code in (1, 2) else (payload[1] & 0x3F if len(payload) > 1 else 0)
    return int(frames * _FRAME_MS[toc >> 3] * RATE / 1000)


class SlotFile:
    """One slot's Ogg Opus file, its packets placed in wall-clock time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Each Ogg page (a second of audio) reaches the file as it is made: a node that dies loses little.
        self._container: OutputContainer = av.open(
            str(path), "w", format="ogg", container_options={"flush_packets": "1"}
        )
        stream = self._container.add_stream("libopus", rate=RATE)
        stream.codec_context.layout = "stereo"
        stream.codec_context.open()  # libopus writes the OpusHead the muxer needs; nothing is encoded
        stream.time_base = TIME_BASE
        self._stream: Stream = stream
        self.end = 0  # samples written so far

    def write(self, payload: bytes, at: int) -> None:
        """Write one packet that arrived `at` samples into the recording: straight after the
        last one, unless it came so much later that the speaker had paused; then after silence."""
        if at - self.end > LATE_FRAMES * FRAME:
            self.silence_until(at)
        self._mux(payload, samples(payload) or FRAME)

    def silence_until(self, at: int) -> None:
        """Fill with silent frames up to `at` samples into the recording."""
        while self.end + FRAME <= at:
            self._mux(SILENT_FRAME, FRAME)

    def close(self) -> None:
        self._container.close()

    def _mux(self, payload: bytes, duration: int) -> None:
        packet = av.Packet(payload)
        packet.stream = self._stream
        packet.pts = packet.dts = self.end
        packet.duration = duration
        packet.time_base = TIME_BASE
        self._container.mux(packet)
        self.end += duration


class Recorder:
    """A room's slots going to Ogg Opus files in `folder`, `slot<i>.ogg`, with their timeline."""

    def __init__(self, folder: Path, slot_count: int, clock: Callable[[], float] = time.monotonic) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._clock = clock
        self._started = clock()
        self._files = [SlotFile(folder / f"slot{index}.ogg") for index in range(slot_count)]
        self.moments: list[Moment] = []  # the timeline so far
        self._said: tuple[tuple[str | None, ...], tuple[str, ...]] | None = None

    @property
    def seconds(self) -> float:
        return self._clock() - self._started

    def packet(self, index: int, payload: bytes) -> None:
        """Slot `index`'s next packet (plain Opus), as forwarded now."""
        self._files[index].write(payload, round(self.seconds * RATE))

    def keep_up(self) -> None:
        """Fill the quiet slots with silence up to a moment ago, so that every file grows with the
        recording (and is whole up to there should this node die)."""
        until = round((self.seconds - KEEP_UP_S) * RATE)
        for file in self._files:
            file.silence_until(until)

    def announce(self, speaking: set[MemberId], holders: list[MemberId | None]) -> None:
        """Who is speaking and who holds each slot, from now on."""
        said = (tuple(None if h is None else str(h) for h in holders), tuple(sorted(map(str, speaking))))
        if said != self._said:
            self._said = said
            self.moments.append(Moment(round(self.seconds, 3), *said))

    def close(self) -> float:
        """Finish every slot's file at the same length; returns the recording's length in seconds."""
        end = max(round(self.seconds * RATE), *(file.end for file in self._files))
        for file in self._files:
            file.silence_until(end)
            file.close()
        return max(file.end for file in self._files) / RATE
