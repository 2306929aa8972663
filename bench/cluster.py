"""Cluster: what a room spread over W worker nodes on one port costs, against one node.

For each configuration, one run each (interleaved with --repeat): one node (`dropin serve`,
DROPIN_WORKERS=1) as the baseline, then DROPIN_WORKERS=W. Each start is a fresh `dropin serve`
with its own private Redis (a temporary --data-dir); we wait until GET /api/nodes lists W alive
nodes. Then, as in bench/fanout.py (whose bots, in bench/fanout_run.py, this reuses): a room
with `--speakers` slots; the host (a speaker bot) joins first and opens the room's media, so the room's origin is placed
then (on the host's node, or on a less loaded one: server/cluster/placement.py); the other
speakers join and are invited on stage; L listener bots (spread over bot processes) connect
through the shared port, landing on whichever worker the kernel hands each connection to. The
speakers talk for `--seconds`, and we report:

- members per node (GET /api/nodes `members`, speakers included); the origin, read from the
  room's hash in the server's Redis, is marked *;
- delivery: packets the listeners received / (packets sent × listeners);
- server CPU per delivered packet: user + system time of the server's whole process tree
  (uvicorn's supervisor, the workers, redis-server) over the talking time, divided by the
  packets the listeners received; and that CPU split into each node, Redis and the rest;
- the relay (GET /api/media `relay` and `relayed_up`, read from each node over the talking
  time): datagrams sent + received between the nodes, and their share of the tree's datagram
  I/O (the speakers' packets in + the packets delivered + relay sent + relay received);
- latency (speaker bot's send to the kernel's receive time at the last listener bot), RSS of
  each node and of the whole tree, and what the server logged (errors and warnings).

Every HTTP request lands on whichever worker accepts its connection, so a node is read through
a kept-alive connection: GET /api/nodes tells which node answered (`you`), /api/media on the
same connection is then that node's, and /api/nodes again confirms it. Connections are opened
until every node has answered (or the tries run out: the relay figures then cover the nodes that
answered, and the notes say so).

The ratio printed (and recorded) per listener count: CPU per delivered packet with W workers
over that of one node. Bots run on this machine, as SCHED_IDLE processes (bench/fanout.py).
The server's log goes to $TMPDIR/dropin-cluster-server.log. Writes its section to
docs/benchmarks.md unless --no-write.

    .venv/bin/python bench/cluster.py [--listeners 400] [--workers 2] [--speakers 3] [--seconds 8]
                                      [--repeat 1] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import math
import os
import platform
import shlex
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import redis  # noqa: E402

from bench.burst import raise_file_limit  # noqa: E402
from bench.fanout_run import (  # noqa: E402
    DRAIN_S,
    Target,
    Workers,
    connect_listeners,
    free_port,
    latency,
    listener_worker_main,
    numbers,
    progress,
    receive,
    speaker_worker_main,
)
from bench.servers import (  # noqa: E402
    DropinServer,
    cpu_seconds,
    kill_leftovers,
    own_cpu_seconds,
    own_rss_bytes,
    process_tree,
    record_section,
    rss_bytes,
    start_time,
)
from server.state import keys  # noqa: E402
from signaling.messages import MAX_SLOTS  # noqa: E402

MARK_START, MARK_END = "<!-- cluster:start -->", "<!-- cluster:end -->"
LISTENERS_PER_BOT = (25, 400)  # a listener bot process gets at least (while cores last) and at most this many
HEARTBEAT_WAIT_S = 2.5  # nodes report their members every 2 s
PROBE_ROUNDS = 25  # rounds of connections opened to reach every node
LOG = Path(tempfile.gettempdir()) / "dropin-cluster-server.log"

_running: dict[int, int | None] = {}  # processes of servers started and not yet stopped: pid -> start time


@dataclass
class Node:
    """One node over the talking time."""

    id: str
    pid: int
    origin: bool
    members: int
    cpu_s: float
    rss: int
    media: dict[str, int] | None = None  # the differences of its /api/media figures, if it could be read

    def relay(self, name: str) -> int:
        return self.media[name] if self.media is not None else 0


@dataclass
class Row:
    workers: int
    speakers: int
    listeners: int
    connected: int
    sent: int
    delivered: int
    cpu_s: float  # the server's whole tree over the talking time
    redis_cpu_s: float
    other_cpu_s: float  # the tree less its nodes and Redis: uvicorn's supervisor
    latency_ms: tuple[float, float] | None
    nodes: list[Node]
    rss: int
    log: list[str] = field(default_factory=list)  # errors and warnings the server logged in this run

    @property
    def delivery(self) -> float:
        return self.delivered / max(1, self.sent * self.connected)

    @property
    def us_per_packet(self) -> float:
        return self.cpu_s / max(1, self.delivered) * 1e6

    @property
    def reached(self) -> list[Node]:
        return [node for node in self.nodes if node.media is not None]

    @property
    def relay_io(self) -> int | None:
        """Relay datagrams sent + received, summed over the nodes (each datagram counts twice: once
        where it is sent, once where it is received). Every relay datagram goes between the origin
        and an edge, so where not every node answered, twice the origin's figures (or, without
        the origin, twice those of every edge) stand in; None if neither was read."""
        if self.workers == 1:
            return 0
        if len(self.reached) == len(self.nodes):
            return sum(node.relay("sent") + node.relay("received") for node in self.nodes)
        origin = next((node for node in self.reached if node.origin), None)
        if origin is not None:
            return 2 * (origin.relay("sent") + origin.relay("received"))
        if len(self.reached) == len(self.nodes) - 1:  # every edge, no origin
            return 2 * sum(node.relay("sent") + node.relay("received") for node in self.reached)
        return None

    @property
    def relay_share(self) -> float | None:
        """The relay's share of the tree's datagram I/O: speakers' packets in, packets out to
        listeners, relay datagrams out and in."""
        io = self.relay_io
        if io is None:
            return None
        return io / max(1, io + self.sent + self.delivered)

    @property
    def speakers_on_edges(self) -> float | None:
        """How many speakers' packets went up to the origin (relayed_up over one speaker's packets)."""
        if self.workers == 1:
            return 0
        if len(self.reached) < len(self.nodes):
            return None
        return sum(node.relay("relayed_up") for node in self.nodes) / max(1, self.sent / self.speakers)


# The server


def cleanup_leftovers() -> None:
    """At exit: whatever is left of a server this process started (it should all be gone)."""
    killed = kill_leftovers(_running)
    _running.clear()
    if killed:
        print(f"killed leftover server processes {killed}", file=sys.stderr)


@contextlib.contextmanager
def cluster_server(workers: int) -> Iterator[DropinServer]:
    """`dropin serve` with DROPIN_WORKERS=`workers`, its own Redis and its output in LOG; when
    done, stopped, and any process of its tree still running is killed."""
    server = DropinServer(free_port(), env={"DROPIN_WORKERS": str(workers)}, log=LOG)
    server.__enter__()
    try:
        yield server
    finally:
        started = {pid: start_time(pid) for pid in process_tree(server.pid)}
        _running.update(started)
        server.__exit__()
        killed = kill_leftovers(started, grace_s=5.0)
        for pid in started:
            _running.pop(pid, None)
        if killed:
            print(f"\n  server processes {killed} outlived the server: killed", file=sys.stderr)


def remember_tree(server: DropinServer) -> None:
    _running.update({pid: start_time(pid) for pid in process_tree(server.pid)})


async def alive_nodes(http: httpx.AsyncClient, want: int, timeout: float) -> list[dict[str, Any]]:
    """Wait until /api/nodes lists `want` alive nodes; returns them."""
    deadline = time.monotonic() + timeout
    nodes: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            nodes = [node for node in (await http.get("/api/nodes")).json()["nodes"] if node["alive"]]
        except httpx.HTTPError:
            nodes = []
        if len(nodes) >= want:
            return nodes
        await asyncio.sleep(0.3)
    raise SystemExit(f"only {len(nodes)} of {want} nodes came up within {timeout:.0f} s (see {LOG})")


async def answering(http: httpx.AsyncClient) -> str:
    """The id of the node that answered on this client's (one) connection."""
    nodes = (await http.get("/api/nodes")).json()["nodes"]
    return next(node["id"] for node in nodes if node["you"])


