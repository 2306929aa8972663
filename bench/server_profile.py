"""Where a server process's CPU goes, sampled with py-spy without pausing it (bench/churn.py
--profile): samples grouped into buckets of what the code is about, or by leaf function, and the
process's real CPU time (from /proc) shared out in proportion to them."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench.servers import own_cpu_seconds

PROFILE_HZ = 200
BUCKETS = [  # a sample goes to the first bucket one of its frames matches, from the leaf up to the event loop
    ("ICE (aioice)", ("aioice/",)),
    ("DTLS, certificates (aiortc.rtcdtlstransport, OpenSSL, cryptography)",
     ("aiortc/rtcdtlstransport", "OpenSSL/", "cryptography/")),
    ("SDP (aiortc.sdp)", ("aiortc/sdp",)),
    ("peer & transceiver setup (aiortc, the rest)", ("aiortc/",)),
    ("forwarding loop (server.media fan-out, mux, adapter)", tuple(f"server/media/{n}" for n in (
        "forwarder", "fastpath", "outlet", "udp_mux", "slot", "active_speakers", "red", "meters", "aiortc_adapter"))),
    ("Dropin media setup (server.media peer, router)", ("server/media/",)),
    ("Redis client (redis-py, server.state)", ("redis/", "server/state/")),
    ("signalling & rooms (server, signaling, uvicorn, websockets, pydantic)",
     ("server/", "signaling/", "uvicorn/", "websockets/", "starlette/", "fastapi/", "pydantic")),
]
OTHER = "event loop & other (uvloop, asyncio, logging, gc)"
LOOP_FILES = ("asyncio/events.py", "asyncio/base_events.py", "asyncio/runners.py")
SPIES: list[subprocess.Popen[bytes]] = []


async def spy_on(pid: int, path: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling `pid` without pausing it, from when this returns until spied()."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    SPIES.append(process := subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--rate", str(PROFILE_HZ), "--format", "raw", "--nonblocking", "-o",
         str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    line = (await asyncio.to_thread(process.stdout.readline)).decode()  # type: ignore[union-attr]
    if "Sampling" not in line:
        process.kill()
        raise SystemExit(f"py-spy could not sample the server: {line.strip()}")
    return process


def spied(process: subprocess.Popen[bytes], path: Path) -> tuple[Counter[str], float]:
    """Stop py-spy: the samples by stack, and py-spy's own CPU seconds."""
    cpu = own_cpu_seconds(process.pid)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    stacks: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        stacks[stack] += int(count)
    return stacks, cpu


def frames(stack: str) -> list[tuple[str, str]]:
    """(function, file) of each frame of a py-spy stack, the leaf first."""
    found = [(frame, re.match(r"(.*) \((.*?)(?::\d+)?\)$", frame)) for frame in reversed(stack.split(";"))]
    return [(f.group(1), f.group(2)) if f else (frame, "") for frame, f in found]


def bucket(stack: str) -> str:
    for _, file in frames(stack):
        if file.endswith(LOOP_FILES):
            break
        for name, patterns in BUCKETS:
            if any(p in file for p in patterns):
                return name
    return OTHER


def leaf(stack: str) -> str:
    function, file = frames(stack)[0]
    return f"{function} ({file})" if function else "(no Python frame)"


def cpu_by(stacks: Counter[str], key: Callable[[str], str], cpu_s: float) -> Counter[str]:
    """The process's CPU seconds, shared out by `key` in proportion to the samples. (py-spy counts a
    thread that is runnable but waiting for a core as busy, so its samples add up to more.)"""
    shares: Counter[str] = Counter()
    for stack, n in stacks.items():
        shares[key(stack)] += n * cpu_s / max(1, sum(stacks.values()))
    return shares
