"""Churn: new listeners arriving at a steady rate into a room that is already talking.

One fresh `dropin serve`; 3 speaker bots on stage and `--listeners` raw listener bots hearing them
(bench/bots.py); then at each of `--rates`, `--arrivals` new listeners, each joining as a browser
does (websocket, `join`, peer connection, `offer`, ICE, DTLS), timed from opening the websocket to
the kernel's receive time of its first RTP packet. Each rate is compared with a quiet window of the
same room just before it: the gaps heard by the listeners already in, the host's ping, the server's
CPU per join and (`--profile`, py-spy) what it went on, with the bots' CPU beside it. The method is
written out with the results in docs/benchmarks.md; the server log goes to
$TMPDIR/dropin-churn-server.log.

    .venv/bin/python bench/churn.py [--listeners 100] [--rates 10 25 50 100] [--arrivals 100]
                                    [--profile] [--quick] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import math
import os
import platform
import shlex
import shutil
import struct
import sys
import tempfile
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription  # noqa: E402

from bench.bots import RawListener, RawSpeaker, drain, quiet  # noqa: E402
from bench.fanout_run import (  # noqa: E402
    Target,
    Workers,
    connect_listener,
    connect_listeners,
    dropin_room,
    free_port,
    progress,
    receive,
)
from bench.server_profile import BUCKETS, OTHER, PROFILE_HZ, SPIES, bucket, cpu_by, leaf, spied, spy_on  # noqa: E402
from bench.servers import DropinServer, cpu_seconds, own_cpu_seconds, process_tree, record_section  # noqa: E402
from server.media.aiortc_adapter import ParkedTrack  # noqa: E402
from server.media.link import is_rtp  # noqa: E402
from signaling import messages as m  # noqa: E402
from signaling.client import SignalingClient  # noqa: E402
from signaling.participant import Participant  # noqa: E402
from signaling.voice import voice_packets  # noqa: E402

SIOCGSTAMPNS = 0x8907  # ioctl: the kernel's receive time of the socket's last datagram
GAP_MS = 60
SETTLE_S = 4.0  # after the leaves, before the next quiet window
QUIET_S = (8.0, 20.0)  # the quiet window: as long as the planned arrivals, within these bounds
ARRIVAL_TIMEOUT_S = 30.0  # one arrival's whole join, or it failed
PING_EVERY_S = 0.1
SERVER_NICE, SPEAKERS_NICE = -5, -10  # preferred to the other bots, and to other work on the machine
READ_EVERY_S = 0.025  # how often listener bots read their sockets (the arrival times are the kernel's)
MARK_START, MARK_END = "<!-- churn:start -->", "<!-- churn:end -->"


def ws_url(target: Target) -> str:
    return target.url.replace("http", "ws", 1) + "/ws"


def renice(pid: int, nice: int) -> None:
    """Every thread of `pid` and of its descendants at `nice` (Linux sets it by thread)."""
    for each in process_tree(pid):
        with contextlib.suppress(OSError):  # gone meanwhile
            for task in Path(f"/proc/{each}/task").iterdir():
                os.setpriority(os.PRIO_PROCESS, int(task.name), nice)


def max_gap(times: Sequence[int], a: int, b: int) -> float:
    """The largest gap (ms) between consecutive times, the later in (a, b]; no packet: the window."""
    lo, hi = max(1, bisect_right(times, a)), bisect_right(times, b)
    return max((times[i] - times[i - 1] for i in range(lo, hi)), default=b - a) / 1e6


# Bots (worker processes)


async def speakers_main(target: Target, count: int, conn: Any) -> None:
    """The host and count - 1 invited speakers, talking until told to stop; the host pings."""
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))  # not SCHED_IDLE (run_worker): on time
    os.setpriority(os.PRIO_PROCESS, 0, SPEAKERS_NICE)
    speakers: list[Participant] = []
    async with httpx.AsyncClient(timeout=30) as http:
        for i in range(count):
            token = (await http.post(f"{target.url}/api/identity", json={"name": f"Speaker {i}"})).json()["token"]
            speakers.append(speaker := Participant(ws_url(target), token if i else target.host_token))
            welcome = await speaker.join(target.room)
            await speaker.connect_media(ParkedTrack(), before_offer=quiet)
            if i:  # invited on stage by the host
                await speakers[0].client.request("invite", target=welcome.you.id)
                await speaker.client.request("accept_invite")
                await speaker.client.request("unmute_self")
    bots = [RawSpeaker(s.pc, voice_packets(6.0, seed=i + 1)) for i, s in enumerate(speakers)]
    pings: list[tuple[int, float]] = []  # (sent, round trip ms; 10 s when none came)

    async def ping() -> None:
        while True:
            sent = time.time_ns()
            with contextlib.suppress(TimeoutError):
                await speakers[0].client.request("ping", timeout=10)
            pings.append((sent, (time.time_ns() - sent) / 1e6))
            await asyncio.sleep(max(0.0, PING_EVERY_S - (time.time_ns() - sent) / 1e9))

    tasks = [asyncio.create_task(bot.send(3600)) for bot in bots] + [asyncio.create_task(ping())]
    conn.send(("ready",))
    while (command := await asyncio.to_thread(conn.recv))[0] == "report":
        conn.send(("report", [(percentile([rtt for sent, rtt in pings if a <= sent <= b], 0.99),
                               max(max_gap([at for _, at in bot.sent], a, b) for bot in bots)) for a, b in command[1]]))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*(s.close() for s in speakers), return_exceptions=True)


async def listeners_main(target: Target, indices: list[int], conn: Any) -> None:
    """The listeners already in: connected, then recording each stream's arrival times."""
    listeners: list[RawListener] = []
    closers: list[Callable] = []
    draining, gate = asyncio.create_task(drain(listeners, READ_EVERY_S)), asyncio.Semaphore(8)
    async with httpx.AsyncClient(timeout=30) as http:

        async def one(index: int) -> None:
            try:
                async with gate:
                    pc, close = await connect_listener(target, index, http)
            except Exception as exc:
                return conn.send(("warn", f"listener {index}: {exc!r}"))
            listeners.append(RawListener(pc, stream_times={}))
            listeners[-1].attach()
            closers.append(close)
            conn.send(("connected", 1))

        await asyncio.gather(*(one(i) for i in indices))
    conn.send(("ready", len(listeners)))
    while (command := await asyncio.to_thread(conn.recv))[0] != "stop":
        for listener in listeners:
            (listener.start_recording if command[0] == "record" else listener.stop_recording)()
        if command[0] == "gaps":
            conn.send(("gaps", [[max(max_gap(t, a, b) for t in (listener.stream_times or {0: []}).values())
                                 for a, b in command[1]] for listener in listeners]))
    draining.cancel()
    for listener in listeners:
        listener.detach()
    await asyncio.gather(*(close() for close in closers), return_exceptions=True)


