"""Opus RED (RFC 2198, audio/red) against Opus in-band FEC at 5% random loss, in Chromium.

Does RED earn a place in the SFU? Before building pass-through, measure what it buys a listener
beyond the in-band FEC Dropin negotiates today. One headless Chromium page (fake microphone: the
`--use-fake-device-for-media-stream` beep) runs three sender→receiver pairs at once, one per
configuration, all sending the same microphone track with Opus:

    plain  Opus without in-band FEC (useinbandfec=0 in both descriptions)
    fec    Opus with in-band FEC (useinbandfec=1: what Dropin negotiates today)
    red    audio/red over Opus (preferred with setCodecPreferences on both ends), useinbandfec=1

Each pair is relay-only through a real coturn on this machine's address (tests/coturn.py). This
kernel has no netem, so each sender reaches coturn through a user-space UDP relay of its own
(tests/impair.py), which drops the sender's upstream datagrams (media, RTCP and STUN alike) at
random with probability `--loss`; the receivers reach coturn directly. Scenarios, in order: no
loss (the baseline: the concealment this shared, noisy machine causes by itself, through the same
relays), `--loss`, and `--loss` with jitter: each of those datagrams is also held for a uniform
random 0 to `--jitter-ms` (netem's `delay J/2 J/2`, so packets reorder). After `--warmup`
seconds (for the encoder to learn of the loss from RTCP), the receivers' inbound-rtp getStats()
are read before and after `--seconds`:

    concealedSamples / totalSamplesReceived, concealmentEvents (per minute and per packet lost),
    packetsLost / (received + lost), bytesReceived per second (RTP payload), and the jitter
    buffer's mean delay.

Whether RED was really sent is read off the wire: SRTP leaves the RTP header in the clear, so each
sender's relay counts the payload types inside coturn's ChannelData, named by the answer's rtpmap
(Chromium's getStats names the decoded codec, audio/opus, even for a RED stream). The three pairs
share the page and the minute, so each repetition compares them in the same conditions; ratios
are taken against `fec` in the same repetition.

    .venv/bin/python bench/red.py [--seconds 20] [--repeat 3] [--loss 0.05] [--jitter-ms 80]

Writes the table, the command and the machine to docs/benchmarks.md (unless --no-write).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from coturn import Coturn  # noqa: E402  (tests/coturn.py)
from e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (the browser tests' Chromium)
from impair import Impairment, impairing_relay  # noqa: E402  (tests/impair.py)
from playwright.async_api import Page, async_playwright  # noqa: E402

from bench.servers import record_section  # noqa: E402
from bench.turn_relay import turn_server  # noqa: E402
from server.media.turn import turn_credential  # noqa: E402
from signaling.voice import RATE as VOICE_RATE  # noqa: E402
from signaling.voice import synthesise  # noqa: E402

CONFIGS = ("plain", "fec", "red")
MARK_START, MARK_END = "<!-- red:start -->", "<!-- red:end -->"
VOICE_S = 12.0  # the --voice loop
PAGE_URL = "http://localhost/red-bench"  # served by a Playwright route; localhost is a secure context

PAGE_SCRIPT = r"""
window.bench = (() => {
  const pairs = {};
  let microphone = null;

  function order(codecs, red) {
    const opus = codecs.filter(c => c.mimeType.toLowerCase() === 'audio/opus');
    const reds = codecs.filter(c => c.mimeType.toLowerCase() === 'audio/red');
    const rest = codecs.filter(c => !['audio/opus', 'audio/red'].includes(c.mimeType.toLowerCase()));
    return red ? [...reds, ...opus, ...rest] : [...opus, ...rest];
  }

  function fec(sdp, on) {
    return on ? sdp : sdp.replace(/useinbandfec=1/g, 'useinbandfec=0');
  }

  async function gathered(pc) {
    if (pc.iceGatheringState === 'complete') return;
    await new Promise(resolve => pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    }));
  }

  async function connected(pc) {
    const deadline = Date.now() + 20000;
    while (pc.connectionState !== 'connected') {
      if (pc.connectionState === 'failed' || Date.now() > deadline) throw new Error('pc ' + pc.connectionState);
      await new Promise(r => setTimeout(r, 50));
    }
  }

  async function pair(name, config, senderIce, receiverIce) {
    if (!microphone) microphone = (await navigator.mediaDevices.getUserMedia({audio: true})).getAudioTracks()[0];
    const red = config === 'red', inband = config !== 'plain';
    const sender = new RTCPeerConnection({iceServers: senderIce, iceTransportPolicy: 'relay'});
    const receiver = new RTCPeerConnection({iceServers: receiverIce, iceTransportPolicy: 'relay'});
    const out = sender.addTransceiver(microphone, {direction: 'sendonly'});
    out.setCodecPreferences(order(RTCRtpSender.getCapabilities('audio').codecs, red));
    receiver.ontrack = event => {
      const audio = new Audio();
      audio.srcObject = new MediaStream([event.track]);
      audio.play().catch(() => {});
      pairs[name].audio = audio;
    };
    pairs[name] = {sender, receiver};
    await sender.setLocalDescription();
    await gathered(sender);
    await receiver.setRemoteDescription({type: 'offer', sdp: fec(sender.localDescription.sdp, inband)});
    receiver.getTransceivers()[0].setCodecPreferences(order(RTCRtpReceiver.getCapabilities('audio').codecs, red));
    await receiver.setLocalDescription();
    await gathered(receiver);
    await sender.setRemoteDescription({type: 'answer', sdp: fec(receiver.localDescription.sdp, inband)});
    await Promise.all([connected(sender), connected(receiver)]);
    return {offer: sender.localDescription.sdp, answer: receiver.localDescription.sdp};
  }

  async function stats(name) {
    const {sender, receiver} = pairs[name];
    const result = {};
    const inbound = await receiver.getStats();
    inbound.forEach(s => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        Object.assign(result, {
          concealedSamples: s.concealedSamples, silentConcealedSamples: s.silentConcealedSamples,
          concealmentEvents: s.concealmentEvents, totalSamplesReceived: s.totalSamplesReceived,
          packetsReceived: s.packetsReceived, packetsLost: s.packetsLost, bytesReceived: s.bytesReceived,
          headerBytesReceived: s.headerBytesReceived, jitterBufferDelay: s.jitterBufferDelay,
          jitterBufferEmittedCount: s.jitterBufferEmittedCount, fecPacketsReceived: s.fecPacketsReceived,
          insertedSamplesForDeceleration: s.insertedSamplesForDeceleration,
          removedSamplesForAcceleration: s.removedSamplesForAcceleration,
          codec: s.codecId && inbound.get(s.codecId) ? inbound.get(s.codecId).mimeType : null,
        });
      }
    });
    const outbound = await sender.getStats();
    outbound.forEach(s => {
      if (s.type === 'outbound-rtp' && s.kind === 'audio') {
        result.sentCodec = s.codecId && outbound.get(s.codecId) ? outbound.get(s.codecId).mimeType : null;
        result.bytesSent = s.bytesSent;
        result.packetsSent = s.packetsSent;
      }
    });
    result.codecsInStats = [];
    inbound.forEach(s => { if (s.type === 'codec') result.codecsInStats.push(s.mimeType + '/' + s.payloadType); });
    const parameters = sender.getSenders()[0].getParameters();
    result.sendCodec = parameters.codecs && parameters.codecs.length ? parameters.codecs[0].mimeType : null;
    result.at = performance.now();
    return result;
  }

  function close(name) {
    const p = pairs[name];
    if (!p) return;
    p.sender.close();
    p.receiver.close();
    if (p.audio) p.audio.srcObject = null;
    delete pairs[name];
  }

  return {pair, stats, close};
})();
"""


@dataclass
class Measurement:
    scenario: str
    config: str
    repetition: int
    wire: str  # the payload types the sender's relay saw while measuring, by name and share
    send_codec: str  # the sender's first codec (getParameters)
    seconds: float
    concealed: int
    silent_concealed: int
    samples: int
    events: int
    received: int
    lost: int
    payload_bytes: int
    header_bytes: int
    jitter_buffer_ms: float

    @property
    def concealed_ratio(self) -> float:
        return self.concealed / max(1, self.samples)

    @property
    def loss(self) -> float:
        return self.lost / max(1, self.received + self.lost)

    @property
    def events_per_minute(self) -> float:
        return self.events / self.seconds * 60

    @property
    def events_per_loss(self) -> float | None:
        """Concealment events per packet lost: near 1 when losses go unrepaired, near 0 when repaired."""
        return self.events / self.lost if self.lost else None

    @property
    def payload_kbps(self) -> float:
        return self.payload_bytes * 8 / self.seconds / 1000

    @property
    def bytes_per_second(self) -> float:
        return self.payload_bytes / self.seconds


def delta(config: str, scenario: str, repetition: int, before: dict[str, Any], after: dict[str, Any],
          wire: str) -> Measurement:
    def d(key: str) -> int:
        return int((after.get(key) or 0) - (before.get(key) or 0))

    emitted = d("jitterBufferEmittedCount")
    return Measurement(
        scenario=scenario, config=config, repetition=repetition, wire=wire,
        send_codec=str(after.get("sendCodec")), seconds=(after["at"] - before["at"]) / 1000,
        concealed=d("concealedSamples"), silent_concealed=d("silentConcealedSamples"),
        samples=d("totalSamplesReceived"), events=d("concealmentEvents"), received=d("packetsReceived"),
        lost=d("packetsLost"), payload_bytes=d("bytesReceived"), header_bytes=d("headerBytesReceived"),
        jitter_buffer_ms=(after.get("jitterBufferDelay", 0) - before.get("jitterBufferDelay", 0)) / max(1, emitted)
        * 1000,
    )


def ice(urls: list[str], coturn: Coturn, user: str) -> list[dict[str, Any]]:
    credential = turn_credential(coturn.secret, user, int(time.time()) + 3600)
    return [{"urls": urls, "username": credential.username, "credential": credential.credential}]


class PayloadTypes:
    """The RTP payload types a sender puts on the wire, counted in its relay to coturn."""

    def __init__(self, relay: Any) -> None:
        self.counts: Counter[int] = Counter()
        forward = relay._from_client  # tests/impair.py's entry for a client's datagram

        def from_client(data: bytes, client: tuple[str, int]) -> None:
            self.count(data)
            forward(data, client)

        relay._from_client = from_client

    def count(self, data: bytes) -> None:
        if len(data) > 16 and (data[0] & 0xC0) == 0x40:  # ChannelData
            if 0x80 <= data[4] < 0xC0 and not 192 <= data[5] <= 223:  # RTP, not RTCP
                self.counts[data[5] & 0x7F] += 1

    def named(self, sdp: str) -> str:
        names = {int(pt): name.split("/")[0] for pt, name in re.findall(r"^a=rtpmap:(\d+) (\S+)", sdp, re.MULTILINE)}
        total = sum(self.counts.values())
        if not total:
            return "none seen"
        return ", ".join(f"{names.get(pt, pt)} {n / total:.0%}" for pt, n in self.counts.most_common())


def progress(text: str) -> None:
    print(f"\r\033[K{text}", end="", file=sys.stderr, flush=True)


async def one_round(page: Page, scenario: str, repetition: int, impairment: Impairment, coturn: Coturn,
                    args: argparse.Namespace) -> list[Measurement]:
    """The three configurations side by side, each sender behind an impairing relay of its own,
    for --warmup then --seconds; closed afterwards."""
    names = [f"{config}-{scenario}-{repetition}" for config in CONFIGS]
    receiver_ice = ice(coturn.urls("udp"), coturn, "receiver")
    with contextlib.ExitStack() as stack:
        relays = [
            stack.enter_context(impairing_relay(coturn.address, (coturn.address, coturn.port),
                                                dataclasses.replace(impairment, seed=impairment.seed + k)))
            for k in range(len(CONFIGS))
        ]
        wires = [PayloadTypes(relay) for relay in relays]
        try:
            descriptions = await asyncio.gather(*(
                page.evaluate("([n, c, s, r]) => window.bench.pair(n, c, s, r)",
                              [name, config, ice(relay.urls("udp"), coturn, "sender"), receiver_ice])
                for name, config, relay in zip(names, CONFIGS, relays)
            ))
            if args.verbose:
                for config, description in zip(CONFIGS, descriptions):
                    audio = [line for line in description["answer"].splitlines()
                             if line.startswith(("m=audio", "a=rtpmap", "a=fmtp"))]
                    print(f"\n[{config}] answer: " + " | ".join(audio), file=sys.stderr)
            started = time.monotonic()
            while (elapsed := time.monotonic() - started) < args.warmup:
                progress(f"[{scenario} #{repetition + 1}] warming up {elapsed:4.1f}/{args.warmup:.0f} s")
                await asyncio.sleep(0.5)
            before = [await page.evaluate("n => window.bench.stats(n)", name) for name in names]
            for wire in wires:
                wire.counts.clear()
            started = time.monotonic()
            while (elapsed := time.monotonic() - started) < args.seconds:
                progress(f"[{scenario} #{repetition + 1}] measuring {elapsed:4.1f}/{args.seconds:.0f} s")
                await asyncio.sleep(0.5)
            after = [await page.evaluate("n => window.bench.stats(n)", name) for name in names]
            seen = [wire.named(description["answer"]) for wire, description in zip(wires, descriptions)]
            progress("")
            if args.verbose:
                print(json.dumps(after, indent=1), file=sys.stderr)
            return [delta(config, scenario, repetition, b, a, w)
                    for config, b, a, w in zip(CONFIGS, before, after, seen)]
        finally:
            for name in names:
                await page.evaluate("n => window.bench.close(n)", name)


async def run(args: argparse.Namespace, coturn: Coturn) -> list[Measurement]:
    scenarios = [] if args.no_baseline else [("no loss (baseline)", Impairment(direction="up", seed=args.seed))]
    scenarios.append((f"{args.loss:.0%} loss", Impairment(loss=args.loss, direction="up", seed=args.seed)))
    if args.jitter_ms > 0:
        scenarios.append((f"{args.loss:.0%} loss, 0–{args.jitter_ms:.0f} ms jitter", Impairment(
            loss=args.loss, delay_ms=args.jitter_ms / 2, jitter_ms=args.jitter_ms / 2, direction="up",
            seed=args.seed + 10)))
    measurements: list[Measurement] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=CHROMIUM_ARGS + microphone_args(args, args.scratch))
        try:
            context = await browser.new_context()
            await context.add_init_script(PAGE_SCRIPT)
            await context.route(PAGE_URL, lambda route: route.fulfill(
                body="<!doctype html><title>RED bench</title>", content_type="text/html"))
            page = await context.new_page()
            await page.goto(PAGE_URL)
            for repetition in range(args.repeat):
                for scenario, impairment in scenarios:
                    impairment = dataclasses.replace(impairment, seed=impairment.seed + 100 * repetition)
                    rows = await one_round(page, scenario, repetition, impairment, coturn, args)
                    for row in rows:
                        print(table_line(row), flush=True)
                    measurements.extend(rows)
        finally:
            await browser.close()
    return measurements


HEADER = (
    "| scenario | configuration | sent (payload types on the wire) | packets lost | concealed / received samples "
    "| concealment events per minute | concealment events per lost packet | payload bytes received per second "
    "| jitter buffer delay |\n"
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def table_line(row: Measurement) -> str:
    per_loss = f"{row.events_per_loss:.2f}" if row.events_per_loss is not None else "–"
    return (
        f"| {row.scenario} | {row.config} | {row.wire} | {row.loss:.1%} | {row.concealed_ratio:.2%} "
        f"| {row.events_per_minute:.1f} | {per_loss} | {row.bytes_per_second:,.0f} B/s ({row.payload_kbps:.1f} kbit/s) "
        f"| {row.jitter_buffer_ms:.0f} ms |"
    )


def medians(rows: list[Measurement]) -> list[Measurement]:
    """Per scenario and configuration, the repetition with the median concealment."""
    groups: dict[tuple[str, str], list[Measurement]] = {}
    for row in rows:
        groups.setdefault((row.scenario, row.config), []).append(row)
    return [sorted(group, key=lambda r: r.concealed_ratio)[(len(group) - 1) // 2] for group in groups.values()]


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _times(value: float | None, sign: str = "") -> str:
    return f"{value:.2f}{sign}" if value is not None else "–"


def ratios(rows: list[Measurement]) -> str:
    """Against `fec` in the same repetition: concealment and payload bytes, median and each run
    (– where `fec` concealed nothing, as without loss on a quiet machine)."""
    lines = []
    for scenario in dict.fromkeys(row.scenario for row in rows):
        base = {r.repetition: r for r in rows if r.scenario == scenario and r.config == "fec"}
        for config in ("plain", "red"):
            ours = [r for r in rows if r.scenario == scenario and r.config == config and r.repetition in base]
            if not ours:
                continue
            concealed = [_ratio(r.concealed_ratio, base[r.repetition].concealed_ratio) for r in ours]
            points = [100 * (r.concealed_ratio - base[r.repetition].concealed_ratio) for r in ours]
            events = [_ratio(r.events, base[r.repetition].events) for r in ours]
            size = [_ratio(r.bytes_per_second, base[r.repetition].bytes_per_second) for r in ours]
            lines.append(
                f"- {scenario}, {config} / fec: concealed samples **{_times(_median(concealed), '×')}** (each run: "
                + ", ".join(_times(x) for x in concealed)
                + f"); difference {statistics.median(points):+.2f} points (each run: "
                + ", ".join(f"{x:+.2f}" for x in points)
                + f"); concealment events {_times(_median(events), '×')}; payload bytes per second "
                f"**{_times(_median(size), '×')}** (each run: " + ", ".join(_times(x) for x in size) + ")"
            )
    return "\n".join(lines) + ("\n" if lines else "")


def microphone_args(args: argparse.Namespace, directory: Path) -> list[str]:
    """With --voice, the fake microphone plays signaling/voice.py's synthesised voice (looped) instead of
    the beep: a tone is coded as music (CELT), where Opus has no in-band FEC; speech is coded with SILK."""
    if not args.voice:
        return []
    pcm = synthesise(VOICE_S, seed=7)
    path = directory / "voice.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(VOICE_RATE)
        out.writeframes(pcm.tobytes())
    return [f"--use-file-for-fake-audio-capture={path}"]


def write_docs(rows: list[Measurement], command: str, args: argparse.Namespace) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    start, end = ("<!-- red-voice:start -->", "<!-- red-voice:end -->") if args.voice else (MARK_START, MARK_END)
    source = ("signaling/voice.py's synthesised voice (glottal pulses through formants, words and pauses; "
              "`--use-file-for-fake-audio-capture`, looped)" if args.voice else "the fake microphone (Chromium's beep)")
    title = "Opus RED against in-band FEC, synthesised voice" if args.voice else "Opus RED against in-band FEC"
    section = (
        f"{start}\n## {title} ({time.strftime('%Y-%m-%d')})\n\n`{command}` on {machine}, "
        f"{chromium_version()} headless, on a machine shared with other work (browser tests) and noisy: compare "
        "the configurations of one repetition, as ratios. One page runs three sender→receiver pairs at once, all "
        f"sending {source} with Opus: `plain` (useinbandfec=0), `fec` "
        "(useinbandfec=1, what Dropin negotiates today) and `red` (audio/red preferred on both ends with "
        "setCodecPreferences, useinbandfec=1). Each pair is relay-only through a coturn on this machine's "
        "address; each sender reaches coturn through a user-space impairing UDP relay of its own (tests/impair.py; "
        f"this kernel has no netem) that drops its upstream datagrams at random ({args.loss:.0%}; media, RTCP and "
        "STUN alike), and in the last scenario also holds each for a uniform random "
        f"0–{args.jitter_ms:.0f} ms (so packets reorder). The first scenario, with no loss through the same relays, "
        "is the baseline: what this machine conceals by itself when the browser's audio threads or the relays "
        "are kept waiting; such stalls hit the three pairs at once, so the difference in points against `fec` "
        "(same repetition) is steadier than the ratio. After "
        f"{args.warmup:.0f} s of warm-up, the receivers' inbound-rtp getStats() over {args.seconds:.0f} s: "
        "`concealedSamples / totalSamplesReceived`, `concealmentEvents` (per minute, and per packet lost: near 1 "
        "when losses go unrepaired, near 0 when FEC or RED repairs them), `packetsLost`, `bytesReceived` "
        "(RTP payload, headers excluded) per second, and the jitter buffer's mean delay "
        "(`jitterBufferDelay / jitterBufferEmittedCount`). What was sent is read off the wire: each "
        "sender's relay counts the RTP payload types inside coturn's ChannelData (SRTP leaves the header in the "
        "clear), named by the answer's rtpmap; Chromium's getStats reports the decoded codec, audio/opus, for "
        f"the RED stream too. {args.repeat} repetitions; the table shows, per row, the repetition "
        "with the median concealment, and the ratios are against `fec` in the same repetition.\n\n"
        + HEADER + "\n" + "\n".join(table_line(r) for r in medians(rows)) + "\n\n" + ratios(rows) + end
    )
    record_section(start, end, section)


def chromium_version() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=20).stdout
        return " ".join(out.split()[:2])
    return "Chromium"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per repetition")
    parser.add_argument("--warmup", type=float, default=5.0, help="impaired time before measuring")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--loss", type=float, default=0.05, help="random loss of the sender's upstream datagrams")
    parser.add_argument("--jitter-ms", type=float, default=80.0, help="second scenario's delay spread (0: none)")
    parser.add_argument("--seed", type=int, default=2198)
    parser.add_argument("--voice", action="store_true",
                        help="a synthesised voice for the microphone instead of Chromium's beep (own section)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the unimpaired scenario (the machine's own concealment, through the same relays)")
    parser.add_argument("--verbose", action="store_true", help="print the answers' codecs and the raw stats")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    print(HEADER, flush=True)
    with turn_server() as turn, tempfile.TemporaryDirectory(prefix="dropin-bench-red-") as scratch:
        args.scratch = Path(scratch)
        rows = asyncio.run(run(args, turn.coturn))
    print("\n" + HEADER + "\n" + "\n".join(table_line(r) for r in medians(rows)) + "\n\n" + ratios(rows))
    if not args.no_write:
        write_docs(rows, "python bench/red.py " + " ".join(sys.argv[1:]), args)


if __name__ == "__main__":
    main()