async def media_by_node(url: str, ids: set[str]) -> dict[str, dict[str, Any]]:
    """GET /api/media from each node in `ids` that can be reached: over connections opened
    until each node has answered one (or PROBE_ROUNDS rounds have passed)."""
    found: dict[str, dict[str, Any]] = {}

    async def probe() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as http:
            node = await answering(http)
            if node in found:
                return
            media = (await http.get("/api/media")).json()
            if await answering(http) == node:  # still the same connection, so the same node answered
                found.setdefault(node, media)

    for _ in range(PROBE_ROUNDS):
        results = await asyncio.gather(*(probe() for _ in range(2 * len(ids))), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors and not found:
            raise SystemExit(f"GET /api/media failed: {errors[0]!r}")
        if ids <= found.keys():
            break
    return found


def media_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    figures = {name: after[name] - before[name] for name in ("received", "forwarded", "delivered", "relayed_up")}
    figures |= {name: after["relay"][name] - before["relay"][name] for name in ("sent", "received", "rejected")}
    return figures


def origin_of(server: DropinServer, room: str) -> str | None:
    """The room's origin node, from the server's private Redis."""
    client = redis.Redis(unix_socket_path=str(server.data_dir / "redis" / "redis.sock"), decode_responses=True)
    try:
        return client.hget(keys.room(room), "origin")
    finally:
        client.close()


def log_problems(offset: int) -> list[str]:
    """Errors, warnings and tracebacks the server logged after `offset` in LOG."""
    with LOG.open("rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    return [line for line in text.splitlines() if any(word in line for word in ("ERROR", "WARNING", "CRITICAL",
                                                                                  "Traceback", "Error"))]


