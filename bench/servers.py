"""Servers under test, started as their own processes, and what the benchmarks read off them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class DropinServer:
    """`dropin serve` with its own private Redis, in a temporary data directory.

    `env`: more environment for the server (e.g. DROPIN_WORKERS); `log`: a file its output is
    appended to (by default it shares this process's stdout and stderr)."""

    def __init__(self, port: int, *, env: dict[str, str] | None = None, log: Path | None = None) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._data_dir = tempfile.TemporaryDirectory(prefix="dropin-bench-")
        self._env = env or {}
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def data_dir(self) -> Path:
        """The server's --data-dir (its private Redis listens on data_dir/redis/redis.sock)."""
        return Path(self._data_dir.name)

    def __enter__(self) -> DropinServer:
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | self._env
        output = self._log.open("ab") if self._log is not None else None
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "server", "serve", "--port", str(self.port), "--data-dir",
                 self._data_dir.name, "--log-level", "warning"],
                cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT if output else None,
            )
        finally:
            if output is not None:
                output.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/api/rooms", timeout=1).raise_for_status()
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.__exit__()
        raise SystemExit("the Dropin server did not start")

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._data_dir.cleanup()


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of `pid` and its descendants."""
    total = 0
    for each in process_tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def own_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of `pid` alone (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def start_time(pid: int) -> int | None:
    """When `pid` started (clock ticks after boot), to tell it from a later process given the same id."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def still_running(pid: int, started: int | None) -> bool:
    """Whether `pid` is still the process that started at `started` (see start_time), and not a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return started is not None and int(fields[19]) == started and fields[0] not in ("Z", "X")


def kill_leftovers(started: dict[int, int | None], grace_s: float = 0.0) -> list[int]:
    """SIGKILL each process of `started` (pid: its start_time) that still runs as that same
    process after up to `grace_s` seconds; returns the pids killed."""
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(still_running(pid, at) for pid, at in started.items()):
        time.sleep(0.1)
    killed = []
    for pid, at in started.items():
        if still_running(pid, at):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except OSError:
                pass
    return killed


def own_rss_bytes(pid: int) -> int:
    """Resident memory of `pid` alone (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def rss_bytes(pid: int) -> int:
    """Resident memory of `pid` and its descendants."""
    total = 0
    for each in process_tree(pid):
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def record_section(start: str, end: str, section: str) -> None:
    """Put `section` (which begins with marker `start` and ends with `end`) into docs/benchmarks.md,
    in place of the one a previous run wrote, or at the end."""
    path = REPO / "docs" / "benchmarks.md"
    text = path.read_text()
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: section, text, flags=re.DOTALL)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
