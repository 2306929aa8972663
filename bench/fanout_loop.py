"""Does the C fan-out loop earn its place? The per-listener loop alone, C against Python.

One process, one Forwarder, N listeners on real loopback UDP sockets with real SRTP sessions,
Opus-sized payloads. The same packets go through the C loop (server/media/_fanout.c) and through
the Python writer path (what every listener takes when the module is not built); we time CPU
per delivered packet for each, alternating rounds, and print the ratio. The C loop runs twice:
with a socket per listener (aioice's own), and with one socket for all of them (one UDP port per
node), where a packet's whole fan-out is one sendmmsg.

    .venv/bin/python bench/fanout_loop.py [--listeners 200] [--packets 500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from aiortc.rtp import RtpPacket  # noqa: E402
from pylibsrtp import Policy, Session  # noqa: E402

from server.media import fastpath  # noqa: E402
from server.media.forwarder import Forwarder  # noqa: E402
from server.media.outlet import Outlet  # noqa: E402
from signaling.voice import voice_packets  # noqa: E402


class Listener:
    """The server's end of one listener: its socket, its SRTP session, where its browser is."""

    def __init__(self, compiled: bool, shared: socket.socket | None) -> None:
        self.session = Session(Policy(key=os.urandom(30), ssrc_type=Policy.SSRC_ANY_OUTBOUND))
        self.sock = shared or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if shared is None:
            self.sock.bind(("127.0.0.1", 0))
        self.browser = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.browser.bind(("127.0.0.1", 0))
        self.browser.setblocking(False)
        self.compiled = compiled

    def ready(self) -> bool:
        return True

    def socket_target(self) -> tuple | None:
        if not self.compiled:
            return None
        srtp = int(fastpath.ffi.cast("uintptr_t", self.session._srtp[0]))
        return self.sock.fileno(), srtp, self.session, self.browser.getsockname()

    def write(self, packet: bytes) -> bool:  # the Python path: what MediaLink.write does
        self.sock.sendto(self.session.protect(packet), self.browser.getsockname())
        return True

    def drain(self) -> None:
        try:
            while True:
                self.browser.recv(2048)
        except BlockingIOError:
            pass


def cpu_per_packet(compiled: bool, listeners: int, packets: int, one_socket: bool = False) -> float:
    voice = voice_packets(2.0)
    forwarder = Forwarder(1)
    shared = socket.socket(socket.AF_INET, socket.SOCK_DGRAM) if one_socket else None
    if shared is not None:
        shared.bind(("127.0.0.1", 0))
    ends = [Listener(compiled, shared) for _ in range(listeners)]
    for i, end in enumerate(ends):
        forwarder.attach(i, [Outlet(ssrc=1000 + i, payload_type=111, writer=end)])
    forwarder.allow("speaker", True)
    spent = 0.0
    for seq in range(packets):
        packet = RtpPacket(payload_type=111, sequence_number=seq, timestamp=960 * seq, ssrc=1,
                           payload=voice[seq % len(voice)].payload)
        packet.extensions.audio_level = (False, 30)
        start = time.process_time()
        forwarder.on_packet("speaker", packet)
        spent += time.process_time() - start
        if seq % 10 == 9:
            for end in ends:
                end.drain()
    for end in ends:
        end.sock.close()
        end.browser.close()
    return spent / forwarder.stats.delivered * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=int, default=200)
    parser.add_argument("--packets", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if fastpath.FanOut is None:
        sys.exit("server.media._fanout is not built: pip install -e . first")
    c_rounds, one_rounds, py_rounds = [], [], []
    for _ in range(args.rounds):
        c_rounds.append(cpu_per_packet(True, args.listeners, args.packets))
        one_rounds.append(cpu_per_packet(True, args.listeners, args.packets, one_socket=True))
        py_rounds.append(cpu_per_packet(False, args.listeners, args.packets))
    c, one, py = (statistics.median(rounds) for rounds in (c_rounds, one_rounds, py_rounds))
    line = f"| {args.listeners} | {c:.2f} µs | {one:.2f} µs | {py:.2f} µs | {c / py:.2f} | {one / py:.2f} |"
    table = ("| listeners | C loop, a socket each | C loop, one socket | Python path | C / Python "
             "| one socket / Python |\n| ---: | ---: | ---: | ---: | ---: | ---: |\n" + line + "\n")
    print(table)
    if not args.no_write:
        machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        command = "python bench/fanout_loop.py " + " ".join(sys.argv[1:])
        with open(REPO / "docs" / "benchmarks.md", "a") as doc:
            doc.write(
                f"\n## The fan-out loop, C against Python ({time.strftime('%Y-%m-%d')})\n\n`{command.strip()}` on "
                f"{machine}. CPU per delivered packet inside `Forwarder.on_packet` (header, SRTP protect, send "
                "to a loopback socket nobody is waiting on, so cheaper than in the fan-out run), median of "
                f"{args.rounds} alternating rounds.\n\n" + table
            )


if __name__ == "__main__":
    main()
