"""The backchannel at scale: one chat message to a room of N websocket members, and reactions from
all N at once.

One fresh server (its own Redis), a room with its host, and N members (raw websockets in this one
process, as in bench/burst.py) joined. Then:

- **Chat**: the host posts `--messages` messages, one every 1.2 s; for each, the time from the
  send to each member's arrival of `chat_posted`: per member (p50, p99) and to the last member.
  Baseline, in the same run just before: as many typed questions (`ask`), whose `question_asked`
  takes the room log the same way; the ratio is chat over questions, to the last member.
- **Reactions**: every member sends `react` (applause) at once, `--rounds` times 1 s apart. Over
  the window from the first until nothing more comes: `reactions` events each member received per
  second, whether every member's count adds up to every reaction sent, and the server's CPU (its
  process tree, with its Redis) per reaction. Baseline: the same members' `ping` all at once,
  as many rounds, the same CPU measured the same way; the ratio is CPU per reaction over CPU per ping.

Prints a table and records it in docs/benchmarks.md.

    .venv/bin/python bench/chat.py [--members 1000] [--messages 5] [--rounds 3] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import burst  # noqa: E402
from bench.servers import DropinServer, cpu_seconds, record_section  # noqa: E402

MARK_START, MARK_END = "<!-- chat:start -->", "<!-- chat:end -->"
HEADING = "## The backchannel: chat and reactions in a room of N"
POST_EVERY_S = 1.2  # over the one second everyone waits between their own messages
QUIET_S = 1.0  # reactions have ended once nothing came for this long


class Listener(burst.Member):
    """A member that also keeps when each event arrived, and what `reactions` events counted."""

    def __init__(self, ws: Any) -> None:
        super().__init__(ws)
        self.arrivals: dict[str, list[float]] = {}
        self.counted: Counter[str] = Counter()

    def _dispatch(self, message: dict[str, Any], at: float) -> None:
        if message.get("re") is None:
            self.arrivals.setdefault(str(message.get("type")), []).append(at)
            if message.get("type") == "reactions":
                self.counted.update(message["counts"])
        super()._dispatch(message, at)


async def broadcast_times(host: Listener, crowd: list[Listener], request: dict[str, Any], event: str,
                          count: int) -> tuple[list[float], list[float]]:
    """Send `request` from the host `count` times; (each member's arrival times after each send,
    each send's time to the last member), in seconds."""
    per_member: list[float] = []
    to_last: list[float] = []
    for i in range(count):
        seen = [len(member.arrivals.get(event, [])) for member in crowd]
        sent = time.perf_counter()
        text = f"{request['text']} {i}"
        phase = await burst.burst(f"{event}{i}", [host], lambda _, text=text: {**request, "text": text}, 30)
        if phase.outcomes != Counter({"ok": 1}):
            raise SystemExit(f"the host's {request['type']} failed: {dict(phase.outcomes)}")
        deadline = time.perf_counter() + 30
        while any(len(m.arrivals.get(event, [])) <= n for m, n in zip(crowd, seen)) and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        arrived = [m.arrivals[event][n] - sent for m, n in zip(crowd, seen) if len(m.arrivals.get(event, [])) > n]
        if len(arrived) < len(crowd):
            raise SystemExit(f"{len(crowd) - len(arrived)} members never got {event}")
        per_member += arrived
        to_last.append(max(arrived))
        await asyncio.sleep(POST_EVERY_S)
    return per_member, to_last


async def all_at_once(server_pid: int, crowd: list[Listener], frame: dict[str, Any], rounds: int,
                      event: str | None) -> tuple[float, float]:
    """Every member sends `frame` at once, `rounds` times a second apart; (server CPU seconds
    spent, the window's seconds), the window ending once no `event` came for QUIET_S."""
    cpu = cpu_seconds(server_pid)
    start = time.perf_counter()
    for i in range(rounds):
        phase = await burst.burst(f"{frame['type']}{i}", crowd, lambda _: frame, 30)
        if set(phase.outcomes) - {"ok", "pong"}:
            raise SystemExit(f"{frame['type']} at once: {dict(phase.outcomes)}")
        await asyncio.sleep(max(0.0, start + i + 1 - time.perf_counter()))
    while event is not None:
        last = max((m.arrivals.get(event) or [0.0])[-1] for m in crowd)
        if time.perf_counter() - last >= QUIET_S:
            break
        await asyncio.sleep(0.1)
    return cpu_seconds(server_pid) - cpu, time.perf_counter() - start


async def run(server: DropinServer, members: int, messages: int, rounds: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        host_token, *tokens = await burst.make_identities(http, members + 1)
        created = await http.post("/api/rooms", json={"title": "Backchannel"},
                                  headers={"Authorization": f"Bearer {host_token}"})
        room_id = created.raise_for_status().json()["id"]
    host, *crowd = await burst.connect_all(server.url.replace("http", "ws", 1) + "/ws", members + 1, kind=Listener)
    try:
        await burst.burst("join", [host], lambda _: {"type": "join", "v": 1, "room": room_id, "token": host_token}, 30)
        joins = await burst.burst("join", crowd, lambda i: {"type": "join", "v": 1, "room": room_id,
                                                            "token": tokens[i]}, 60, burst.WAVE)
        if joins.outcomes != Counter({"joined": members}):
            raise SystemExit(f"joins: {dict(joins.outcomes)}")
        await asyncio.sleep(2)
        questions = await broadcast_times(host, crowd, {"type": "ask", "text": "Question"}, "question_asked", messages)
        chat = await broadcast_times(host, crowd, {"type": "chat", "text": "Hello, room"}, "chat_posted", messages)
        ping_cpu, _ = await all_at_once(server.pid, crowd, {"type": "ping"}, rounds, None)
        react_cpu, window = await all_at_once(server.pid, crowd, {"type": "react", "kind": "applause"}, rounds,
                                              "reactions")
        events = [len(m.arrivals.get("reactions", [])) for m in crowd]
        complete = sum(m.counted["applause"] == members * rounds for m in crowd)
        return {"members": members, "messages": messages, "rounds": rounds, "questions": questions, "chat": chat,
                "ping_cpu": ping_cpu, "react_cpu": react_cpu, "window": window, "events": events,
                "complete": complete}
    finally:
        await asyncio.gather(*(m.close() for m in [host, *crowd]), return_exceptions=True)


def table(r: dict[str, Any]) -> str:
    (q_each, q_last), (c_each, c_last) = r["questions"], r["chat"]
    ms = burst.ms
    sent = r["members"] * r["rounds"]
    per_reaction, per_ping = r["react_cpu"] / sent * 1e6, r["ping_cpu"] / sent * 1e6
    rate = [n / r["window"] for n in r["events"]]
    chat_ratio = burst.percentile(c_last, 0.5) / burst.percentile(q_last, 0.5)
    return "\n".join([
        "| members | broadcast | per member p50 / p99 | to the last member p50 / max "
        "| chat / questions (to the last) |",
        "| ---: | --- | ---: | ---: | ---: |",
        f"| {r['members']} | `question_asked` ×{r['messages']} (baseline) | {ms(q_each, 0.5)} / {ms(q_each, 0.99)} | "
        f"{ms(q_last, 0.5)} / {ms(q_last, 1.0)} | – |",
        f"| {r['members']} | `chat_posted` ×{r['messages']} | {ms(c_each, 0.5)} / {ms(c_each, 0.99)} | "
        f"{ms(c_last, 0.5)} / {ms(c_last, 1.0)} | **{chat_ratio:.2f}** |",
        "",
        "| members | all at once | sent | `reactions` events per member per second (max) "
        "| members whose count adds up | server CPU per request | reactions / pings (CPU) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
        f"| {r['members']} | `ping` ×{r['rounds']} (baseline) | {sent} | – | – | {per_ping:.0f} µs | – |",
        f"| {r['members']} | `react` ×{r['rounds']} | {sent} | {sum(rate) / len(rate):.1f} ({max(rate):.1f}) | "
        f"{r['complete']} of {r['members']} | {per_reaction:.0f} µs | **{per_reaction / per_ping:.2f}** |",
    ])


def write_docs(r: dict[str, Any], command: str) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    section = (
        f"{MARK_START}\n{HEADING}\n\n{time.strftime('%Y-%m-%d')}: `{command}` on {machine}, the members (one "
        "Python process, raw websockets) on the same machine, so the times include its reading of every socket. "
        "A broadcast is timed from the host's send to each member's arrival; the baseline is a typed question, "
        "which takes the room log the same way. Reactions: every member sends one at once, a round a second; "
        f"the window runs until no `reactions` event came for {QUIET_S:.0f} s; CPU is the server's process tree "
        "(with its Redis) over the window, per request sent; the baseline is every member's `ping` at once, "
        "as many rounds.\n\n" + table(r) + "\n" + MARK_END
    )
    record_section(MARK_START, MARK_END, section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=5, help="chat messages (and baseline questions)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of reactions (and baseline pings)")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    burst.raise_file_limit()
    log = Path(tempfile.gettempdir()) / "dropin-chat-server.log"
    log.write_text("")
    server = DropinServer(args.port)
    with burst.output_to(log):
        server.__enter__()
    try:
        result = asyncio.run(run(server, args.members, args.messages, args.rounds))
    finally:
        server.__exit__()
    print(table(result))
    print(json.dumps({k: v for k, v in result.items() if k in ("ping_cpu", "react_cpu", "window")}), file=sys.stderr)
    if not args.no_write:
        write_docs(result, shlex.join([os.path.relpath(sys.executable), *sys.argv]))


if __name__ == "__main__":
    main()
