"""Helpers shared by the tests (importable because tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port on loopback that nothing is listening on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
