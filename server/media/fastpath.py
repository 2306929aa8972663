"""A slot's fan-out: everyone who hears one slot, and the loop that sends them each packet.

Listeners whose connection is a plain UDP ICE pair are served by the C loop in _fanout.c (header,
SRTP protect, sendto; no Python per listener). The others (a TURN-relayed pair, a connection
still coming up, an outlet numbered apart from its slot since an echo test, or an install
without the compiled module) go through their RtpWriter in Python.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from pylibsrtp._binding import ffi, lib  # type: ignore[import-not-found]  # pylibsrtp's cffi module has no stub

from server.media.outlet import Outlet

if TYPE_CHECKING:
    from server.media._fanout import FanOut as CompiledFanOut
    from server.media._fanout import Target


def _load_compiled() -> type[CompiledFanOut] | None:
    try:
        from server.media._fanout import FanOut
    except ImportError:  # not compiled: every listener takes the Python path
        logging.getLogger(__name__).warning("server.media._fanout is not built; forwarding in pure Python")
        return None
    return FanOut


FanOut = _load_compiled()

SRTP_PROTECT = int(ffi.cast("uintptr_t", ffi.addressof(lib, "srtp_protect")))


class SlotFanOut:
    """The listeners of one slot."""

    __slots__ = ("_compiled", "_python")

    def __init__(self) -> None:
        self._compiled: CompiledFanOut | None = FanOut(SRTP_PROTECT) if FanOut is not None else None
        self._python: list[Outlet] = []

    def set(self, outlets: Iterable[Outlet]) -> None:
        """Serve exactly `outlets` from now on."""
        targets: list[Target] = []
        python: list[Outlet] = []
        for outlet in outlets:
            socket = outlet.writer.socket_target() if self._compiled is not None and not outlet.shifted else None
            if socket is None:
                python.append(outlet)
            else:
                fd, srtp, session, (host, port) = socket
                targets.append((fd, srtp, host, port, outlet.payload_type, outlet.ssrc, session))
        if self._compiled is not None:
            self._compiled.set_targets(targets)
        self._python = python

    def send(self, seq: int, ts: int, marker: int, payload: bytes) -> int:
        """Send one packet to every listener; how many were handed to the network."""
        delivered = self._compiled.send(seq, ts, marker, payload) if self._compiled is not None else 0
        for outlet in self._python:
            if outlet.write(seq, ts, marker, payload):
                delivered += 1
        return delivered
