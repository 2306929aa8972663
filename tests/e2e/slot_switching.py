"""The slot-switch scenario that test_slot_switch.py (a Chromium listener) and test_firefox.py
(a Firefox listener) run, and its measurements.

A room with one receive slot (Ada picks "Voices heard at once: 1" in the hallway): Ada (host) and
Ben (brought on stage) each have a microphone the test controls, a WebAudio tone (Ada 440 Hz, Ben
1000 Hz) behind a gain that the test turns up (talking) or down to 0 (silent); Cy listens. Ada
talks, then Ben, then Ada, then Ben: three switches of Cy's only slot.

What Cy's page receives on the slot is watched from inside the page: a receive transform on the
slot (RTCRtpScriptTransform, the only place a page sees RTP headers) notes every packet's SSRC,
sequence number and timestamp, so a new SSRC, a sequence number that jumps, or a timestamp that
jumps or restarts at a switch shows, even where the browser's jitter buffer would take it in its
stride. What Cy hears is the loudest frequency in the slot: in Chromium read with a WebAudio
AnalyserNode on the received track; headless Firefox has no audio device (a realtime
AudioContext never runs there), so there the same transform decodes each Opus frame itself with
WebCodecs and measures the last 100 ms of sound at the two speakers' tones (Goertzel). getStats()
`inbound-rtp` for the slot tells what was lost and concealed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from playwright.async_api import Page, expect
from test_stage_in_browser import join_from_hallway, start_room

HOST = "Host Ada"
GUEST = "Ben"
LISTENER = "Cy"
TONES_HZ = {HOST: 440.0, GUEST: 1000.0}
TALKING_GAIN = 0.5

SWITCHES = 3
SWITCH_WITHIN_S = 2.5  # from one speaker's silence and the other's first word to hearing them
HOLD_S = 2.5  # how long each speaker talks on after the slot has switched to them
POLL_S = 0.1

# Thresholds, chosen from real runs on a loaded 2-core machine (observed in brackets):
MAX_PACKETS_LOST = 2  # over the whole test [0]
MAX_CONCEALMENT_EVENTS_PER_SWITCH = 3  # from just before a switch to HOLD_S after it [0-2]
MAX_CONCEALED_MS_PER_SWITCH = 100  # [0-56 ms]
MAX_CONCEALED_SHARE = 0.02  # of the samples played over the whole test [0.0005-0.0097]
FRAME = 960  # the timestamp step of one 20 ms Opus frame at 48 kHz
MAX_SWITCH_GAP_MS = 80  # the time between the two speakers' packets that a switch adds [0-41 ms]

# A microphone the test controls: getUserMedia for audio gets an oscillator behind a gain,
# silent until the test turns it up. `window.__toneHz` is set by a script added before this one.
CONTROLLABLE_MIC = """
(() => {
  const media = navigator.mediaDevices;
  if (!media?.getUserMedia) return;
  const real = media.getUserMedia.bind(media);
  media.getUserMedia = async (constraints) => {
    if (!constraints?.audio || constraints.video) return real(constraints);
    const context = new AudioContext();
    const osc = context.createOscillator();
    osc.frequency.value = window.__toneHz ?? 440;
    const gain = context.createGain();
    gain.gain.value = 0;
    const out = context.createMediaStreamDestination();
    osc.connect(gain).connect(out);
    osc.start();
    await context.resume();
    window.__mic = { context, osc, gain };
    return out.stream;
  };
})();
"""

SET_GAIN = "(value) => { window.__mic.gain.gain.value = value; }"

# Runs in a worker on the slot's receiver (an RTCRtpScriptTransform): notes each RTP packet's SSRC,
# sequence number and timestamp as it passes, and keeps every step that is not "next packet, next
# 20 ms frame" (sequence number + 1, timestamp + 960 at 48 kHz): a switch, a loss, a jump. Given
# `tones` (Hz), it also decodes each frame (WebCodecs) and keeps in `heard` the loudest of those
# tones in the last five frames (100 ms) and its level.
RTP_WATCH = """
onrtctransform = ({ transformer }) => {
  const { port, tones } = transformer.options;
  const seen = { packets: 0, ssrcs: [], steps: [], decoded: 0, errors: [], heard: { hz: 0, db: -200 } };
  let last = null;
  const decoder = tones ? listen(tones, seen) : null;
  transformer.readable.pipeThrough(new TransformStream({
    transform(frame, controller) {
      const { synchronizationSource: ssrc, sequenceNumber: seq, rtpTimestamp } = frame.getMetadata();
      const ts = rtpTimestamp ?? frame.timestamp;
      seen.packets += 1;
      if (!seen.ssrcs.includes(ssrc)) seen.ssrcs.push(ssrc);
      if (last) {
        const seqStep = (seq - last.seq + 0x10000) % 0x10000;
        const tsStep = (ts - last.ts + 0x100000000) % 0x100000000;
        if (seqStep !== 1 || tsStep !== 960 || ssrc !== last.ssrc) {
          seen.steps.push({ packet: seen.packets, seqStep, tsStep, ssrc });
        }
      }
      last = { ssrc, seq, ts };
      if (decoder?.state === 'configured') {
        decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: (seen.packets * 20000), data: frame.data }));
      }
      controller.enqueue(frame);
    },
  })).pipeTo(transformer.writable);
  port.onmessage = () => port.postMessage(seen);
};

