"""Listeners behind TURN against direct ones: the node's CPU per delivered packet when its
listeners come through a real coturn, relayed over direct, in the same run.

Dropin with its listeners connected directly and with them behind TURN (a real coturn on this
machine's address, listeners `relay_only`; the speakers connect directly in both), measured as
bench/fanout.py measures: the server's CPU per delivered packet relayed over direct, and
coturn's own CPU beside it (the relayed bots are in bench/turn_relay.py). It writes its own
section of docs/benchmarks.md.

    .venv/bin/python bench/turn.py [--listeners 100] [--repeat 3] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.fanout_run import Row, Target, dropin_room, dropin_target, free_port, measure, medians, numbers  # noqa: E402
from bench.servers import DropinServer, record_section  # noqa: E402
from bench.turn_relay import turn_server  # noqa: E402


@asynccontextmanager
async def dropin_turn_target() -> AsyncIterator[tuple[Target, int]]:
    """Dropin handing out credentials for a coturn of its own; its listeners use TURN alone."""
    with turn_server() as turn, DropinServer(free_port(), env=turn.dropin_env()) as server:
        target = await dropin_room(server)
        target.relay_only, target.turn_pid = True, turn.pid
        yield target, server.pid



TURN_LABEL = "dropin, listeners via TURN"
TURN_START, TURN_END = "<!-- fanout-turn:start -->", "<!-- fanout-turn:end -->"


def turn_table(rows: list[Row]) -> str:
    """The --turn rows: direct and relayed listeners side by side, with coturn's own CPU."""
    lines = [
        "| listeners' path | speakers | listeners | packets sent | delivered | server CPU µs / delivered packet "
        "| coturn CPU µs / delivered packet | latency p50 / p99 | forwarding p50 / p99 (CPU p99) "
        "| idle server CPU per listener: all / added |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        path = "via coturn (relay only)" if row.server == TURN_LABEL else "direct"
        turn = f"{row.turn_cpu_s / max(1, row.delivered) * 1e6:.1f}" if row.turn_cpu_s is not None else "–"
        listeners, lat, fwd, idle = row.cells()
        lines.append(
            f"| {path} | {row.speakers} | {listeners} | {row.sent} | {row.delivery:.2%} | {row.us_per_packet:.1f} "
            f"| {turn} | {lat} | {fwd} | {idle} |"
        )
    return "\n".join(lines) + "\n"


def turn_ratios(rows: list[Row]) -> str:
    """Relayed against direct at each listener count: the server's CPU, medians and each run's ratio."""
    lines = []
    for listeners in sorted({row.listeners for row in rows if row.server == TURN_LABEL}):
        direct_rows = [row for row in rows if row.server == "dropin" and row.listeners == listeners]
        relayed = [row for row in rows if row.server == TURN_LABEL and row.listeners == listeners]
        if not direct_rows:
            continue
        ours = statistics.median(row.us_per_packet for row in relayed)
        base = statistics.median(row.us_per_packet for row in direct_rows)
        each = ", ".join(f"{a.us_per_packet / b.us_per_packet:.2f}" for a, b in zip(relayed, direct_rows))
        turn = statistics.median((row.turn_cpu_s or 0) / max(1, row.delivered) * 1e6 for row in relayed)
        delivered = ", ".join(f"{row.delivery:.2%}" for row in relayed)
        lines.append(f"- {listeners} listeners: the server's CPU per delivered packet, relayed {ours:.1f} µs / direct "
                     f"{base:.1f} µs = **{ours / base:.2f}×** (each run: {each}); coturn's own CPU "
                     f"{turn:.1f} µs per delivered packet on top; relayed delivery {delivered}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_turn_docs(rows: list[Row], command: str, repeat: int) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    runs = f"Each configuration ran {repeat} times, interleaved; the table shows the median run. " if repeat > 1 else ""
    section = (
        f"{TURN_START}\n## Fan-out with listeners behind TURN ({time.strftime('%Y-%m-%d')})\n\n`{command}` on "
        f"{machine}, bots and coturn on the same machine, which is shared with other work (browser tests) and "
        "noisy: compare the figures of one run, as ratios. In each pair of rows the same speakers talk to the "
        "same number of listener bots, connected directly to the node (which hands out no TURN), or allowed only "
        "TURN relay candidates (`relay_only`) with credentials from the welcome, for a real coturn "
        "(tests/coturn.py: UDP, on this machine's address, so it shares the 2 cores; the node's own connections "
        "never relay, so to the node a relayed listener is one more remote address). The speakers connect "
        "directly in both. "
        "Server CPU is Dropin's whole process tree (with its Redis) over the talking time, divided by the packets "
        "the listeners received; coturn's is the `turnserver` process's own (/proc/<pid>/stat) over the same "
        "time, divided by the same packets. Relayed listener bots read coturn's ChannelData off their TURN "
        "socket (bench/turn_relay.py). Latency is from the speaker bot's send to the kernel's receive time at the last "
        "listener, so the relayed rows include coturn's hop. " + runs + "\n\n"
        + turn_table(medians(rows)) + "\n" + turn_ratios(rows) + TURN_END
    )
    record_section(TURN_START, TURN_END, section)


async def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    plans: list[tuple[str, Callable]] = [("dropin", dropin_target), (TURN_LABEL, dropin_turn_target)]
    for _ in range(args.repeat):  # interleaved, so the machine's mood touches both alike
        for label, start in plans:
            for listeners in args.listeners:
                async with start() as (target, pid):
                    row = await measure(label, target, pid, args.speakers, listeners, args.seconds, args.workers)
                rows.append(row)
                print(turn_table([row]).splitlines()[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=numbers, default=[100], help="comma-separated listener counts")
    parser.add_argument("--speakers", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="talking time per run")
    parser.add_argument("--repeat", type=int, default=1, help="runs of every configuration; medians are reported")
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2), help="listener bot processes")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    print(turn_table([]), end="", flush=True)
    rows = asyncio.run(run(args))
    print("\n" + turn_table(medians(rows)) + "\n" + turn_ratios(rows))
    if not args.no_write:
        write_turn_docs(rows, "python bench/turn.py " + " ".join(sys.argv[1:]), args.repeat)


if __name__ == "__main__":
    main()
