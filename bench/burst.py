"""A crowd arriving and leaving all at once.

A popular room fills in seconds when its link goes out, and empties as fast when it ends: every
join, hand and leave then reaches the server (and its Redis) at the same moment, which is when
shared resources such as connection pools run out. For each crowd size N this starts a fresh
server (its own Redis), makes N identities and a room with a host, opens N websockets and then,
with all of them connected, fires three bursts, each one frame per socket handed over at once:
`join` on all N, then `raise_hand` on all N, then `leave` on all N. For each burst it reports how
long the answers took (from the burst to each answer, p50 / p99 / the last one), every error code
(any error is a finding: none is expected), and requests with no answer within the phase's
timeout. After the joins the room must count N listeners; after the hands the host must have been
told of every one; after the leaves the room's listener count must return to 0 within 5 s.

Baseline, on the same server just before: another room, N fresh sockets (`leave` closes one), the
same requests in waves of 50 (the next once every answer of the previous one is in), same checks;
each burst's last answer is reported over the waves' time from first send to last answer.

The crowd is one Python process on the same machine as the server, so the times include its own
reading of N sockets. The server inherits this process's file limit, raised to the hard limit;
its log goes to $TMPDIR/dropin-burst-server.log. Prints a table and records it in
docs/benchmarks.md.

    .venv/bin/python bench/burst.py [--sizes 100 500 1000] [--timeout 60] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import resource
import shlex
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.servers import DropinServer, record_section  # noqa: E402

SETTLE_S = 5.0  # how long the room's counts (and the host's events) may take to catch up
NO_ANSWER = ("no answer", "closed", "send failed")
MARK_START, MARK_END = "<!-- burst:start -->", "<!-- burst:end -->"
HEADING = "## Burst: a crowd joining and leaving at once"
WAVE = 50  # the baseline's wave size


class Member:
    """One raw websocket: answers are matched to requests by `re`; events are counted and dropped."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.pending: dict[str, asyncio.Future[tuple[float, str]]] = {}
        self.events: Counter[str] = Counter()
        self.stray: Counter[str] = Counter()  # errors that answer nothing (`re` null)
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self._dispatch(json.loads(raw), time.perf_counter())
        except websockets.ConnectionClosed:
            pass
        finally:
            for future in self.pending.values():
                if not future.done():
                    future.set_result((time.perf_counter(), "closed"))

    def _dispatch(self, message: dict[str, Any], at: float) -> None:
        future = self.pending.pop(message.get("re") or "", None)
        outcome = f"error {message.get('code')}" if message.get("type") == "error" else str(message.get("type"))
        if future is not None and not future.done():
            future.set_result((at, outcome))
        elif message.get("type") == "error":
            self.stray[f"{outcome} (no id)"] += 1
        else:
            self.events[outcome] += 1

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


@dataclass
class Phase:
    name: str
    sent_s: float = 0.0  # from the first send until the last frame was handed to its socket
    latencies: list[float] = field(default_factory=list)  # seconds from its wave's send, answered requests
    wall_s: float = 0.0  # from the first send to the last answer
    outcomes: Counter[str] = field(default_factory=Counter)
    check: str = "–"


async def burst(name: str, members: list[Member], frame: Callable[[int], dict[str, Any]], timeout: float,
                wave: int | None = None) -> Phase:
    """Send `frame(i)` on every member at once or, given `wave`, that many at a time, each wave once
    every answer of the previous one is in; each wave waits up to `timeout` for its answers."""
    request_id = f"{name}-1"
    texts = [json.dumps({"id": request_id, **frame(i)}) for i in range(len(members))]
    step = wave or max(1, len(members))
    phase = Phase(name)
    start = time.perf_counter()
    for first in range(0, len(members), step):
        await send_wave(phase, request_id, members[first:first + step], texts[first:first + step], start, timeout)
    return phase


async def send_wave(phase: Phase, request_id: str, members: list[Member], texts: list[str], start: float,
                    timeout: float) -> None:
    """Hand `texts` to `members` together, wait for every answer and add them to `phase`."""
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in members]
    for member, future in zip(members, futures):
        member.stray.clear()
        member.pending[request_id] = future
    sent = time.perf_counter()
    sends = [asyncio.create_task(m.ws.send(text)) for m, text in zip(members, texts)]
    await asyncio.wait(sends, timeout=timeout)
    phase.sent_s = time.perf_counter() - start
    for future, send in zip(futures, sends):
        if not send.done() or send.exception() is not None:
            send.cancel()
            if not future.done():
                future.set_result((time.perf_counter(), "send failed"))
    await asyncio.wait(futures, timeout=timeout)
    for member, future in zip(members, futures):
        member.pending.pop(request_id, None)
        at, outcome = future.result() if future.done() else (0.0, "no answer")
        phase.outcomes[outcome] += 1
        phase.outcomes.update(member.stray)
        if outcome not in NO_ANSWER:
            phase.latencies.append(at - sent)
            phase.wall_s = max(phase.wall_s, at - start)


