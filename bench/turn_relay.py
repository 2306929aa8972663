"""Listener bots behind TURN, for bench/turn.py (and the TURN server that bench/red.py shares).

The node never allocates a relay of its own (server/media/turn.py), so a listener behind TURN is,
to the node, just another remote address: coturn's relay. `turn_server` starts a real coturn on
this machine's address (tests/coturn.py, as the TURN tests run it) and the Dropin environment
that hands each member credentials for it; the listener bots then connect with `relay_only`.

A relayed connection's datagrams reach the bot on its TURN client's socket (to coturn) wrapped
in ChannelData. `RelayedListener` is bench/bots.py's `RawListener` reading that socket instead:
each datagram is unwrapped (4 bytes) before the RTP is unprotected and counted as usual; TURN's
own messages (refresh and channel-bind responses, Data indications) go to aioice's TURN client,
and STUN, DTLS and RTCP from the node to aiortc, as they would without the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from aioice.turn import is_channel_data  # noqa: E402
from coturn import Coturn, running_coturn  # noqa: E402  (tests/coturn.py)

from bench.bots import SO_TIMESTAMPNS, RawListener  # noqa: E402


@dataclass(frozen=True)
class TurnServer:
    coturn: Coturn
    pid: int  # coturn's process, for its CPU time

    def dropin_env(self) -> dict[str, str]:
        """What `dropin serve` needs to hand members TURN credentials for this coturn (UDP)."""
        return {"DROPIN_TURN_URLS": ",".join(self.coturn.urls("udp")), "DROPIN_TURN_SECRET": self.coturn.secret}


@contextlib.contextmanager
def turn_server() -> Iterator[TurnServer]:
    """A coturn on this machine's address, as tests/coturn.py runs it, in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="dropin-bench-coturn-") as directory:
        with running_coturn(Path(directory)) as coturn:
            pidfile = Path(directory) / "coturn.pid"
            pid = int(pidfile.read_text().split()[0]) if pidfile.exists() else coturn_pid(coturn.port)
            yield TurnServer(coturn, pid)


def coturn_pid(port: int) -> int:
    """coturn's process id from its command line, if it wrote no pidfile."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                command = (entry / "cmdline").read_bytes().split(b"\0")
                if command[0].endswith(b"turnserver") and f"--listening-port={port}".encode() in command:
                    return int(entry.name)
    raise RuntimeError("coturn's process was not found")


class _ChannelDataSocket:
    """A TURN client's socket, read as if the peers' datagrams arrived on it unwrapped."""

    def __init__(self, sock: socket.socket, turn_client: Any) -> None:
        self._sock = sock
        self._turn_client = turn_client  # aioice's TurnClientUdpProtocol

    def recvmsg(self, size: int, ancillary_size: int) -> tuple[bytes, list[tuple[int, int, bytes]], int, Any]:
        while True:  # BlockingIOError once nothing waits, as from a plain socket
            data, ancillary, flags, addr = self._sock.recvmsg(size, ancillary_size)
            if len(data) >= 4 and is_channel_data(data):
                channel, length = struct.unpack_from("!HH", data)
                peer = self._turn_client.channel_to_peer.get(channel)
                if peer is not None:
                    return data[4 : 4 + length], ancillary, flags, peer
                continue
            self._turn_client.datagram_received(data, addr)  # TURN's own (or a Data indication)

    def close(self) -> None:
        self._sock.close()


class RelayedListener(RawListener):
    """A RawListener on a relay-only connection: it reads the TURN client's socket to coturn."""

    def attach(self) -> None:
        dtls = self.pc.getTransceivers()[0].receiver.transport
        self._unprotect = dtls._rx_srtp.unprotect
        for protocol in dtls.transport._connection._protocols:
            turn_client = getattr(protocol.transport, "_TurnTransport__inner_protocol", None)
            if turn_client is None or turn_client.transport is None:
                continue
            theirs = turn_client.transport.get_extra_info("socket")
            sock = socket.socket(theirs.family, theirs.type, fileno=os.dup(theirs.fileno()))
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            turn_client.transport.pause_reading()
            self._socks.append((_ChannelDataSocket(sock, turn_client), protocol))  # type: ignore[arg-type]
        if not self._socks:
            raise ConnectionError("a relay-only listener without a TURN allocation")
        self._reports = asyncio.create_task(self._report(dtls))