# One run


class Bots(Workers):
    """bench/fanout_run.py's bot processes, which can also be killed at once (on an error, or when
    this process is stopped, rather than waiting for bots that wait for a command)."""

    def kill(self) -> None:
        for process in self._processes:
            if process.is_alive():
                process.kill()
        for process in self._processes:
            process.join(timeout=5)


def bot_processes(listeners: int) -> int:
    """Listener bot processes: one per core, each with at least LISTENERS_PER_BOT[0], and more than
    one per core where each would otherwise get over LISTENERS_PER_BOT[1]."""
    least, most = LISTENERS_PER_BOT
    cores = os.cpu_count() or 2
    return max(1, min(max(2, cores), math.ceil(listeners / least)), math.ceil(listeners / most))


async def run_one(workers: int, speakers: int, listeners: int, seconds: float, connect_s: float) -> Row:
    label = f"[{workers} worker{'s' if workers > 1 else ''}, L={listeners}]"
    with LOG.open("a") as log:
        log.write(f"\n=== {time.strftime('%H:%M:%S')} {label} ===\n")
    offset = LOG.stat().st_size
    progress(f"{label} starting the server")
    with cluster_server(workers) as server:
        remember_tree(server)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            await alive_nodes(http, workers, 30 + 3 * workers)
            remember_tree(server)
            token = (await http.post("/api/identity", json={"name": "Host"})).json()["token"]
            created = await http.post("/api/rooms", json={"title": "Cluster", "settings": {"slots": speakers}},
                                      headers={"Authorization": f"Bearer {token}"})
            room = created.raise_for_status().json()["id"]
        target = Target("dropin", server.url, room=room, host_token=token)
        row = await measure(label, server, workers, target, speakers, listeners, seconds, connect_s)
    row.log = log_problems(offset)
    return row