def first_rtp(pc: RTCPeerConnection) -> asyncio.Future[int]:
    """The kernel's receive time (ns) of the first RTP datagram on any of the connection's sockets,
    taken as aiortc is handed it (aiortc reads the sockets as usual)."""
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    protocols = {id(p): p for t in pc.getTransceivers() for p in t.receiver.transport.transport._connection._protocols}
    for protocol in protocols.values():
        fd = protocol.transport.get_extra_info("socket").fileno()
        with contextlib.suppress(OSError):  # the first call turns the stamps on
            fcntl.ioctl(fd, SIOCGSTAMPNS, bytes(16))

        def received(data: bytes, addr: Any, fd: int = fd, receive: Callable = protocol.datagram_received) -> None:
            if not future.done() and is_rtp(data):
                seconds, nanoseconds = struct.unpack("qq", fcntl.ioctl(fd, SIOCGSTAMPNS, bytes(16)))
                future.set_result(seconds * 1_000_000_000 + nanoseconds)
            receive(data, addr)

        protocol.datagram_received = received
    return future


async def arrive(target: Target, token: str, at: int, members: list, listeners: list[RawListener]) -> dict:
    """One new listener, from its websocket to its first audio: its stage times in ms."""
    await asyncio.sleep(max(0.0, (at - time.time_ns()) / 1e9))
    start = time.time_ns()
    marks: dict[str, Any] = {"start": start, "late": (start - at) / 1e6}
    since = lambda: (time.time_ns() - start) / 1e6  # noqa: E731
    members.append(member := [None, None])
    stage = "websocket"
    try:
        async with asyncio.timeout(ARRIVAL_TIMEOUT_S):
            member[0] = client = await SignalingClient.connect(ws_url(target))
            stage = "join"
            welcome = await client.request("join", timeout=ARRIVAL_TIMEOUT_S, room=target.room, token=token,
                                           v=m.PROTOCOL_VERSION)
            marks["joined"], stage = since(), "offer"
            servers = [RTCIceServer(s.urls, s.username, s.credential) for s in welcome.ice_servers]
            member[1] = pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
            pc.addTransceiver("audio", direction="sendonly")
            for _ in range(welcome.slots):
                pc.addTransceiver("audio", direction="recvonly")
            quiet(pc)
            up: asyncio.Future[str] = asyncio.get_running_loop().create_future()

            @pc.on("connectionstatechange")
            def _state() -> None:
                if not up.done() and pc.connectionState in ("connected", "failed", "closed"):
                    up.set_result(pc.connectionState)
            await pc.setLocalDescription(await pc.createOffer())
            first = first_rtp(pc)
            answer = await client.request("offer", timeout=ARRIVAL_TIMEOUT_S, sdp=pc.localDescription.sdp)
            marks["answer"], stage = since(), "ICE/DTLS"
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
            if (state := await up) != "connected":
                raise ConnectionError(state)
            marks["connected"], stage = since(), "first audio"
            marks["audio"] = (await first - start) / 1e6
    except Exception as exc:
        return marks | {"failed": f"{stage}: {type(exc).__name__}"}
    listeners.append(RawListener(pc))  # from here its packets are read off its sockets, not decoded
    listeners[-1].attach()
    return marks


