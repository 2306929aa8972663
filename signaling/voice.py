"""A synthesised voice, encoded once into real Opus packets with their RFC 6464 audio levels.

Used by the benchmarks' speaker bots (which send pre-encoded packets rather than encoding in real
time) and by tests that need real Opus payloads. The voice is a glottal pulse train through three
formant resonators, in syllables and words with pauses between them, so it has the talk spurts
and silences that drive voice activity detection.
"""

from __future__ import annotations

import math
import random
from array import array
from dataclasses import dataclass

import av

RATE = 48_000
FRAME = 960  # 20 ms
VOWELS = [(730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (570, 840, 2410), (300, 870, 2240)]


@dataclass(frozen=True, slots=True)
class VoicePacket:
    payload: bytes  # one 20 ms Opus frame
    level: int  # RFC 6464: -dBov, 0 loudest, 127 silence


def _resonate(signal: array[float], frequency: float, bandwidth: float = 90.0) -> array[float]:
    """A two-pole formant resonator."""
    r = math.exp(-math.pi * bandwidth / RATE)
    a1, a2 = 2 * r * math.cos(2 * math.pi * frequency / RATE), -r * r
    gain = 1 - r
    out = array("d", bytes(8 * len(signal)))
    y1 = y2 = 0.0
    for i, x in enumerate(signal):
        y = gain * x + a1 * y1 + a2 * y2
        out[i] = y
        y2, y1 = y1, y
    return out


def synthesise(seconds: float, seed: int = 1, pitch: float = 140.0) -> array[int]:
    """Mono 16-bit PCM at 48 kHz: words of 1–4 syllables separated by 0.1–0.6 s pauses."""
    rng = random.Random(seed)
    samples = array("d")
    total = int(seconds * RATE)
    while len(samples) < total:
        for _ in range(rng.randint(1, 4)):
            length = int(rng.uniform(0.12, 0.28) * RATE)
            formants = rng.choice(VOWELS)
            f0 = pitch * rng.uniform(0.85, 1.2)
            pulses, phase = array("d", bytes(8 * length)), 0.0
            for i in range(length):
                phase += (f0 * (1 + 0.03 * math.sin(2 * math.pi * 5 * i / RATE))) / RATE
                if phase >= 1.0:
                    phase -= 1.0
                    pulses[i] = 1.0
            voiced = array("d", bytes(8 * length))
            for frequency in formants:
                for i, y in enumerate(_resonate(pulses, frequency)):
                    voiced[i] += y
            for i in range(length):  # raised-cosine syllable envelope
                voiced[i] *= math.sin(math.pi * i / length) ** 2
            samples.extend(voiced)
        samples.extend(array("d", bytes(8 * int(rng.uniform(0.1, 0.6) * RATE))))
    del samples[total:]
    peak = max(abs(x) for x in samples) or 1.0
    return array("h", (int(x / peak * 0.5 * 32767) for x in samples))


def audio_level(pcm: array[int]) -> int:
    """RFC 6464 level of one frame: -dBov of its RMS, 0..127."""
    energy = sum(x * x for x in pcm) / (len(pcm) * 32767 * 32767)
    if energy <= 0:
        return 127
    return min(127, max(0, round(-10 * math.log10(energy))))


def encode(pcm: array[int], bitrate: int = 32_000) -> list[VoicePacket]:
    """Opus (voip, in-band FEC on), one packet per 20 ms frame."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = RATE
    codec.layout = "mono"
    codec.format = "s16"
    codec.bit_rate = bitrate
    codec.options = {"application": "voip", "fec": "1", "packet_loss": "5", "frame_duration": "20"}
    packets: list[VoicePacket] = []
    for start in range(0, len(pcm) - FRAME + 1, FRAME):
        chunk = pcm[start : start + FRAME]
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
        frame.planes[0].update(chunk.tobytes())
        frame.sample_rate = RATE
        frame.pts = start
        for packet in codec.encode(frame):
            packets.append(VoicePacket(bytes(packet), audio_level(chunk)))
    return packets


def voice_packets(seconds: float, seed: int = 1) -> list[VoicePacket]:
    """A voice of `seconds`, ready to send: payloads in order, 20 ms apart."""
    return encode(synthesise(seconds, seed=seed, pitch=110 + 20 * (seed % 5)))