async def measure(label: str, server: DropinServer, workers: int, target: Target, speakers: int, listeners: int,
                  seconds: float, connect_s: float) -> Row:
    """Speakers on stage, listeners connected; talk for `seconds`, collect."""
    bots = Bots()
    try:
        progress(f"{label} speakers joining")
        speaker_pipe = bots.spawn(speaker_worker_main, target, speakers, seconds)
        await receive(speaker_pipe, 120)
        count = bot_processes(listeners)
        chunks = [list(range(listeners))[w::count] for w in range(count)]
        pipes = [bots.spawn(listener_worker_main, target, chunk) for chunk in chunks if chunk]
        _, warnings = await connect_listeners(label, pipes, listeners, connect_s)
        for warning in warnings[:3]:
            print(f"\n  {warning}", file=sys.stderr)
        await asyncio.sleep(HEARTBEAT_WAIT_S)  # the joins settle, and every node has reported its members
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            listed = {node["id"]: node for node in await alive_nodes(http, workers, 10)}
        origin = origin_of(server, target.room)
        before = await media_by_node(server.url, set(listed))
        tree = process_tree(server.pid)
        remember_tree(server)
        redis_pids = [pid for pid in tree if comm(pid) == "redis-server"]
        for pipe in pipes:
            pipe.send("start")
        await asyncio.sleep(0.2)
        own_before = {pid: own_cpu_seconds(pid) for pid in tree}
        cpu_before = cpu_seconds(server.pid)
        speaker_pipe.send("start")
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            progress(f"{label} speaking {time.monotonic() - started:4.1f}/{seconds:.0f} s")
            await asyncio.sleep(0.5)
        _, sent_logs, unique = await receive(speaker_pipe, 60)
        await asyncio.sleep(DRAIN_S)
        cpu = cpu_seconds(server.pid) - cpu_before
        own = {pid: own_cpu_seconds(pid) - own_before.get(pid, 0.0) for pid in process_tree(server.pid)}
        rss = rss_bytes(server.pid)
        node_rss = {node["pid"]: own_rss_bytes(node["pid"]) for node in listed.values()}
        after = await media_by_node(server.url, set(listed))
        for pipe in pipes:
            pipe.send("stop")
        results = []
        for pipe in pipes:
            _, listener_results = await receive(pipe, 60)
            results.extend(listener_results)
        speaker_pipe.send("stop")
        progress("")
    except BaseException:
        bots.kill()
        raise
    finally:
        bots.stop()
    nodes = [
        Node(id=node_id, pid=node["pid"], origin=node_id == origin, members=node["members"],
             cpu_s=own.get(node["pid"], 0.0), rss=node_rss[node["pid"]],
             media=media_delta(before[node_id], after[node_id]) if node_id in before and node_id in after else None)
        for node_id, node in sorted(listed.items(), key=lambda item: item[1]["id"] != origin)
    ]
    redis_cpu = sum(own.get(pid, 0.0) for pid in redis_pids)
    sent = sum(len(log) for log in sent_logs)
    return Row(
        workers=workers, speakers=speakers, listeners=listeners, connected=len(results), sent=sent,
        delivered=sum(packets for packets, _ in results), cpu_s=cpu, redis_cpu_s=redis_cpu,
        other_cpu_s=max(0.0, cpu - redis_cpu - sum(node.cpu_s for node in nodes)),
        latency_ms=latency(sent_logs, [arrivals for _, arrivals in results], unique), nodes=nodes, rss=rss,
    )


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


# Reporting


