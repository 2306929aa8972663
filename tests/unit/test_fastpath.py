"""The C fan-out loop: real SRTP sessions, real UDP sockets, real Opus payloads."""

from __future__ import annotations

import os
import socket

import pytest
from aiortc.rtp import RtpPacket
from pylibsrtp import Policy, Session

from server.media import fastpath
from server.media.forwarder import Forwarder
from server.media.outlet import Outlet
from server.media.red import Red, wrap
from signaling.voice import voice_packets
from support import RecordingSocket

pytestmark = pytest.mark.skipif(fastpath.FanOut is None, reason="server.media._fanout is not built")


def server_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


class UdpListener:
    """A listener's end: a UDP socket and the SRTP session pair a DTLS handshake would have agreed.
    The server's side is its own socket, or `server_side` shared with others (one UDP port per node);
    `address` sends its packets elsewhere than to its browser's socket."""

    def __init__(self, server_side: socket.socket | None = None, address: tuple[str, int] | None = None) -> None:
        key = os.urandom(30)
        self.tx = Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND))
        self.rx = Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND))
        self.server_side = server_side or server_socket()
        self.browser_side = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.browser_side.bind(("127.0.0.1", 0))
        self.browser_side.settimeout(2)
        self.address = address or self.browser_side.getsockname()

    def ready(self) -> bool:
        return True

    def socket_target(self) -> tuple | None:
        if self.server_side.fileno() < 0:
            return None
        srtp = int(fastpath.ffi.cast("uintptr_t", self.tx._srtp[0]))
        return self.server_side.fileno(), srtp, self.tx, self.address

    def write(self, packet: bytes) -> bool:
        assert self.server_side.fileno() < 0, "an open UDP listener goes through the C loop"
        return False  # as MediaLink does once the connection is gone

    def receive(self) -> RtpPacket:
        return RtpPacket.parse(self.rx.unprotect(self.browser_side.recv(2048)))

    def nothing_received(self) -> bool:
        self.browser_side.setblocking(False)
        try:
            self.browser_side.recv(2048)
        except BlockingIOError:
            return True
        return False

    def close(self) -> None:
        self.server_side.close()
        self.browser_side.close()


def test_each_listener_gets_the_packet_under_its_own_ssrc_and_key() -> None:
    voice = voice_packets(0.2, seed=3)
    forwarder = Forwarder(1)
    listeners = [UdpListener() for _ in range(3)]
    try:
        for i, listener in enumerate(listeners):
            forwarder.attach(f"l{i}", [Outlet(ssrc=5000 + i, payload_type=111 - i, writer=listener)])
        forwarder.allow("speaker", True)
        for seq, packet in enumerate(voice, start=65530):  # wraps
            rtp = RtpPacket(payload_type=111, sequence_number=seq % 65536, timestamp=(4294966000 + 960 * seq) % 2**32,
                            ssrc=77, payload=packet.payload, marker=int(seq == 65530))
            rtp.extensions.audio_level = (False, 20)
            forwarder.on_packet("speaker", rtp)
        assert forwarder.stats.delivered == 3 * len(voice)
        for i, listener in enumerate(listeners):
            received = [listener.receive() for _ in voice]
            assert [r.payload for r in received] == [p.payload for p in voice]
            assert {r.ssrc for r in received} == {5000 + i} and {r.payload_type for r in received} == {111 - i}
            assert [r.marker for r in received[:2]] == [1, 0]
            seqs = [r.sequence_number for r in received]
            assert all((b - a) % 65536 == 1 for a, b in zip(seqs, seqs[1:]))
            stamps = [r.timestamp for r in received]
            assert all((b - a) % 2**32 == 960 for a, b in zip(stamps, stamps[1:]))
    finally:
        for listener in listeners:
            listener.close()


def test_a_listener_whose_socket_closed_is_skipped_safely() -> None:
    forwarder = Forwarder(1)
    gone, here = UdpListener(), UdpListener()
    try:
        forwarder.attach("gone", [Outlet(ssrc=1, payload_type=111, writer=gone)])
        forwarder.attach("here", [Outlet(ssrc=2, payload_type=111, writer=here)])
        forwarder.allow("speaker", True)

        def send(seq: int) -> None:
            payload = bytes([0xFC, seq])
            forwarder.on_packet("speaker", RtpPacket(payload_type=111, sequence_number=seq, timestamp=960 * seq, ssrc=9,
                                                     payload=payload))
            assert here.receive().payload == payload

        send(1)
        gone.close()  # aioice closed it; the loop still holds its own descriptor
        send(2)
        forwarder.refresh()  # its connection's state changed: it is left out from now on
        send(3)
        assert forwarder.stats.delivered == 2 + 2 + 1
    finally:
        here.close()


