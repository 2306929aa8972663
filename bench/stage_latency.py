"""How fast the stage takes effect in the media plane.

Starts a real server (its own Redis), a host, a listener bot that keeps sending a tone (dropped
by the server while it is in the audience) and an audience of bots. Repeatedly: the host invites
the bot, the bot accepts, and we time the first packet of the bot's reaching an audience member
(target: 500 ms); then the host mutes the bot and we count packets that still arrive (target:
at most one packet's worth in flight). Prints a table and appends it to docs/benchmarks.md.

    .venv/bin/python bench/stage_latency.py [--rounds 10] [--audience 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.servers import DropinServer  # noqa: E402
from signaling.participant import Participant, ToneTrack  # noqa: E402

POLL_S = 0.005


async def first_arrival(listener: Participant, slot: int, before: int, timeout: float = 5.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if (await listener.packets_per_slot())[slot] > before:
            return time.perf_counter()
        await asyncio.sleep(POLL_S)
    raise TimeoutError("no packet arrived")


async def run(rounds: int, audience_size: int, base: str) -> tuple[list[float], list[int]]:
    ws = base.replace("http", "ws") + "/ws"

    def identity(name: str) -> str:
        return httpx.post(f"{base}/api/identity", json={"name": name}).json()["token"]

    host_token = identity("Host")
    room_id = httpx.post(
        f"{base}/api/rooms", json={"title": "Bench"}, headers={"Authorization": f"Bearer {host_token}"}
    ).json()["id"]
    host = Participant(ws, host_token)
    speaker = Participant(ws, identity("Speaker"))
    audience = [Participant(ws, identity(f"Listener {i}")) for i in range(audience_size)]
    everyone = [host, speaker, *audience]
    try:
        for p in everyone:
            await p.join(room_id)
        await host.connect_media(ToneTrack(440))
        await speaker.connect_media(ToneTrack(660))  # sends all along; dropped while a listener
        for p in audience:
            await p.connect_media()
        await asyncio.sleep(1)
        speaker_id = speaker.welcome.you.id
        latencies, leaked = [], []
        for i in range(rounds):
            print(f"\rround {i + 1}/{rounds}", end="", flush=True, file=sys.stderr)
            await host.client.request("invite", target=speaker_id)
            slot_counts = await audience[0].packets_per_slot()
            await speaker.client.request("accept_invite")
            await speaker.client.request("unmute_self")  # a new speaker arrives muted
            accepted = time.perf_counter()
            # The speaker takes the first free slot (slot 1; the host holds slot 0).
            arrived = await first_arrival(audience[0], 1, slot_counts[1])
            latencies.append(arrived - accepted)
            await asyncio.sleep(0.5)
            await host.client.request("mute", target=speaker_id)
            muted_at = [(await p.packets_per_slot())[1] for p in audience]
            await asyncio.sleep(1.0)
            after = [(await p.packets_per_slot())[1] for p in audience]
            leaked.append(max(a - n for a, n in zip(after, muted_at)))
            await host.client.request("move_to_audience", target=speaker_id)
            await asyncio.sleep(0.3)
        print(file=sys.stderr)
        return latencies, leaked
    finally:
        await asyncio.gather(*(p.close() for p in everyone), return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--audience", type=int, default=3)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    with DropinServer(args.port) as server:
        latencies, leaked = asyncio.run(run(args.rounds, args.audience, server.url))
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    table = (
        "| rounds | audience | accept → heard p50 | p95 | max | packets after mute (max per round) |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        f"| {args.rounds} | {args.audience} | {statistics.median(ms):.0f} ms | {p95:.0f} ms | {ms[-1]:.0f} ms "
        f"| {max(leaked)} |\n"
    )
    print(table)
    if not args.no_write:
        command = "python bench/stage_latency.py " + " ".join(sys.argv[1:])
        machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        with open(REPO / "docs" / "benchmarks.md", "a") as doc:
            doc.write(
                f"\n## Stage latency ({time.strftime('%Y-%m-%d')})\n\n`{command.strip()}` on {machine}. "
                "Time from the listener's `accept_invite` reply to the first of their packets at another "
                "listener (polled every 5 ms), and packets still arriving after the moderator's `mute` reply.\n\n"
                + table
            )


if __name__ == "__main__":
    main()