function listen(tones, seen) {
  const recent = [];  // the last five decoded 20 ms frames, mono
  const decoder = new AudioDecoder({
    output(audio) {
      const samples = new Float32Array(audio.numberOfFrames);
      audio.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
      audio.close();
      seen.decoded += 1;
      recent.push(samples);
      if (recent.length > 5) recent.shift();
      const all = new Float32Array(recent.reduce((n, one) => n + one.length, 0));
      recent.reduce((at, one) => (all.set(one, at), at + one.length), 0);
      let best = { hz: 0, db: -200 };
      for (const hz of tones) {
        const k = 2 * Math.cos((2 * Math.PI * hz) / 48000);
        let s1 = 0, s2 = 0;
        for (const x of all) [s1, s2] = [x + k * s1 - s2, s1];
        const amplitude = (2 * Math.sqrt(Math.max(0, s1 * s1 + s2 * s2 - k * s1 * s2))) / all.length;
        const db = 20 * Math.log10(Math.max(amplitude, 1e-10));
        if (db > best.db) best = { hz, db };
      }
      seen.heard = best;
    },
    error(error) { seen.errors.push(String(error)); },
  });
  decoder.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 2 });
  return decoder;
}
"""

# On the listener's page: every receive-only transceiver gets the RTP watch as soon as the app
# creates it (Chrome runs a receiver's transform only if it is set before negotiation).
WATCH_SLOTS = """
(() => {
  const addTransceiver = RTCPeerConnection.prototype.addTransceiver;
  RTCPeerConnection.prototype.addTransceiver = function (...args) {
    const transceiver = addTransceiver.apply(this, args);
    if (args[1]?.direction !== 'recvonly') return transceiver;
    const source = new Blob([RTP_WATCH], { type: 'text/javascript' });
    const channel = new MessageChannel();
    const worker = new Worker(URL.createObjectURL(source));
    transceiver.receiver.transform = new RTCRtpScriptTransform(
      worker, { port: channel.port2, tones: TONES }, [channel.port2]);
    transceiver.rtpSeen = () => new Promise((resolve) => {
      channel.port1.onmessage = ({ data }) => resolve(data);
      channel.port1.postMessage(null);
    });
    return transceiver;
  };
})();
"""

# The listener's ear on its only receive slot: the slot's RTP watch and the peer connection whose
# getStats() tells about the slot's stream; with `byAnalyser`, an AnalyserNode on the slot's track.
ATTACH_EAR = """
async (byAnalyser) => {
  const pc = window.__pcs.filter((one) => one.signalingState !== 'closed').at(-1);
  const slot = pc?.getTransceivers().find((t) => t.currentDirection === 'recvonly' && t.receiver.track);
  if (!slot) return null;
  const ear = { pc, mid: slot.mid, rtp: slot.rtpSeen };
  if (byAnalyser) {
    const context = new AudioContext();
    await context.resume();
    const analyser = context.createAnalyser();
    analyser.fftSize = 4096;
    analyser.smoothingTimeConstant = 0;
    context.createMediaStreamSource(new MediaStream([slot.receiver.track])).connect(analyser);
    Object.assign(ear, { context, analyser, bins: new Float32Array(analyser.frequencyBinCount) });
  }
  window.__ear = ear;
  return slot.mid;
}
"""

# One look at the slot: the loudest frequency heard now (the analyser's loudest bin; or, without
# an analyser, the loudest of the tones the RTP watch decoded, and what the watch saw) and the
# slot's inbound-rtp stats.
LISTEN = """
async () => {
  const ear = window.__ear;
  let heard;
  let seen = null;
  if (ear.analyser) {
    ear.analyser.getFloatFrequencyData(ear.bins);
    let loudest = 1;
    for (let bin = 2; bin < ear.bins.length; bin++) if (ear.bins[bin] > ear.bins[loudest]) loudest = bin;
    heard = { hz: (loudest * ear.context.sampleRate) / ear.analyser.fftSize, db: ear.bins[loudest] };
  } else {
    seen = await ear.rtp();
    heard = seen.heard;
  }
  const streams = [];
  (await ear.pc.getStats()).forEach((stat) => {
    if (stat.type !== 'inbound-rtp' || stat.kind !== 'audio' || String(stat.mid) !== String(ear.mid)) return;
    streams.push({
      ssrc: stat.ssrc,
      packetsReceived: stat.packetsReceived ?? 0,
      packetsLost: stat.packetsLost ?? 0,
      concealmentEvents: stat.concealmentEvents ?? 0,
      concealedSamples: stat.concealedSamples ?? 0,
      silentConcealedSamples: stat.silentConcealedSamples ?? 0,
      totalSamplesReceived: stat.totalSamplesReceived ?? 0,
      totalAudioEnergy: stat.totalAudioEnergy ?? 0,
    });
  });
  return { hz: heard.hz, db: heard.db, streams, seen };
}
"""

RTP_SEEN = "() => window.__ear.rtp()"

# On `page`, `speaker`'s stage entry shows the speaking ring and `silent`'s does not, within `within_s`.
RingOn = Callable[[str, str, float], Awaitable[None]]


@dataclass
class Look:
    """One look at the listener's slot."""

    at: float
    tone: str | None  # whose tone is the loudest sound (HOST, GUEST), or None (silence, noise)
    hz: float
    db: float
    stream: dict | None  # the slot's inbound-rtp counters (None before its first packet)


