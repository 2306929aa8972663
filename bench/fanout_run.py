"""The fan-out runner: where the bots find the server under test (`Target`), the bots themselves
(listeners spread over worker processes, speakers in one), and one measurement (`measure`), which
makes one `Row`. bench/fanout.py (Dropin against Janus and MediaRelay), bench/turn.py (listeners
behind TURN against direct ones), bench/churn.py and bench/cluster.py run it.
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import multiprocessing
import os
import socket
import statistics
import sys
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection  # noqa: E402

from bench import janus, relay_server  # noqa: E402
from bench.bots import RawListener, RawSpeaker, connected, drain, quiet  # noqa: E402
from bench.servers import DropinServer, cpu_seconds, own_cpu_seconds, rss_bytes  # noqa: E402
from bench.turn_relay import RelayedListener  # noqa: E402
from server.media.aiortc_adapter import ParkedTrack  # noqa: E402
from signaling.participant import Participant  # noqa: E402
from signaling.voice import voice_packets  # noqa: E402

VOICE_S = 6.0  # each speaker's voice loops after this long
CONNECT_AT_ONCE = 8  # listener connections a worker sets up concurrently
DRAIN_S = 0.5
IDLE_S = 5.0  # silence measured before the listeners come and before the talking starts (one ICE consent cycle)


@dataclass
class Target:
    """Where the bots find the server under test."""

    kind: str  # "dropin", "janus" or "relay"
    url: str
    room: Any = None
    host_token: str = ""
    feeds: tuple[int, ...] = ()
    relay_only: bool = False  # listeners behind TURN (Dropin only)
    turn_pid: int = 0  # the coturn they relay through


@dataclass
class Row:
    server: str
    speakers: int
    listeners: int
    sent: int
    delivered: int
    cpu_s: float
    idle_cpu_s: float  # over IDLE_S with everyone connected and nobody talking
    base_idle_cpu_s: float  # over IDLE_S with the speakers connected, silent, before the listeners
    latency_ms: tuple[float, float] | None
    forward_us: tuple[float, float, float] | None  # Dropin's own: p50, p99 to the last send, and its CPU p99
    rss: int
    connected: int
    turn_cpu_s: float | None = None  # coturn's own CPU over the talking time (bench/turn.py's relayed rows)

    @property
    def delivery(self) -> float:
        return self.delivered / max(1, self.sent * self.listeners)

    @property
    def us_per_packet(self) -> float:
        return self.cpu_s / max(1, self.delivered) * 1e6

    @property
    def idle_ms_per_listener(self) -> float:
        """Server CPU per second per listener while the room is silent, in ms."""
        return self.idle_cpu_s / IDLE_S / max(1, self.connected) * 1e3

    @property
    def added_idle_ms_per_listener(self) -> float:
        """What each listener added to the silent room's server CPU per second, in ms."""
        return (self.idle_cpu_s - self.base_idle_cpu_s) / IDLE_S / max(1, self.connected) * 1e3

    def cells(self) -> tuple[str, str, str, str]:
        """Listeners (connected), latency, forwarding time and idle CPU, as table cells."""
        listeners = f"{self.listeners}"
        if self.connected != self.listeners:
            listeners += f" ({self.connected} connected)"
        lat = f"{self.latency_ms[0]:.1f} / {self.latency_ms[1]:.1f} ms" if self.latency_ms else "n/a"
        fwd = ("{:.2f} / {:.2f} ms ({:.2f})".format(*(us / 1000 for us in self.forward_us))
               if self.forward_us else "–")
        idle = f"{self.idle_ms_per_listener:.2f} / {self.added_idle_ms_per_listener:.2f} ms/s"
        return listeners, lat, fwd, idle


# Bots (run in worker processes)


def new_pc() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


