"""A real coturn (Debian's `turnserver`) for the TURN tests, on this machine's own address.

It runs with docker/turnserver.conf, the configuration operators get (`use-auth-secret`), and
only what a test must change on top: its address and free ports, the secret, and this machine's
address allowed as a peer (the configuration refuses private ranges other than Docker's). coturn
refuses loopback peers and aiortc never offers 127.0.0.1, so both ends meet on that address.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ifaddr

from support import REPO, stop

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
SECRET = "coturn-test-secret"


def machine_address() -> str:
    """This machine's first non-loopback IPv4 address."""
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ip.ip.startswith("127."):
                return ip.ip
    raise RuntimeError("the TURN tests need a non-loopback IPv4 address")


def free_udp_and_tcp_port(address: str) -> int:
    """A port free for both UDP and TCP on `address` (TURN listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((address, 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                with contextlib.suppress(OSError):
                    udp.bind((address, port))
                    return port


@dataclass(frozen=True)
class Coturn:
    address: str
    port: int
    secret: str
    log: Path

    def urls(self, *transports: str) -> list[str]:
        return [f"turn:{self.address}:{self.port}?transport={transport}" for transport in transports]

    def allocations_for(self, user: str) -> int:
        """How many relays coturn has allocated to credentials naming `user`."""
        lines = self.log.read_text(errors="replace").splitlines()
        return sum(1 for line in lines if f":{user}" in line and "ALLOCATE processed, success" in line)


@contextlib.contextmanager
def running_coturn(tmp_path: Path, secret: str = SECRET) -> Iterator[Coturn]:
    address = machine_address()
    port = free_udp_and_tcp_port(address)
    tmp_path.mkdir(parents=True, exist_ok=True)
    log_path = tmp_path / "coturn.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                TURNSERVER, "-c", str(REPO / "docker/turnserver.conf"), "--no-tls", "--no-dtls", "--verbose",
                f"--listening-ip={address}", f"--listening-port={port}", f"--relay-ip={address}",
                "--min-port=50000", "--max-port=50999", f"--allowed-peer-ip={address}",
                f"--static-auth-secret={secret}", "--log-file=stdout", "--simple-log",
                f"--pidfile={tmp_path / 'coturn.pid'}", f"--userdb={tmp_path / 'coturn.db'}",
            ],
            stdout=log, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 10
    while True:  # ready once its TCP listener takes connections
        try:
            socket.create_connection((address, port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"coturn did not start:\n{log_path.read_text(errors='replace')}") from None
            time.sleep(0.1)
    try:
        yield Coturn(address, port, secret, log_path)
    finally:
        stop(process, timeout=5)