@dataclass
class Ear:
    """The listener's ear on its only receive slot (see `attach_ear`)."""

    page: Page  # or a test_firefox.FirefoxPage, whose evaluate answers as Page.evaluate does
    looks: list[Look] = field(default_factory=list)

    async def look(self) -> Look:
        heard = await self.page.evaluate(LISTEN)
        streams, seen = heard["streams"], heard["seen"]
        if seen is not None:
            assert not seen["errors"], f"the slot's Opus did not decode: {seen['errors']}"
        assert len(streams) <= 1, f"the slot has {len(streams)} inbound-rtp streams (SSRCs): {streams}"
        look = Look(time.monotonic(), tone_of(heard["hz"], heard["db"]), heard["hz"], heard["db"],
                    streams[0] if streams else None)
        self.looks.append(look)
        return look

    async def rtp(self) -> dict:
        """What the RTP watch saw so far: {packets, ssrcs, steps: [{packet, seqStep, tsStep, ssrc}],
        decoded, errors, heard}."""
        return await self.page.evaluate(RTP_SEEN)

    async def until_hearing(self, speaker: str, within_s: float, steady: int = 3) -> float:
        """Seconds until `speaker`'s tone is the loudest sound in `steady` looks in a row."""
        start = time.monotonic()
        in_a_row = 0
        while time.monotonic() - start < within_s:
            look = await self.look()
            in_a_row = in_a_row + 1 if look.tone == speaker else 0
            if in_a_row >= steady:
                return look.at - start
            await asyncio.sleep(POLL_S)
        recent = ", ".join(f"{one.hz:.0f} Hz at {one.db:.0f} dB" for one in self.looks[-8:])
        raise AssertionError(f"the slot did not switch to {speaker} within {within_s} s; last looks: {recent}")

    async def hold(self, speaker: str, seconds: float) -> None:
        """Keeps looking for `seconds`; every look must hear `speaker` (no flapping back)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            look = await self.look()
            heard = f"{look.hz:.0f} Hz at {look.db:.0f} dB"
            assert look.tone == speaker, f"the slot left {speaker} while they talked on: {heard}"
            await asyncio.sleep(POLL_S)


def tone_of(hz: float, db: float) -> str | None:
    if db < -70:
        return None
    for speaker, tone in TONES_HZ.items():
        if abs(hz - tone) <= 0.08 * tone:
            return speaker
    return None


def growth(before: dict, after: dict) -> dict[str, int]:
    return {key: after[key] - before[key] for key in before if key != "ssrc"}


def concealed_share(delta: dict[str, int]) -> float:
    return delta["concealedSamples"] / max(1, delta["totalSamplesReceived"])


async def give_microphone(page: Page, tone_hz: float) -> None:
    """The page's getUserMedia gets the controllable tone (from the next navigation on)."""
    await page.context.add_init_script(f"window.__toneHz = {tone_hz};")
    await page.context.add_init_script(CONTROLLABLE_MIC)