async def connect_listener(target: Target, index: int, http: httpx.AsyncClient) -> tuple[RTCPeerConnection, Callable]:
    """One listener connected to the server under test; returns its peer connection and a closer."""
    if target.kind == "dropin":
        token = (await http.post(f"{target.url}/api/identity", json={"name": f"Listener {index}"})).json()["token"]
        participant = Participant(target.url.replace("http", "ws") + "/ws", token)
        await participant.join(target.room)
        await participant.connect_media(before_offer=quiet, relay_only=target.relay_only)
        assert participant.pc is not None
        return participant.pc, participant.close
    pc = new_pc()
    if target.kind == "janus":
        room = await janus.VideoRoom.open(target.url)
        await room.subscribe(target.room, pc, list(target.feeds))

        async def close() -> None:
            await pc.close()
            await room.close()
    else:
        for _ in range(3):
            pc.addTransceiver("audio", direction="recvonly")
        quiet(pc)
        await relay_server.subscribe(target.url, pc)
        close = pc.close
    await connected(pc)
    return pc, close


async def listener_worker_main(target: Target, indices: list[int], conn: Connection) -> None:
    listeners: list[RawListener] = []
    closers: list[Callable] = []
    failures = 0
    draining = asyncio.create_task(drain(listeners))
    async with httpx.AsyncClient(timeout=30) as http:
        gate = asyncio.Semaphore(CONNECT_AT_ONCE)

        async def one(index: int) -> None:
            nonlocal failures
            async with gate:
                try:
                    pc, close = await connect_listener(target, index, http)
                except Exception as exc:
                    failures += 1
                    conn.send(("warn", f"listener {index}: {exc!r}"))
                    return
            listener = (RelayedListener if target.relay_only else RawListener)(pc)
            listener.attach()
            listeners.append(listener)

            async def detach_and_close(listener: RawListener = listener, close: Callable = close) -> None:
                listener.detach()
                await close()

            closers.append(detach_and_close)
            conn.send(("connected", 1))

        await asyncio.gather(*(one(i) for i in indices))
        gc.disable()  # no collector pauses in the measurement: they would show as server latency
        conn.send(("ready", len(listeners)))
        command = await asyncio.to_thread(conn.recv)
        assert command == "start"
        for listener in listeners:
            listener.start_recording()
        command = await asyncio.to_thread(conn.recv)
        assert command == "stop"
        for listener in listeners:
            listener.stop_recording()
        conn.send(("result", [(listener.packets, listener.arrivals) for listener in listeners]))
        draining.cancel()
        await asyncio.gather(*(close() for close in closers), return_exceptions=True)


async def connect_speakers(target: Target, count: int) -> tuple[list[RTCPeerConnection], list[int], Callable]:
    """`count` speakers on stage (Dropin), publishing (Janus, relay); their pcs, Janus feeds, a closer."""
    pcs: list[RTCPeerConnection] = []
    feeds: list[int] = []
    closers: list[Callable] = []
    if target.kind == "dropin":
        ws = target.url.replace("http", "ws") + "/ws"
        async with httpx.AsyncClient(timeout=30) as http:
            host = Participant(ws, target.host_token)
            await host.join(target.room)
            direct(host)
            await host.connect_media(ParkedTrack(), before_offer=quiet)
            speakers = [host]
            for i in range(1, count):
                token = (await http.post(f"{target.url}/api/identity", json={"name": f"Speaker {i}"})).json()["token"]
                speaker = Participant(ws, token)
                welcome = await speaker.join(target.room)
                direct(speaker)
                await speaker.connect_media(ParkedTrack(), before_offer=quiet)
                await host.client.request("invite", target=welcome.you.id)
                await speaker.client.request("accept_invite")
                await speaker.client.request("unmute_self")
                speakers.append(speaker)
        pcs = [speaker.pc for speaker in speakers]
        closers = [speaker.close for speaker in speakers]
    else:
        session = await janus.VideoRoom.open(target.url) if target.kind == "janus" else None
        for i in range(count):
            pc = new_pc()
            pc.addTransceiver(ParkedTrack(), direction="sendonly")
            quiet(pc)
            if session is not None:
                feeds.append(await session.publish(target.room, pc, f"Speaker {i}"))
            else:
                await relay_server.publish(target.url, pc)
            await connected(pc)
            pcs.append(pc)
            closers.append(pc.close)
        if session is not None:
            closers.append(session.close)

    async def close() -> None:
        await asyncio.gather(*(c() for c in closers), return_exceptions=True)

    return pcs, feeds, close


def direct(speaker: Participant) -> None:
    """Speakers connect directly in every run: no TURN servers from the welcome (--turn rows)."""
    assert speaker.welcome is not None
    speaker.welcome = speaker.welcome.model_copy(update={"ice_servers": []})