async def make_identities(http: httpx.AsyncClient, count: int) -> list[str]:
    async def one(i: int) -> str:
        reply = await http.post("/api/identity", json={"name": f"Burst {i}"})
        reply.raise_for_status()
        return reply.json()["token"]

    return await asyncio.gather(*(one(i) for i in range(count)))


async def connect_all(url: str, count: int, at_once: int = 50, kind: type[Member] | None = None) -> list[Any]:
    """`count` open websockets, each a `kind` (a Member by default)."""
    gate = asyncio.Semaphore(at_once)

    async def one() -> Member:
        async with gate:
            ws = await websockets.connect(url, max_size=None, compression=None, ping_interval=None,
                                          open_timeout=30, close_timeout=2)
            return (kind or Member)(ws)

    return await asyncio.gather(*(one() for _ in range(count)))


async def listeners_now(http: httpx.AsyncClient, room_id: str) -> int:
    reply = await http.get(f"/api/rooms/{room_id}")
    reply.raise_for_status()
    return reply.json()["listeners"]


async def hands_seen(host: Member) -> int:
    return host.events["hand_raised"]


async def settle(read: Callable[[], Awaitable[int]], want: int) -> tuple[int, float]:
    """Poll `read()` until it returns `want` or SETTLE_S passes; return the last value and the wait."""
    start = time.perf_counter()
    while True:
        value = await read()
        waited = time.perf_counter() - start
        if value == want or waited >= SETTLE_S:
            return value, waited
        await asyncio.sleep(0.1)


def verdict(what: str, value: int, waited: float, want: int) -> str:
    return f"{what} {value} ✓" if value == want else f"**{what} {value}, not {want}** (after {waited:.0f} s)"


async def run_size(base: str, size: int, timeout: float) -> list[tuple[Phase, Phase]]:
    """The waves in one room, then the bursts in another; (burst, waves) for each kind of request."""
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=httpx.Limits(max_connections=20)) as http:
        waves_host, at_once_host, *tokens = await make_identities(http, size + 2)
        hosts: list[Member] = []  # kept in their rooms to the end, so no room ends (and no timer fires) meanwhile
        try:
            waves = await in_room(http, base, hosts, waves_host, tokens, timeout, WAVE)
            at_once = await in_room(http, base, hosts, at_once_host, tokens, timeout, None)
        finally:
            await asyncio.gather(*(m.close() for m in hosts), return_exceptions=True)
        return list(zip(at_once, waves))


async def in_room(http: httpx.AsyncClient, base: str, hosts: list[Member], host_token: str, tokens: list[str],
                  timeout: float, wave: int | None) -> list[Phase]:
    """A new room whose host joins (and is added to `hosts`), then a crowd of fresh sockets for `tokens`."""
    created = await http.post("/api/rooms", json={"title": f"Burst {len(tokens)} {'waves' if wave else 'at once'}"},
                              headers={"Authorization": f"Bearer {host_token}"})
    room_id = created.raise_for_status().json()["id"]
    host, *crowd = await connect_all(base.replace("http", "ws", 1) + "/ws", len(tokens) + 1)
    hosts.append(host)
    try:
        welcome = await burst(
            "join", [host], lambda _: {"type": "join", "v": 1, "room": room_id, "token": host_token}, timeout
        )
        if welcome.outcomes != Counter({"joined": 1}):
            raise SystemExit(f"the host could not join: {dict(welcome.outcomes)}")
        return await bursts(http, room_id, host, crowd, tokens, timeout, wave)
    finally:
        await asyncio.gather(*(m.close() for m in crowd), return_exceptions=True)


async def bursts(http: httpx.AsyncClient, room_id: str, host: Member, crowd: list[Member], tokens: list[str],
                 timeout: float, wave: int | None) -> list[Phase]:
    """The three bursts (or rounds of waves), each followed by its check."""
    size = len(crowd)
    joins = await burst("join", crowd, lambda i: {"type": "join", "v": 1, "room": room_id, "token": tokens[i]},
                        timeout, wave)
    joins.check = verdict("listeners", *await settle(lambda: listeners_now(http, room_id), size), want=size)
    hands = await burst("raise_hand", crowd, lambda _: {"type": "raise_hand"}, timeout, wave)
    hands.check = verdict("hand_raised to host", *await settle(lambda: hands_seen(host), size), want=size)
    leaves = await burst("leave", crowd, lambda _: {"type": "leave"}, timeout, wave)
    leaves.check = verdict("listeners", *await settle(lambda: listeners_now(http, room_id), 0), want=0)
    return [joins, hands, leaves]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.0f} ms" if values else "–"