def test_red_variants_in_the_c_loop_match_the_python_writer() -> None:
    """A RED packet: each listener gets its variant under its payload type, from the C loop and
    from the Python writer alike."""
    payload = wrap(111, b"\xfcnow", ((960, b"\xfcbefore"),))
    kinds = [(111, 63), (109, 120), (96, None)]  # Chromium's, Firefox's, aiortc's (no RED)
    expected = [(63, payload), (120, Red.parse(payload).for_payload_type(109)), (96, b"\xfcnow")]
    forwarder = Forwarder(1)
    udp = [UdpListener() for _ in kinds]
    python = [RecordingSocket() for _ in kinds]
    try:
        for i, ((opus, red), writer) in enumerate(zip(kinds * 2, udp + python)):
            forwarder.attach(f"l{i}", [Outlet(ssrc=100 + i, payload_type=opus, writer=writer, red_payload_type=red)])
        forwarder.allow("speaker", True)
        for seq, (body, red) in enumerate([(payload, True), (b"\xfcplain", False)], start=1):
            packet = RtpPacket(payload_type=63 if red else 111, sequence_number=seq, timestamp=960 * seq, ssrc=9,
                               payload=body)
            packet.extensions.audio_level = (False, 20)
            forwarder.on_packet("speaker", packet, red)
        for listener, socket, (pt, body), (opus, _) in zip(udp, python, expected, kinds):
            first, second = listener.receive(), listener.receive()
            assert (first.payload_type, first.payload) == (pt, body)
            assert (second.payload_type, second.payload) == (opus, b"\xfcplain")
            assert [(p.payload_type, p.payload) for p in socket.packets] == [(pt, body), (opus, b"\xfcplain")]
        assert (forwarder.stats.red_passed, forwarder.stats.red_unwrapped) == (4, 2)
    finally:
        for listener in udp:
            listener.close()


@pytest.mark.parametrize("sockets", [1, 3, 7], ids=["one shared socket", "three sockets", "a socket each"])
def test_listeners_on_shared_sockets_each_get_their_packet(sockets: int) -> None:
    """Listeners on shared sockets, interleaved: the C loop sends each socket's share of a packet in
    one sendmmsg (sendto for a share of one), and each listener still gets the packet under its own
    SSRC, payload type and key."""
    shared = [server_socket() for _ in range(sockets)]
    listeners = [UdpListener(shared[i % sockets]) for i in range(7)]
    forwarder = Forwarder(1)
    try:
        for i, listener in enumerate(listeners):
            forwarder.attach(f"l{i}", [Outlet(ssrc=7000 + i, payload_type=96 + i, writer=listener)])
        forwarder.allow("speaker", True)
        payloads = [bytes([0xFC, seq]) * 20 for seq in range(5)]
        for seq, payload in enumerate(payloads):
            forwarder.on_packet("speaker", RtpPacket(payload_type=111, sequence_number=seq, timestamp=960 * seq,
                                                     ssrc=9, payload=payload))
        assert forwarder.stats.delivered == 7 * len(payloads)
        for i, listener in enumerate(listeners):
            received = [listener.receive() for _ in payloads]
            assert {(r.ssrc, r.payload_type) for r in received} == {(7000 + i, 96 + i)}
            assert [r.payload for r in received] == payloads
            seqs = [r.sequence_number for r in received]
            assert all((b - a) % 65536 == 1 for a, b in zip(seqs, seqs[1:]))
    finally:
        for listener in listeners:
            listener.close()


def test_a_partial_sendmmsg_resumes_after_the_message_it_stopped_at() -> None:
    """Eight listeners on one socket; four of them at destinations Linux refuses before queuing
    anything: port 0 (udp_sendmsg: EINVAL) and an IPv6 address on an IPv4 socket (EAFNOSUPPORT).
    sendmmsg stops at the first message that fails and returns how many went before it (or -1 if
    none did), so this batch takes, deterministically: -1 at message 0, 2 (messages 1 and 2) then
    -1 at message 3, 1 then -1 at message 5, 1 then -1 at message 7 (alone, so by sendto). The
    good listeners after each refusal still get their packet, and only theirs are counted, RED ones
    as RED."""
    shared = server_socket()
    port_zero, wrong_family = ("127.0.0.1", 0), ("::1", 9)
    kinds = [  # (destination, Opus payload type, RED payload type)
        (port_zero, 111, 63), (None, 111, 63), (None, 96, None), (wrong_family, 96, None),
        (None, 111, 63), (port_zero, 111, 63), (None, 96, None), (port_zero, 96, None),
    ]
    listeners = [UdpListener(shared, address) for address, _, _ in kinds]
    good = [listener for listener, (address, _, _) in zip(listeners, kinds) if address is None]
    fan_out = fastpath.SlotFanOut()
    try:
        fan_out.set(Outlet(ssrc=300 + i, payload_type=opus, writer=listener, red_payload_type=red)
                    for i, (listener, (_, opus, red)) in enumerate(zip(listeners, kinds)))
        payload = wrap(111, b"\xfcnow", ((960, b"\xfcbefore"),))
        assert fan_out.send(1, 960, 0, payload, Red.parse(payload)) == (4, 2)
        assert fan_out.send(2, 1920, 0, b"\xfcplain") == (4, 0)
        for listener, red in zip(good, [63, None, 63, None]):
            first, second = listener.receive(), listener.receive()
            assert (first.payload_type, first.payload) == ((63, payload) if red else (96, b"\xfcnow"))
            assert (second.payload_type, second.sequence_number, second.payload) == (
                111 if red else 96, 2, b"\xfcplain")
        assert all(listener.nothing_received() for listener in good)
    finally:
        for listener in listeners:
            listener.close()