async def speaker_worker_main(target: Target, count: int, seconds: float, conn: Connection) -> None:
    pcs, feeds, close = await connect_speakers(target, count)
    voices = [voice_packets(VOICE_S, seed=i + 1) for i in range(count)]
    speakers = [RawSpeaker(pc, voice) for pc, voice in zip(pcs, voices)]
    gc.disable()
    conn.send(("ready", feeds))
    assert await asyncio.to_thread(conn.recv) == "start"
    await asyncio.gather(*(speaker.send(seconds) for speaker in speakers))
    conn.send(("result", [speaker.sent for speaker in speakers], unique_crcs(voices)))
    assert await asyncio.to_thread(conn.recv) == "stop"
    await close()


def unique_crcs(voices: list) -> set[int]:
    """Payload CRCs that occur once in all the voices together (silence frames repeat)."""
    seen: dict[int, int] = {}
    for voice in voices:
        for packet in voice:
            crc = zlib.crc32(packet.payload)
            seen[crc] = seen.get(crc, 0) + 1
    return {crc for crc, n in seen.items() if n == 1}


def run_worker(main: Callable, *args: Any) -> None:
    """Entry point of a worker process. Bots are the measuring apparatus: they run as SCHED_IDLE,
    so the scheduler prefers the server under test to them."""
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    asyncio.run(main(*args))


# The orchestrator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def progress(text: str) -> None:
    print(f"\r\033[K{text}", end="", file=sys.stderr, flush=True)


