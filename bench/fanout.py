"""Fan-out: how much server CPU one delivered packet costs, Dropin against Janus and MediaRelay.

For each server and each listener count N: start the server, connect S speaker bots (one
process) sending a synthesised voice as real Opus with the audio-level extension, and N listener
bots (spread over worker processes) that unprotect and count packets without decoding. Then for
`--seconds` the speakers talk, and we read the server's CPU time (its whole process tree) before
and after. One row per run:

    server, speakers, listeners, packets sent, delivery ratio, server CPU µs per delivered packet,
    latency p50/p99 (the speaker bot's send to the kernel's receive time at the last listener
    bot), forwarding p50/p99 (Dropin's own account, GET /api/media: from the forwarder taking the
    packet to the last listener's send; in brackets the p99 of the CPU time spent on it), server
    CPU per listener per second in a silent room (all of it over the listeners, and what the
    listeners added to the silent room before they came), server RSS.

Servers: Dropin (`dropin serve`, its own Redis); Janus 1.1 VideoRoom (event_loops = 2) when the
`janus` binary is installed; and the stock aiortc MediaRelay server in bench/relay_server.py,
which decodes each speaker and re-encodes per listener, so it only runs at small N (`--relay`).

    .venv/bin/python bench/fanout.py [--listeners 50,100,200] [--speakers 3] [--seconds 8]

Writes the table, the command and the machine to docs/benchmarks.md and a chart to
docs/fanout.png (unless --no-write).

Listeners behind TURN against direct ones: bench/turn.py.
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

from bench import janus, relay_server  # noqa: E402
from bench.fanout_run import (  # noqa: E402
    IDLE_S,
    Row,
    Target,
    dropin_target,
    free_port,
    measure,
    medians,
    numbers,
)
from bench.servers import record_section  # noqa: E402


@asynccontextmanager
async def janus_target(speakers: int) -> AsyncIterator[tuple[Target, int]]:
    async with janus.JanusServer(port=free_port(), event_loops=2) as server:
        session = await janus.VideoRoom.open(server.url)
        try:
            room = await session.create_room(publishers=speakers)
            yield Target("janus", server.url, room=room), server.pid
        finally:
            await session.close()


@asynccontextmanager
async def relay_target() -> AsyncIterator[tuple[Target, int]]:
    async with relay_server.RelayServer(free_port()) as server:
        yield Target("relay", server.url), server.pid


def table(rows: list[Row]) -> str:
    lines = [
        "| server | speakers | listeners | packets sent | delivered | CPU µs / delivered packet "
        "| latency p50 / p99 | forwarding p50 / p99 (CPU p99) | idle CPU per listener: all / added | server RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        listeners, lat, fwd, idle = row.cells()
        lines.append(
            f"| {row.server} | {row.speakers} | {listeners} | {row.sent} | {row.delivery:.2%} "
            f"| {row.us_per_packet:.1f} | {lat} | {fwd} | {idle} | {row.rss / 2**20:.0f} MB |"
        )
    return "\n".join(lines) + "\n"


def ratios(rows: list[Row]) -> str:
    """Dropin against Janus at each listener count: the medians, and each repetition's ratio."""
    lines = []
    for listeners in sorted({row.listeners for row in rows if row.server == "dropin"}):
        ours = [row.us_per_packet for row in rows if row.server == "dropin" and row.listeners == listeners]
        theirs = [row.us_per_packet for row in rows if row.server == "janus" and row.listeners == listeners]
        if not theirs:
            continue
        each = ", ".join(f"{a / b:.2f}" for a, b in zip(ours, theirs))
        lines.append(f"- {listeners} listeners: Dropin {statistics.median(ours):.1f} µs, Janus "
                     f"{statistics.median(theirs):.1f} µs per delivered packet: "
                     f"**{statistics.median(ours) / statistics.median(theirs):.2f}×** Janus (each run: {each})")
    return "\n".join(lines) + ("\n" if lines else "")


def chart(rows: list[Row], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'); no chart", file=sys.stderr)
        return False
    figure, axes = plt.subplots(figsize=(7, 4.2))
    names = {"dropin": "Dropin", "janus": "Janus 1.1 (event_loops=2)", "relay": "aiortc MediaRelay"}
    for server in ("dropin", "janus", "relay"):
        points = sorted((row.listeners, row.us_per_packet) for row in rows if row.server == server)
        if points:
            axes.plot(*zip(*points), marker="o", label=names[server])
    axes.set_xlabel("listeners (3 speakers)")
    axes.set_ylabel("server CPU µs per delivered packet")
    axes.set_yscale("log")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    axes.set_title("Fan-out cost per delivered packet")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return True


MARK_START, MARK_END = "<!-- fanout:start -->", "<!-- fanout:end -->"


def write_docs(rows: list[Row], command: str, repeat: int) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    charted = chart(medians(rows), REPO / "docs" / "fanout.png")
    runs = f"Each configuration ran {repeat} times, interleaved; the table shows the median run. " if repeat > 1 else ""
    section = (
        f"{MARK_START}\n## Fan-out ({time.strftime('%Y-%m-%d')})\n\n`{command}` on {machine}, bots on the same "
        "machine. CPU is the server's whole process tree (Dropin's includes its Redis) over the talking time, "
        "divided by the packets the listeners received. Latency is from the speaker bot's send to the kernel's "
        "receive time at the last listener bot of the same packet (n/a where the payload is re-encoded); "
        "listener bots read their sockets every 5 ms instead of being woken per packet. Forwarding is Dropin's "
        "own account (`GET /api/media`): from the forwarder taking the packet to the last listener's send, and "
        "(in brackets) the p99 of the CPU time that took. Idle CPU is the server's CPU per second per listener "
        f"over {IDLE_S:.0f} s of silence with everyone connected (all), and less that of as long a silence with "
        "the speakers alone, before the listeners came (added: what one more listener costs). " + runs + "\n\n"
        + table(medians(rows)) + "\n" + ratios(rows)
        + ("\n![CPU µs per delivered packet against listeners](fanout.png)\n" if charted else "")
        + MARK_END
    )
    record_section(MARK_START, MARK_END, section)


async def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    plans: list[tuple[str, Callable, list[int]]] = [("dropin", dropin_target, args.listeners)]
    if janus.janus_available() and not args.no_janus:
        plans.append(("janus", lambda: janus_target(args.speakers), args.listeners))
    else:
        print("janus is not installed (apt-get install janus): Janus rows skipped", file=sys.stderr)
    if args.relay:
        plans.append(("relay", relay_target, args.relay))
    for _ in range(args.repeat):  # interleaved, so the machine's mood touches every server alike
        for label, start, counts in plans:
            for listeners in counts:
                async with start() as (target, pid):
                    row = await measure(label, target, pid, args.speakers, listeners, args.seconds, args.workers)
                rows.append(row)
                print(table([row]).splitlines()[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=numbers, default=[50, 100, 200], help="comma-separated listener counts")
    parser.add_argument("--speakers", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="talking time per run")
    parser.add_argument("--relay", type=numbers, default=[3],
                        help="listener counts for the MediaRelay baseline (it saturates a core at a handful)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of every configuration; medians are reported")
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2), help="listener bot processes")
    parser.add_argument("--no-janus", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    print(table([]), end="", flush=True)
    rows = asyncio.run(run(args))
    command = "python bench/fanout.py " + " ".join(sys.argv[1:])
    print("\n" + table(medians(rows)) + "\n" + ratios(rows))
    if not args.no_write:
        write_docs(rows, command, args.repeat)


if __name__ == "__main__":
    main()
