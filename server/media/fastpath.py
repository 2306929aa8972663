"""A slot's fan-out: everyone who hears one slot, and the loop that sends them each packet.

Listeners whose connection is a plain UDP ICE pair are served by the C loop in _fanout.c (header,
SRTP protect, sendto; no Python per listener). The others (a TURN-relayed pair, a connection
still coming up, an outlet numbered apart from its slot since an echo test, or an install
without the compiled module) go through their RtpWriter in Python.

A speaker's RED packet (server/media/red.py) goes out in variants, each made once per packet: the
primary alone for listeners who did not negotiate RED, and RED with its blocks numbered as the
listener's Opus for each distinct Opus payload type among those who did. Each listener has the
index of its variant; a plain Opus packet is one variant for everyone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from pylibsrtp._binding import ffi, lib  # type: ignore[import-not-found]  # pylibsrtp's cffi module has no stub

from server.media.outlet import Outlet
from server.media.red import Red

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

    __slots__ = ("_compiled", "_python", "_red_types", "_plain")

    def __init__(self) -> None:
        self._compiled: CompiledFanOut | None = FanOut(SRTP_PROTECT) if FanOut is not None else None
        self._python: list[tuple[Outlet, int]] = []  # with the index of the variant of RED they get
        self._red_types: tuple[int, ...] = ()  # the Opus payload types of RED variants 1, 2, ...
        self._plain = False  # whether anyone gets a RED packet's primary alone (variant 0)

    def set(self, outlets: Iterable[Outlet]) -> None:
        """Serve exactly `outlets` from now on."""
        targets: list[Target] = []
        python: list[tuple[Outlet, int]] = []
        red_types: dict[int, int] = {}  # listener's Opus payload type -> its RED variant
        plain = False
        for outlet in outlets:
            red = outlet.red_payload_type
            variant = 0 if red is None else red_types.setdefault(outlet.payload_type, len(red_types) + 1)
            plain |= variant == 0
            socket = outlet.writer.socket_target() if self._compiled is not None and not outlet.shifted else None
            if socket is None:
                python.append((outlet, variant))
            else:
                fd, srtp, session, (host, port) = socket
                red_type = outlet.payload_type if red is None else red
                targets.append((fd, srtp, host, port, outlet.payload_type, red_type, variant, outlet.ssrc, session))
        if self._compiled is not None:
            self._compiled.set_targets(targets)
        self._python, self._red_types, self._plain = python, tuple(red_types), plain

    def send(self, seq: int, ts: int, marker: int, payload: bytes, red: Red | None = None) -> tuple[int, int]:
        """Send one packet, Opus or (`red`) RED, to every listener; how many were handed to the
        network, and how many of those as RED."""
        if red is None:
            payloads: tuple[bytes, ...] = (payload,)
        else:
            primary = red.primary() if self._plain else b""
            payloads = (primary, *(red.for_payload_type(opus) for opus in self._red_types))
        is_red = red is not None
        delivered, as_red = self._compiled.send(seq, ts, marker, payloads, is_red) if self._compiled else (0, 0)
        for outlet, variant in self._python:
            variant = variant if is_red else 0
            if outlet.write(seq, ts, marker, payloads[variant], variant > 0):
                delivered += 1
                as_red += variant > 0
        return delivered, as_red