def problems(phase: Phase) -> tuple[str, str]:
    """The phase's error codes and its unanswered requests, as table cells."""
    errors = ", ".join(f"{code.removeprefix('error ')} × {n}" for code, n in phase.outcomes.most_common()
                       if code.startswith("error")) or "none"
    missing = ", ".join(f"{kind} × {phase.outcomes[kind]}" for kind in NO_ANSWER if phase.outcomes[kind]) or "0"
    return errors, missing


def row(size: int, phase: Phase, waves: Phase) -> str:
    errors, missing = problems(phase)
    answered = sum(n for k, n in phase.outcomes.items() if not k.startswith("error") and k not in NO_ANSWER)
    flaws = [f"**{what}: {cell}**" for what, cell, fine in zip(("errors", "unanswered"), problems(waves), ("none", "0"))
             if cell != fine] + ([] if "✓" in waves.check else [waves.check])  # a failed check is in bold already
    baseline = "; ".join([f"{waves.wall_s * 1000:.0f} ms", *flaws])
    ratio = f"{phase.wall_s / waves.wall_s:.2f}" if phase.wall_s and waves.wall_s else "–"
    return (f"| {size} | `{phase.name}` | {phase.sent_s * 1000:.0f} ms | {answered} | {ms(phase.latencies, 0.5)} "
            f"| {ms(phase.latencies, 0.99)} | {ms(phase.latencies, 1.0)} | {baseline} | **{ratio}** | {errors} "
            f"| {missing} | {phase.check} |")


def table(results: dict[int, list[tuple[Phase, Phase]]]) -> str:
    lines = [
        f"| N | burst | sent in | answered | p50 | p99 | last answer | in waves of {WAVE} "
        f"| at once / in waves of {WAVE} "
        "| errors | no answer | check |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    lines += [row(size, phase, waves) for size, pairs in results.items() for phase, waves in pairs]
    return "\n".join(lines) + "\n"


def write_docs(results: dict[int, list[tuple[Phase, Phase]]], command: str, timeout: float) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    section = (
        f"{MARK_START}\n{HEADING}\n\n{time.strftime('%Y-%m-%d')}: `{command}` on {machine}, the crowd (one Python "
        "process, raw websockets) on the same machine. Each size gets a fresh server and Redis; all N sockets "
        "are connected and then each burst hands one frame to every socket at once (`sent in`: until the last "
        "was handed over). Times run from the burst to each answer's arrival (p50, p99, the last); `answered` "
        "counts replies other than errors, `errors` every error code (none expected), `no answer` requests "
        f"unanswered after {timeout:.0f} s or whose socket closed first. Checks: the room's `listeners` "
        "(`GET /api/rooms/{id}`) after the joins and after the leaves, and the host's `hand_raised` events, "
        f"each polled for up to {SETTLE_S:.0f} s.\n\nBaseline (`in waves of {WAVE}`), on the same server just before "
        "the bursts: another room with its own host, N fresh sockets (the same identities) and the same requests of "
        f"each kind in waves of {WAVE}, each wave at once and the next once every answer of the previous one is in, "
        "timed from the first send to the last answer, with the same checks (any error, unanswered request or failed "
        "check is shown there). The ratio is the burst's last answer over that: above 1, all at once took longer.\n\n"
        + table(results) + MARK_END
    )
    record_section(MARK_START, MARK_END, section)


def raise_file_limit() -> None:
    """N sockets here and N in the server: `dropin serve` doesn't raise its own limit, so it inherits this one."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Point this process's stdout and stderr at `path` for a while, so a server started meanwhile
    writes its log (a traceback per failed request, in a bad run) there rather than over the table."""
    sys.stdout.flush(), sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 1), os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved[0], 1), os.dup2(saved[1], 2)
        os.close(saved[0]), os.close(saved[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000], help="crowd sizes")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds each burst waits for its answers")
    parser.add_argument("--port", type=int, default=8770, help="first port; each size uses the next")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    raise_file_limit()
    log = Path(tempfile.gettempdir()) / "dropin-burst-server.log"
    log.write_text("")
    print(f"server log: {log}", file=sys.stderr)
    results: dict[int, list[tuple[Phase, Phase]]] = {}
    for offset, size in enumerate(args.sizes):
        print(f"N = {size}", file=sys.stderr)
        server = DropinServer(args.port + offset)
        with output_to(log):
            server.__enter__()
        try:
            results[size] = asyncio.run(run_size(server.url, size, args.timeout))
        finally:
            server.__exit__()
        print("\n".join(table({size: results[size]}).splitlines()[2:]), file=sys.stderr)
    print(table(results))
    if not args.no_write:
        write_docs(results, shlex.join([os.path.relpath(sys.executable), *sys.argv]), args.timeout)


if __name__ == "__main__":
    main()