def watch_slots_script(decode: bool = False) -> str:
    """The init script that gives a page's receive slots the RTP watch; with `decode`, the watch
    also decodes what it sees and hears the speakers' tones in it."""
    tones = json.dumps(list(TONES_HZ.values()) if decode else None)
    return WATCH_SLOTS.replace("TONES", tones).replace("RTP_WATCH", json.dumps(RTP_WATCH))


async def watch_slots(page: Page) -> None:
    """The (Chromium) page's receive slots get the RTP watch (from the next navigation on)."""
    await page.context.add_init_script(watch_slots_script())


async def talk(page: Page) -> None:
    await page.evaluate(SET_GAIN, TALKING_GAIN)


async def fall_silent(page: Page) -> None:
    await page.evaluate(SET_GAIN, 0)


async def bring_on_stage(host: Page, guest: Page, name: str) -> None:
    """The guest raises a hand, the host invites them, they accept, unmute and are live."""
    await expect(guest.get_by_role("button", name="Raise hand", exact=True)).to_be_visible(timeout=10_000)
    await guest.get_by_role("button", name="Raise hand", exact=True).click()
    hands = host.get_by_role("region", name="Raised hands")
    await hands.get_by_role("button", name=f"Invite {name} to speak", exact=True).click(timeout=5_000)
    invitation = guest.get_by_role("dialog", name="Join the stage?")
    await invitation.get_by_role("button", name="Accept", exact=True).click(timeout=5_000)
    await guest.get_by_role("button", name="Unmute microphone", exact=True).click(timeout=5_000)
    await expect(guest.get_by_text("Live — you're on stage")).to_be_visible(timeout=5_000)


async def one_slot_room_with_two_speakers(server, host: Page, guest: Page) -> str:
    """Ada (on `host`, a Chromium page) opens a room with one receive slot and Ben (on `guest`)
    comes on stage, each with the controllable microphone, silent for now; returns the room's id."""
    await give_microphone(host, TONES_HZ[HOST])
    await give_microphone(guest, TONES_HZ[GUEST])
    room_id = await start_room(host, voices="1")
    assert server.room(room_id)["settings"]["slots"] == 1
    await join_from_hallway(guest, GUEST, room_id)
    await bring_on_stage(host, guest, GUEST)
    return room_id


async def attach_ear(page: Page, by_analyser: bool, within_s: float = 10) -> Ear:
    """The ear on the listener's only receive slot, once the page has one (within `within_s`):
    hearing through an AnalyserNode on the slot's track if `by_analyser`, else through the RTP
    watch's own decoding (`watch_slots_script(decode=True)`)."""
    deadline = time.monotonic() + within_s
    mid = None
    while mid is None and time.monotonic() < deadline:
        mid = await page.evaluate(ATTACH_EAR, by_analyser)
        if mid is None:
            await asyncio.sleep(0.25)
    assert mid is not None, f"{LISTENER}'s page has no receive slot"
    return Ear(page)