async def arrivals_main(target: Target, conn: Any) -> None:
    """Arrivals on command; they stay until told to leave (`leave`, then close)."""
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))  # not starved by other work on the machine
    listeners: list[RawListener] = []
    members: list[list[Any]] = []
    draining = asyncio.create_task(drain(listeners, READ_EVERY_S))
    conn.send(("ready",))
    while (command := await asyncio.to_thread(conn.recv))[0] == "arrive":
        arrivals = [arrive(target, token, at, members, listeners) for at, token in command[1]]
        conn.send(("arrived", await asyncio.gather(*arrivals)))
        if (await asyncio.to_thread(conn.recv))[0] != "leave":
            break
        for listener in listeners:
            listener.drain()  # what has come since the last read
        conn.send(("left", sum(listener.packets == 0 for listener in listeners)))  # silent ones
        await leave(listeners, members)
    draining.cancel()
    await leave(listeners, members)


async def leave(listeners: list[RawListener], members: list[list[Any]]) -> None:
    async def one(client: SignalingClient | None, pc: RTCPeerConnection | None) -> None:
        if client:
            with contextlib.suppress(Exception):
                await client.request("leave", timeout=10)
        await asyncio.gather(*(x.close() for x in (client, pc) if x), return_exceptions=True)

    for listener in listeners:
        listener.detach()
    await asyncio.gather(*(one(*member) for member in members), return_exceptions=True)
    listeners.clear(), members.clear()


# The orchestrator


def snapshot(pid: int) -> tuple[int, float, float, float]:
    """Now (ns); CPU seconds of the server's tree, of its Redis (its children), of the bots."""
    tree = cpu_seconds(pid)
    return time.time_ns(), tree, sum(own_cpu_seconds(p) for p in process_tree(pid)[1:]), cpu_seconds(os.getpid()) - tree