class Workers:
    """Worker processes and their pipes."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self._processes: list[multiprocessing.process.BaseProcess] = []

    def spawn(self, main: Callable, *args: Any) -> Connection:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=run_worker, args=(main, *args, theirs), daemon=True)
        process.start()
        self.pipes.append(ours)
        self._processes.append(process)
        return ours

    def stop(self) -> None:
        for process in self._processes:
            process.join(timeout=15)
            if process.is_alive():
                process.kill()


async def receive(conn: Connection, timeout: float) -> Any:
    try:
        if not await asyncio.to_thread(conn.poll, timeout):
            raise SystemExit("a bot process stopped answering")
        return conn.recv()
    except EOFError:
        raise SystemExit("a bot process died (its traceback is above)") from None


CONNECT_S = 600  # every listener bot connected by then, or the run stops


async def connect_listeners(label: str, pipes: list, listeners: int, timeout: float) -> tuple[int, list[str]]:
    """Wait until every listener bot process is ready; the listeners connected and the warnings."""
    deadline = time.monotonic() + timeout
    ready, connected, warnings = 0, 0, []
    while ready < len(pipes):
        if time.monotonic() > deadline:
            raise SystemExit(f"\n{label} only {connected} of {listeners} listeners connected in {timeout:.0f} s")
        for pipe in pipes:
            while pipe.poll():
                kind, value = await receive(pipe, 0)
                if kind == "connected":
                    connected += 1
                elif kind == "warn":
                    warnings.append(value)
                elif kind == "ready":
                    ready += 1
        progress(f"{label} listeners connected {connected}/{listeners}")
        await asyncio.sleep(0.2)
    return connected, warnings


async def measure(label: str, target: Target, pid: int, speakers: int, listeners: int, seconds: float,
                  worker_count: int) -> Row:
    """One run against a started server: connect, talk for `seconds`, collect."""
    workers = Workers()
    try:
        speaker_pipe = workers.spawn(speaker_worker_main, target, speakers, seconds)
        message = await receive(speaker_pipe, 120)
        target.feeds = tuple(message[1])
        await asyncio.sleep(1.0)
        progress(f"[{label} N={listeners}] silent room, speakers only {IDLE_S:.0f} s")
        base_before = cpu_seconds(pid)
        await asyncio.sleep(IDLE_S)
        base_idle = cpu_seconds(pid) - base_before
        chunks = [list(range(listeners))[w::worker_count] for w in range(worker_count)]
        pipes = [workers.spawn(listener_worker_main, target, chunk) for chunk in chunks if chunk]
        _, warnings = await connect_listeners(f"[{label} N={listeners}]", pipes, listeners, CONNECT_S)
        for warning in warnings[:3]:
            print(f"\n  {warning}", file=sys.stderr)
        await asyncio.sleep(1.0)  # let the joins settle
        progress(f"[{label} N={listeners}] silent room {IDLE_S:.0f} s")
        idle_before = cpu_seconds(pid)
        await asyncio.sleep(IDLE_S)
        idle_cpu = cpu_seconds(pid) - idle_before
        for pipe in pipes:
            pipe.send("start")
        await asyncio.sleep(0.2)
        cpu_before = cpu_seconds(pid)
        turn_before = own_cpu_seconds(target.turn_pid) if target.turn_pid else 0.0
        speaker_pipe.send("start")
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            progress(f"[{label} N={listeners}] speaking {time.monotonic() - started:4.1f}/{seconds:.0f} s")
            await asyncio.sleep(0.5)
        _, sent_logs, unique = await receive(speaker_pipe, 60)
        await asyncio.sleep(DRAIN_S)
        cpu = cpu_seconds(pid) - cpu_before
        turn_cpu = own_cpu_seconds(target.turn_pid) - turn_before if target.turn_pid else None
        rss = rss_bytes(pid)
        forward_us = None
        if target.kind == "dropin":
            async with httpx.AsyncClient() as http:
                media = (await http.get(f"{target.url}/api/media")).json()
            times, cpu_times = media["forward_us"], media["forward_cpu_us"]
            forward_us = (times["p50"], times["p99"], cpu_times["p99"]) if times["samples"] else None
        for pipe in pipes:
            pipe.send("stop")
        results = []
        for pipe in pipes:
            _, listener_results = await receive(pipe, 60)
            results.extend(listener_results)
        speaker_pipe.send("stop")
        progress("")
        sent = sum(len(log) for log in sent_logs)
        return Row(
            server=label, speakers=speakers, listeners=listeners, sent=sent,
            delivered=sum(packets for packets, _ in results), cpu_s=cpu, idle_cpu_s=idle_cpu, base_idle_cpu_s=base_idle,
            latency_ms=latency(sent_logs, [arrivals for _, arrivals in results], unique),
            forward_us=forward_us, rss=rss, connected=len(results), turn_cpu_s=turn_cpu,
        )
    finally:
        workers.stop()


def latency(sent_logs: list[list[tuple[int, int]]], arrivals: list[list[tuple[int, int]]],
            unique: set[int]) -> tuple[float, float] | None:
    """p50 and p99 over packets of the time from the speaker's send to the last listener's arrival."""
    sends: dict[int, list[int]] = {}
    for log in sent_logs:
        for crc, at in log:
            if crc in unique:
                sends.setdefault(crc, []).append(at)
    last: dict[tuple[int, int], int] = {}
    for listener in arrivals:
        for crc, at in listener:
            times = sends.get(crc)
            if not times:
                continue
            i = bisect.bisect_right(times, at) - 1
            if i >= 0:
                key = (crc, times[i])
                last[key] = max(last.get(key, 0), at - times[i])
    if not last:
        return None
    values = sorted(v / 1e6 for v in last.values())
    return statistics.median(values), values[min(len(values) - 1, round(0.99 * (len(values) - 1)))]


@asynccontextmanager
async def dropin_target() -> AsyncIterator[tuple[Target, int]]:
    with DropinServer(free_port()) as server:
        target = await dropin_room(server)
        yield target, server.pid


async def dropin_room(server: DropinServer) -> Target:
    async with httpx.AsyncClient(timeout=30) as http:
        token = (await http.post(f"{server.url}/api/identity", json={"name": "Host"})).json()["token"]
        room = (await http.post(f"{server.url}/api/rooms", json={"title": "Fan-out", "settings": {"slots": 3}},
                                headers={"Authorization": f"Bearer {token}"})).json()["id"]
    return Target("dropin", server.url, room=room, host_token=token)


def medians(rows: list[Row]) -> list[Row]:
    """Per server and listener count, the run with the median CPU per delivered packet."""
    groups: dict[tuple[str, int], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.server, row.listeners), []).append(row)
    return [sorted(group, key=lambda r: r.us_per_packet)[(len(group) - 1) // 2] for group in groups.values()]


def numbers(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


