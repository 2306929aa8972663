"""A MediaLink: one member's secured media path, the ICE connection and the SRTP sessions DTLS
keyed on it, read and written without aiortc's per-stream machinery.

Incoming SRTP and SRTCP are taken straight from the connection's sockets (its aioice protocols,
TURN included): unprotected, parsed and handed on the spot, with no hop through aioice's queue
and aiortc's coroutines. STUN goes on to aioice (connectivity checks, consent freshness), and so
does DTLS while aiortc still holds the connection. Outgoing RTP and RTCP are protected and sent on
the caller's stack, or by the C fan-out loop, which takes the socket and SRTP session from
`socket_target`.

Once the DTLS handshake is done, the link is all a Peer needs: it lets aiortc's peer connection
go (server/media/peer.py), and DTLS records that still arrive are dropped (nothing reads them).

This relies on aiortc, aioice and pylibsrtp internals, checked by aiortc_adapter.check_internals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aioice.ice import CandidatePair, Connection
from aioice.turn import TurnTransport
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtp import HeaderExtensionsMap, RtpPacket
from pylibsrtp import Session
from pylibsrtp._binding import ffi  # type: ignore[import-not-found]  # pylibsrtp's cffi module has no stub

SocketTarget = tuple[int, int, Session, tuple[str, int]]


def is_rtp(data: bytes) -> bool:
    """Whether a datagram on a WebRTC socket is (S)RTP: not STUN or DTLS by its first byte, and
    not RTCP by its packet type (RFC 5761)."""
    return len(data) > 12 and 0x80 <= data[0] < 0xC0 and not 192 <= data[1] <= 223


def is_dtls(data: bytes) -> bool:
    """Whether a datagram is a DTLS record, by its first byte (RFC 7983)."""
    return bool(data) and 20 <= data[0] < 64


class MediaLink:
    """A member's media path: unkeyed until DTLS connects, then SRTP both ways."""

    __slots__ = ("_connection", "_extensions", "_nominated", "_rx", "_tx", "_target", "_target_pair",
                 "connected", "dtls_done")

    def __init__(self, connection: Connection, extensions: HeaderExtensionsMap) -> None:
        self._connection = connection
        self._extensions = extensions  # configured by aiortc from the negotiated parameters
        self._nominated: dict[int, CandidatePair] = connection._nominated
        self._rx: Session | None = None
        self._tx: Session | None = None
        self._target: SocketTarget | None = None
        self._target_pair: CandidatePair | None = None  # the pair `_target` was read from
        self.connected = False
        self.dtls_done = False  # aiortc let go: DTLS records are dropped from now on

    @classmethod
    def of(cls, dtls: RTCDtlsTransport) -> MediaLink:
        """The link of an aiortc DTLS transport (keyed already if it has connected)."""
        link = cls(dtls.transport._connection, dtls._rtp_header_extensions_map)
        if dtls.state == "connected":
            link.key(dtls)
        return link

    def key(self, dtls: RTCDtlsTransport) -> None:
        """Take the SRTP sessions of `dtls`, which has just connected."""
        self._tx, self._rx = dtls._tx_srtp, dtls._rx_srtp
        self.connected = True

    def tap(self, on_rtp: Callable[[RtpPacket], None], on_rtcp: Callable[[bytes], None]) -> None:
        """Hand every SRTP packet from the peer, parsed, to `on_rtp`, and every compound SRTCP
        packet, unprotected, to `on_rtcp`. Call once the connection has gathered its candidates."""
        for protocol in self._connection._protocols:

            def datagram_received(
                data: bytes,
                addr: tuple[Any, ...],
                forward: Callable[[bytes, tuple[Any, ...]], None] = protocol.datagram_received,
            ) -> None:
                rx = self._rx
                if rx is None or not 0x80 <= data[0] < 0xC0:
                    if not (self.dtls_done and is_dtls(data)):
                        forward(data, addr)  # STUN; DTLS while aiortc reads it; media before SRTP is keyed
                    return
                rtp = is_rtp(data)
                try:
                    plain = rx.unprotect(data) if rtp else rx.unprotect_rtcp(data)
                    packet = RtpPacket.parse(plain, self._extensions) if rtp else None
                except Exception:  # forged, replayed or malformed: dropped, as aiortc would
                    return
                if packet is None:
                    on_rtcp(plain)
                else:
                    on_rtp(packet)

            # method-assign: the tap replaces the method on this instance. assignment: aioice types
            # `data` as bytes | str, but a datagram endpoint is only ever handed bytes.
            protocol.datagram_received = datagram_received  # type: ignore[method-assign,assignment]

    def ready(self) -> bool:
        return self.connected

    def write(self, packet: bytes) -> bool:
        """Send RTP `packet`; False if the link is not (or no longer) connected."""
        return self._send(packet, rtcp=False)

    def write_rtcp(self, packet: bytes) -> bool:
        """Send a compound RTCP `packet` (SRTCP); False if not connected."""
        return self._send(packet, rtcp=True)

    def _send(self, packet: bytes, rtcp: bool) -> bool:
        tx = self._tx
        pair = self._nominated.get(1)
        if not self.connected or tx is None or pair is None or (transport := pair.protocol.transport) is None:
            return False
        # A relayed (TURN) pair's transport queues the send itself; a host pair's is a UDP socket.
        transport.sendto(tx.protect_rtcp(packet) if rtcp else tx.protect(packet), pair.remote_addr)
        return True

    def socket_target(self) -> SocketTarget | None:
        """For the C fan-out loop: (socket descriptor, srtp_t address, the pylibsrtp Session that
        owns it, remote address) once connected on a plain UDP pair; None otherwise (TURN too).
        Read once per connected pair: every join rebuilds each slot's fan-out from everyone's."""
        pair = self._nominated.get(1)
        if not self.connected or pair is None or self._tx is None:
            return None
        if pair is self._target_pair:
            return self._target
        transport = pair.protocol.transport
        socket = transport.get_extra_info("socket") if transport is not None else None
        if socket is None or isinstance(transport, TurnTransport) or socket.fileno() < 0:
            return None
        self._target_pair = pair
        self._target = socket.fileno(), int(ffi.cast("uintptr_t", self._tx._srtp[0])), self._tx, pair.remote_addr[:2]
        return self._target

    def relayed(self) -> bool:
        """Whether the selected pair goes through a TURN relay (the member's or this node's)."""
        pair = self._nominated.get(1)
        return pair is not None and "relay" in (pair.local_candidate.type, pair.remote_candidate.type)