async def one_rate(rate: float, tokens: list[str], pid: int, speakers: Any, listeners: list, arrivers: list,
                   profiles: Path | None) -> dict[str, Any]:
    count, row = len(tokens), dict[str, Any](rate=rate, count=len(tokens))
    for pipe in listeners:
        pipe.send(("record",))
    spy = await spy_on(pid, profiles / f"quiet-{rate:g}.txt") if profiles else None
    q0 = snapshot(pid)
    await asyncio.sleep(min(QUIET_S[1], max(QUIET_S[0], count / rate)))
    q1 = snapshot(pid)
    idle = spied(spy, profiles / f"quiet-{rate:g}.txt") if spy and profiles else None
    spy = await spy_on(pid, profiles / f"arriving-{rate:g}.txt") if profiles else None
    s0, first_at = snapshot(pid), time.time_ns() + 300_000_000
    plan = [(first_at + round(i * 1e9 / rate), token) for i, token in enumerate(tokens)]
    for w, pipe in enumerate(arrivers):
        pipe.send(("arrive", plan[w::len(arrivers)]))
    await asyncio.sleep((first_at - time.time_ns()) / 1e9)
    a0 = snapshot(pid)
    progress(f"[{rate:g}/s] {count} arriving")
    row["results"] = [r for pipe in arrivers for r in (await receive(pipe, count / rate + ARRIVAL_TIMEOUT_S + 60))[1]]
    a1 = snapshot(pid)
    if spy and idle and profiles:
        busy, row["spy_cores"] = spied(spy, profiles / f"arriving-{rate:g}.txt")
        busy_s, idle_s = (a1[0] - s0[0]) / 1e9, (q1[0] - q0[0]) / 1e9
        own = lambda a, b: (b[1] - b[2]) - (a[1] - a[2])  # noqa: E731  the server process's own CPU seconds
        row["spy_cores"] /= busy_s
        row["coverage"] = sum(busy.values()) / PROFILE_HZ / own(s0, a1)
        for name, key in (("buckets", bucket), ("leaves", leaf)):
            b, i = cpu_by(busy, key, own(s0, a1)), cpu_by(idle[0], key, own(q0, q1))
            row[name] = {k: (b[k] - i[k] * busy_s / idle_s) / count * 1e3 for k in set(b) | set(i)}
    row["window"], row["quiet"] = (a1[0] - a0[0]) / 1e9, (q1[0] - q0[0]) / 1e9
    row["cpu"] = [((a1[f] - a0[f]) - (q1[f] - q0[f]) * row["window"] / row["quiet"]) / count * 1e3 for f in (1, 2, 3)]
    row["cores"] = [(a1[f] - a0[f]) / row["window"] for f in (1, 3)] + [(q1[f] - q0[f]) / row["quiet"] for f in (1, 3)]
    windows = [(max(q0[0], q1[0] - (a1[0] - a0[0])), q1[0]), (a0[0], a1[0])]
    for pipe in listeners:
        pipe.send(("gaps", windows))
    row["gaps"] = [g for pipe in listeners for g in (await receive(pipe, 120))[1]]
    speakers.send(("report", windows))
    row["speakers"] = (await receive(speakers, 60))[1]
    for pipe in arrivers:
        pipe.send(("leave",))
    row["silent"] = sum([(await receive(pipe, 120))[1] for pipe in arrivers])
    return row


async def run(args: argparse.Namespace, profiles: Path | None) -> list[dict[str, Any]]:
    log = Path(tempfile.gettempdir()) / "dropin-churn-server.log"
    log.write_text("")
    print(f"server log: {log}" + (f"; profiles in {profiles}" if profiles else ""), file=sys.stderr)
    with DropinServer(free_port(), log=log) as server:
        renice(server.pid, SERVER_NICE)
        target = await dropin_room(server)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            tokens = [(await http.post("/api/identity", json={"name": f"Arrival {i}"})).json()["token"]
                      for i in range(len(args.rates) * args.arrivals)]
        workers = Workers()
        try:
            speakers = workers.spawn(speakers_main, target, args.speakers)
            await receive(speakers, 180)
            processes = math.ceil(args.listeners / 100)
            listeners = [workers.spawn(listeners_main, target, list(range(args.listeners))[w::processes])
                         for w in range(processes)]
            connected, warnings = await connect_listeners("[churn]", listeners, args.listeners, 300)
            if connected < args.listeners:
                raise SystemExit(f"\nonly {connected} of {args.listeners} listeners in: " + "; ".join(warnings[:3]))
            arrivers = [workers.spawn(arrivals_main, target) for _ in range(args.arrival_workers)]
            for pipe in arrivers:
                await receive(pipe, 60)
            rows = []
            for i, rate in enumerate(args.rates):
                progress(f"[{rate:g}/s] settling, then a quiet window")
                await asyncio.sleep(SETTLE_S)
                row = await one_rate(rate, tokens[i * args.arrivals:(i + 1) * args.arrivals], server.pid, speakers,
                                     listeners, arrivers, profiles)
                if not any("audio" in r for r in row["results"]):
                    failed = Counter(r["failed"] for r in row["results"])
                    raise SystemExit(f"\nno arrival at {rate:g}/s heard anything: {dict(failed)}")
                rows.append(row)
                progress("")
                print(table([row]).splitlines()[-1], flush=True)
            return rows
        finally:
            for spy in SPIES:
                spy.kill()
            for pipe in workers.pipes:
                with contextlib.suppress(OSError):
                    pipe.send(("stop",))
            workers.stop()


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan


def ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| arrivals / s | heard (failed) | ws open → first audio p50 / p99 / max | p50 to joined / answer / connected "
        "| listeners in: largest gap, arriving vs quiet (> 60 ms) | speaker bots' largest send gap, arriving vs "
        "quiet | host ping p99, arriving vs quiet | server CPU per join (Redis) | bots' CPU per join | cores busy, "
        "server / bots: arriving (quiet) | window (quiet compared) | bots' rate reached (start lag max) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        results = row["results"]
        heard = [r["audio"] for r in results if "audio" in r]
        failed = Counter(r["failed"] for r in results if "failed" in r) + Counter(silent=row["silent"])
        stages = " / ".join(ms(percentile([r[k] for r in results if k in r], 0.5)) for k in ("joined", "answer",
                                                                                              "connected"))
        quiet_gaps, busy_gaps = [g[0] for g in row["gaps"]], [g[1] for g in row["gaps"]]
        (quiet_ping, quiet_send), (busy_ping, busy_send) = row["speakers"]
        starts = sorted(r["start"] for r in results)
        reached = (len(starts) - 1) / max(1e-9, (starts[-1] - starts[0]) / 1e9)
        c = row["cores"]
        lines.append(
            f"| {row['rate']:g} | {len(heard)} of {row['count']} "
            f"({', '.join(f'{k} × {n}' for k, n in failed.items() if n) or 0}) | {ms(percentile(heard, 0.5))} / "
            f"{ms(percentile(heard, 0.99))} / {ms(max(heard, default=math.nan))} | {stages} "
            f"| {ms(max(busy_gaps))} ({sum(g > GAP_MS for g in busy_gaps)} of {len(busy_gaps)}) vs "
            f"{ms(max(quiet_gaps))} ({sum(g > GAP_MS for g in quiet_gaps)}) | {ms(busy_send)} vs {ms(quiet_send)} "
            f"| {ms(busy_ping)} vs {ms(quiet_ping)} | {row['cpu'][0]:.1f} ms ({row['cpu'][1]:.1f}) "
            f"| {row['cpu'][2]:.1f} ms | {c[0]:.2f} / {c[1]:.2f} ({c[2]:.2f} / {c[3]:.2f}) | {row['window']:.1f} s "
            f"({min(row['window'], row['quiet']):.1f} s) | {reached:.0f} / s ({ms(max(r['late'] for r in results))}) |"
        )
    return "\n".join(lines) + "\n"


def breakdown(rows: list[dict[str, Any]]) -> str:
    if not (rows := [row for row in rows if "buckets" in row]):
        return ""
    cells = lambda values: " | ".join(values) + " |"  # noqa: E731
    lines = ["| server CPU per join, ms | " + cells(f"{row['rate']:g} / s" for row in rows),
             "| --- |" + " ---: |" * len(rows)]
    for name in [b for b, _ in BUCKETS] + [OTHER]:
        lines.append(f"| {name} | " + cells(f"{row['buckets'].get(name, 0):.1f}" for row in rows))
    lines.append("| redis-server's own process | " + cells(f"{row['cpu'][1]:.1f}" for row in rows))
    lines.append("| **server process tree** | " + cells(f"**{row['cpu'][0]:.1f}**" for row in rows))
    lines.append("\nLargest self time per join, ms (leaf frames, less quiet); py-spy's samples over the server "
                 "process's CPU time; py-spy's own CPU (counted with the bots):\n")
    for row in rows:
        top = sorted(row["leaves"].items(), key=lambda kv: -kv[1])[:6]
        lines.append(f"- {row['rate']:g} / s: " + ", ".join(f"`{name}` {value:.1f}" for name, value in top)
                     + f"; samples {row['coverage']:.2f}× CPU; py-spy {row['spy_cores']:.2f} of a core")
    return "\n".join(lines) + "\n"