async def alternate(ear: Ear, speakers: dict[str, Page], ring_on: RingOn) -> tuple[Look, list[dict]]:
    """Ada talks while Ben is silent until the listener hears her in the slot and her name rings;
    then, SWITCHES times, the one talking falls silent and the other talks, heard and rung within
    SWITCH_WITHIN_S and held for HOLD_S. Returns the first look once Ada is heard steadily, and
    each switch's measurements (how soon it was heard and rung, the slot's inbound-rtp growth)."""
    await talk(speakers[HOST])
    await ear.until_hearing(HOST, within_s=10)
    await ring_on(HOST, GUEST, 5)
    await ear.hold(HOST, 1.0)  # settle: the jitter buffer has seen the start of the tone
    first = await ear.look()

    switches = []
    current = HOST
    for _ in range(SWITCHES):
        following = GUEST if current == HOST else HOST
        before = await ear.look()
        await asyncio.gather(fall_silent(speakers[current]), talk(speakers[following]))
        heard_after = await ear.until_hearing(following, within_s=SWITCH_WITHIN_S)
        await ring_on(following, current, SWITCH_WITHIN_S)
        ring_after = time.monotonic() - before.at
        await ear.hold(following, HOLD_S)
        delta = growth(before.stream, (await ear.look()).stream)
        switches.append({"to": following, "heard_after_s": round(heard_after, 2), "ring_after_s": round(ring_after, 2),
                         **delta, "concealed_ms": round(delta["concealedSamples"] / 48)})
        current = following
    return first, switches


async def assert_one_stream_without_loss(ear: Ear, first: Look, switches: list[dict]) -> tuple[dict, str]:
    """Checks (and prints) what the slot carried from `first` on: one RTP stream throughout, with
    packets flowing, carrying on at each switch without a jump, next to nothing lost and no burst
    of concealment at any switch. Returns what the RTP watch saw and the report."""
    last = await ear.look()
    rtp = await ear.rtp()
    total = growth(first.stream, last.stream)
    steps = rtp["steps"]
    decoded = f", {rtp['decoded']} decoded" if rtp["decoded"] else ""
    report = (f"switches: {switches}; whole test: {total}, concealed share {concealed_share(total):.4f}; "
              f"RTP: {rtp['packets']} packets{decoded}, SSRCs {rtp['ssrcs']}, "
              f"steps other than (+1, +{FRAME}): {steps}")
    print(report)

    # One RTP stream for the slot throughout, with packets flowing...
    assert len(rtp["ssrcs"]) == 1, f"the slot's SSRC changed: {report}"
    assert total["packetsReceived"] > 50 * SWITCHES * HOLD_S, f"too few packets: {report}"
    # ... that carries on at each switch: the next sequence number (or one or two later, for a
    # packet lost on the way), and a timestamp one frame later, plus the few milliseconds that
    # passed between the speakers' packets; never backwards, never a restart.
    missing = sum(step["seqStep"] - 1 for step in steps)
    assert all(step["seqStep"] >= 1 for step in steps), f"sequence numbers went backwards: {report}"
    assert missing <= MAX_PACKETS_LOST, f"sequence numbers jumped: {report}"
    for step in steps:
        frames = FRAME * step["seqStep"]
        assert frames <= step["tsStep"] <= frames + 48 * MAX_SWITCH_GAP_MS, f"timestamps jumped: {report}"
    # Next to nothing lost...
    assert total["packetsLost"] <= MAX_PACKETS_LOST, f"packets lost: {report}"
    assert concealed_share(total) <= MAX_CONCEALED_SHARE, f"too much concealment: {report}"
    # ... and no burst of concealment around any switch.
    for switch in switches:
        assert switch["concealmentEvents"] <= MAX_CONCEALMENT_EVENTS_PER_SWITCH, f"concealment at a switch: {report}"
        assert switch["concealed_ms"] <= MAX_CONCEALED_MS_PER_SWITCH, f"concealment at a switch: {report}"
    return rtp, report