def table(rows: list[Row]) -> str:
    lines = [
        "| workers | listeners | members per node (* origin) | packets sent | delivered | CPU µs / delivered packet "
        "| CPU s: nodes + Redis + rest | relay datagrams sent + received (share of datagram I/O) "
        "| speakers on edges | latency p50 / p99 | RSS per node | server RSS | server log |",
        "| ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for row in rows:
        members = " / ".join(f"{node.members}{'*' if node.origin else ''}" for node in row.nodes)
        listeners = (f"{row.listeners}" if row.connected == row.listeners
                     else f"{row.listeners} ({row.connected} connected)")
        cpu = (" / ".join(f"{node.cpu_s:.2f}" for node in row.nodes)
               + f" + {row.redis_cpu_s:.2f} + {row.other_cpu_s:.2f}")
        io, share = row.relay_io, row.relay_share
        if row.workers == 1:
            relay = "–"
        elif io is None or share is None:
            relay = "not read"
        else:
            rejected = sum(node.relay("rejected") for node in row.reached)
            relay = f"{io} ({share:.1%})" + (f", **{rejected} rejected**" if rejected else "")
            if len(row.reached) < len(row.nodes):
                relay += f" from {len(row.reached)} of {len(row.nodes)} nodes"
        edges = row.speakers_on_edges
        on_edges = "–" if row.workers == 1 else ("?" if edges is None else f"{edges:.1f}")
        lat = f"{row.latency_ms[0]:.1f} / {row.latency_ms[1]:.1f} ms" if row.latency_ms else "n/a"
        rss = " / ".join(f"{node.rss / 2**20:.0f}" for node in row.nodes) + " MB"
        errors = sum("ERROR" in line or "CRITICAL" in line or "Traceback" in line for line in row.log)
        log = "clean" if not row.log else f"**{errors} errors, {len(row.log) - errors} warnings**"
        delivery = f"{row.delivery:.2%}" if row.delivery >= 0.995 else f"**{row.delivery:.2%}**"
        lines.append(
            f"| {row.workers} | {listeners} | {members} | {row.sent} | {delivery} | {row.us_per_packet:.1f} "
            f"| {cpu} | {relay} | {on_edges} | {lat} | {rss} | {row.rss / 2**20:.0f} MB | {log} |"
        )
    return "\n".join(lines) + "\n"


def medians(rows: list[Row]) -> list[Row]:
    """Per worker count and listener count, the run with the median CPU per delivered packet."""
    groups: dict[tuple[int, int], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.listeners, row.workers), []).append(row)
    return [sorted(group, key=lambda r: r.us_per_packet)[(len(group) - 1) // 2]
            for _, group in sorted(groups.items())]


def ratios(rows: list[Row], workers: int) -> str:
    """CPU per delivered packet with `workers` workers over one node's, per listener count."""
    lines = []
    for listeners in sorted({row.listeners for row in rows}):
        one = [row.us_per_packet for row in rows if row.workers == 1 and row.listeners == listeners]
        many = [row.us_per_packet for row in rows if row.workers == workers and row.listeners == listeners]
        if not one or not many:
            continue
        each = ", ".join(f"{b / a:.2f}" for a, b in zip(one, many))
        lines.append(f"- {listeners} listeners: one node {statistics.median(one):.1f} µs, {workers} workers "
                     f"{statistics.median(many):.1f} µs per delivered packet: CPU per delivered packet, "
                     f"{workers} workers / one node = **{statistics.median(many) / statistics.median(one):.2f}×** "
                     f"(each run: {each})")
    return "\n".join(lines) + ("\n" if lines else "")


def notes(rows: list[Row]) -> str:
    """What the figures rest on, and anything that went wrong."""
    lines = []
    clustered = [row for row in rows if row.workers > 1]
    partial = [row for row in clustered if len(row.reached) < len(row.nodes)]
    if clustered and not partial:
        lines.append("- Relay figures: every node's own `GET /api/media`, each read over a kept-alive "
                     "connection that `GET /api/nodes` showed that node answering (`you`), before and after "
                     "the talking.")
    for row in partial:
        missing = len(row.nodes) - len(row.reached)
        lines.append(f"- {row.workers} workers, {row.listeners} listeners: {missing} of {len(row.nodes)} nodes never "
                     f"answered one of the connections opened to read their `/api/media`; the relay figure "
                     "stands on the others (twice the origin's sent + received, when the origin answered: "
                     "every relay datagram goes between the origin and an edge).")
    for row in clustered:
        edges = row.speakers_on_edges
        if edges is not None and edges > row.speakers - 0.5:
            lines.append(f"- {row.workers} workers, {row.listeners} listeners: none of the {row.speakers} speakers "
                         "(the host included) was on the origin's node: placement put the room on another, "
                         "less loaded node, so every speaker's packets went up the relay.")
    low = [row for row in rows if row.delivery < 0.995]
    for row in low:
        lines.append(f"- **Delivery {row.delivery:.2%}** with {row.workers} worker(s), {row.listeners} listeners.")
    for row in rows:
        if row.connected < row.listeners:
            lines.append(f"- {row.workers} worker(s): {row.connected} of {row.listeners} listeners connected.")
        if row.log:
            shown = "; ".join(f"`{line.strip()[:160]}`" for line in row.log[:3])
            lines.append(f"- Server log, {row.workers} worker(s), {row.listeners} listeners: {len(row.log)} "
                         f"error/warning lines, e.g. {shown}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_docs(rows: list[Row], command: str, workers: int, repeat: int) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    runs = f"Each configuration ran {repeat} times, interleaved; the table shows the median run. " if repeat > 1 else ""
    section = (
        f"{MARK_START}\n## Cluster: one room over {workers} workers on one port ({time.strftime('%Y-%m-%d')})\n\n"
        f"`{command}` on {machine}, bots on the same machine (listener bots in "
        f"{', '.join(sorted({str(bot_processes(row.listeners)) for row in rows}))} processes). Each row is a fresh "
        "`dropin serve` with its own Redis: one node (`DROPIN_WORKERS=1`), then "
        f"`DROPIN_WORKERS={workers}` (uvicorn's supervisor, one shared port). The host, a speaker bot, joins "
        "first and opens the room's media, which places the room's origin (marked *, read from the room's hash "
        "in Redis): on the host's node or a less loaded one. The other speakers and the listeners land on "
        "whichever worker the kernel hands their connection to (members per node from `GET /api/nodes`, "
        "speakers included). CPU is the server's whole process tree (supervisor, workers, redis-server) over "
        "the talking time, divided by the packets the listeners received; next to it, that CPU by node (origin "
        "first), Redis and the rest (the supervisor). The relay column adds up every node's relay datagrams "
        "sent and received (`GET /api/media`, read from each node over the talking time), and in brackets "
        "their share of the tree's datagram I/O (speakers' packets in, packets delivered, relay out and in); "
        "`speakers on edges` is the speakers' packets relayed up to the origin over one speaker's packets. "
        "Latency is from the speaker bot's send to the kernel's receive time at the last listener. RSS per "
        "node is each worker's own; server RSS is the whole tree. The server log is checked for errors and "
        "warnings." + (" " + runs).rstrip() + "\n\n"
        + table(medians(rows)) + "\n" + ratios(rows, workers) + notes(rows) + MARK_END
    )
    record_section(MARK_START, MARK_END, section)


async def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    for _ in range(args.repeat):  # interleaved, so the machine's mood touches each configuration alike
        for listeners in args.listeners:
            for workers in (1, args.workers):
                connect_s = args.connect_timeout or 120 + 0.5 * listeners
                row = await run_one(workers, args.speakers, listeners, args.seconds, connect_s)
                rows.append(row)
                print(table([row]).splitlines()[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=numbers, default=[400], help="comma-separated listener counts")
    parser.add_argument("--workers", type=int, default=2, help="worker nodes to set against one node")
    parser.add_argument("--speakers", type=int, default=3, help=f"speakers on stage (and slots, at most {MAX_SLOTS})")
    parser.add_argument("--seconds", type=float, default=8.0, help="talking time per run")
    parser.add_argument("--repeat", type=int, default=1, help="runs of every configuration; medians are reported")
    parser.add_argument("--connect-timeout", type=float, default=0.0,
                        help="seconds the listeners may take to connect (default 120 + 0.5 per listener)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    if not 1 <= args.speakers <= MAX_SLOTS or args.workers < 2 or args.repeat < 1 or not args.listeners:
        parser.error(f"--speakers 1..{MAX_SLOTS}, --workers at least 2, --repeat at least 1, some --listeners")
    raise_file_limit()
    atexit.register(cleanup_leftovers)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the servers are stopped on the way out
    LOG.write_text("")
    print(f"server log: {LOG}", file=sys.stderr)
    print(table([]), end="", flush=True)
    rows = asyncio.run(run(args))
    print("\n" + table(medians(rows)) + "\n" + ratios(rows, args.workers) + notes(rows))
    if not args.no_write:
        write_docs(rows, shlex.join([os.path.relpath(sys.executable), *sys.argv]), args.workers, args.repeat)


if __name__ == "__main__":
    main()