def write_docs(rows: list[dict[str, Any]], args: argparse.Namespace, command: str) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    section = (
        f"{MARK_START}\n## Churn: listeners arriving at a steady rate ({time.strftime('%Y-%m-%d')})\n\n`{command}` "
        f"on {machine}, bots on the same machine, which other work shares: compare figures of one run. One node "
        f"and its Redis; {args.speakers} speaker bots (the host first) talk to {args.listeners} listener bots "
        f"already in; at each rate {args.arrivals} new listeners (from {args.arrival_workers} bot processes) open "
        "a websocket, `join`, make a peer connection, `offer` and connect (ICE, DTLS), and leave before the next "
        "rate. *ws open → first audio*: to the kernel's receive time of the arrival's first RTP packet; *failed* "
        f"by stage ({ARRIVAL_TIMEOUT_S:.0f} s each); *silent*: connected, no packet decrypted. The window: from the "
        "first arrival to the last one's end; a quiet window (same room) comes just before. Gaps: the largest "
        "between consecutive packets of one stream at each listener already in (kernel receive times), against "
        "as long an end of the quiet window; the speaker bots' send gaps beside them. The host's `ping` runs every "
        f"{PING_EVERY_S * 1000:.0f} ms. CPU per join: the server's process tree (its Redis alone in brackets) over "
        "the window less the quiet rate over as long, over the arrivals; the bots' (this benchmark and all it "
        "started but the server, py-spy too) the same way. Arrivals stay through the window, so their forwarding "
        "counts in their join. The server and its Redis run at nice "
        f"{SERVER_NICE}, the speakers at {SPEAKERS_NICE} (preferred to the other bots and to other work on the "
        "machine), the arrivals at 0, the listeners as SCHED_IDLE. The start lag shows where the arrival bots "
        "could not keep the rate.\n\n" + table(rows)
        + ("\nServer CPU per join by what it was doing (`--profile`: py-spy, not pausing the server, at "
           f"{PROFILE_HZ} Hz over both windows; each window's process CPU from /proc shared out in proportion to "
           "the samples, less the quiet; a sample goes to the first bucket one of its frames matches, from the "
           "leaf up to the event loop, so C code counts in its Python caller):\n\n" + breakdown(rows)
           if any("buckets" in row for row in rows) else "")
        + MARK_END
    )
    record_section(MARK_START, MARK_END, section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=int, default=100, help="listeners already in")
    parser.add_argument("--speakers", type=int, default=3)
    parser.add_argument("--rates", type=float, nargs="+", default=[10, 25, 50, 100], help="arrivals a second")
    parser.add_argument("--arrivals", type=int, default=100, help="new listeners at each rate")
    parser.add_argument("--arrival-workers", type=int, default=2, help="bot processes the arrivals come from")
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy (pip install py-spy)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20 listeners, 10 and 25 / s, 20 arrivals")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    if args.quick:
        args.listeners, args.rates, args.arrivals = 20, [10, 25], 20
    if args.profile and not (shutil.which("py-spy") or (Path(sys.executable).parent / "py-spy").exists()):
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    profiles = Path(tempfile.mkdtemp(prefix="dropin-churn-profile-")) if args.profile else None
    print(table([]), end="", flush=True)
    rows = asyncio.run(run(args, profiles))
    print("\n" + table(rows) + "\n" + breakdown(rows))
    if not args.no_write:
        write_docs(rows, args, shlex.join([os.path.relpath(sys.executable), *sys.argv]))


if __name__ == "__main__":
    main()
