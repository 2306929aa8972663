"""One UDP port for every peer connection of a node, as mediasoup's WebRtcServer and LiveKit's
`rtc.udp_port` have it: one port to open in a firewall or a container, and one socket whose
descriptor the C fan-out loop sends a whole packet's fan-out on.

A node binds the port once on each of its host addresses (the addresses aioice would gather). A
peer connection adopted by the mux gathers no sockets of its own: each of its host candidates is
a `MuxedProtocol` (aioice's StunProtocol over a `SharedTransport`) on a shared socket. A datagram
arriving on a shared socket goes to the peer its sender belongs to:

1. by the sender's address, once known: a peer claims an address when it sends to it (its own
   connectivity checks) and when that address sends it a valid binding request;
2. an unknown sender's STUN binding request by its USERNAME (`<our ufrag>:<theirs>`): the peer
   with that local ufrag, if its MESSAGE-INTEGRITY checks with that peer's password;
3. a STUN response by its transaction (a STUN server's answer to several peers comes from one
   address);
4. anything else is dropped and counted (`unknown`).

ICE, consent freshness and DTLS then run as aioice and aiortc run them on a socket of their own.
A peer's addresses and ufrag are released when its connection closes, so what its browser still
sends is counted as unknown. TURN (the node never relays itself) is left to aioice. Behind a
1:1 NAT or in a container whose port is published, `announced_ip` is the address candidates name
(mediasoup's announcedAddress), so browsers reach the node directly.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Sequence
from typing import Any

from aioice import stun
from aioice.candidate import Candidate, candidate_foundation, candidate_priority
from aioice.ice import Connection, StunProtocol, get_host_addresses, server_reflexive_candidate

log = logging.getLogger(__name__)

Address = tuple[Any, ...]
BUFFER_BYTES = 8 * 1024 * 1024  # every peer's packets share one socket's buffers
ANY_PORT_TRIES = 20


class SharedTransport(asyncio.DatagramTransport):
    """One peer's view of a shared socket: sends go out on it; closing releases the peer."""

    def __init__(self, shared: SharedSocket, protocol: MuxedProtocol) -> None:
        super().__init__()
        self._shared = shared
        self._protocol = protocol
        self._closing = False

    def sendto(self, data: Any, addr: Any = None) -> None:
        self._shared.claim(addr, self._protocol)
        self._shared.transport.sendto(data, addr)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._shared.transport.get_extra_info(name, default)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self._shared.release(self._protocol)
            self._protocol.connection_lost(None)


class MuxedProtocol(StunProtocol):
    """aioice's protocol for one host candidate, on a shared socket."""

    def __init__(self, connection: Connection, shared: SharedSocket, component: int) -> None:
        super().__init__(connection)
        self.connection = connection
        self.connection_made(SharedTransport(shared, self))
        host, port = shared.announced or shared.address[0], shared.address[1]
        self.local_candidate = Candidate(
            foundation=candidate_foundation("host", "udp", host), component=component, transport="udp",
            priority=candidate_priority(component, "host"), host=host, port=port, type="host",
        )


class SharedSocket(asyncio.DatagramProtocol):
    """The socket on one host address, and which peer each sender belongs to."""

    def __init__(self, mux: UdpMux) -> None:
        self.mux = mux
        self.transport: asyncio.DatagramTransport
        self.address: Address = ()
        self.announced: str | None = None  # what candidates name instead of `address`'s host
        self._by_ufrag: dict[str, MuxedProtocol] = {}
        self._by_sender: dict[Address, MuxedProtocol] = {}
        self._senders: dict[MuxedProtocol, set[Address]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram endpoint's transport
        self.address = transport.get_extra_info("sockname")

    def attach(self, connection: Connection, component: int) -> MuxedProtocol:
        protocol = MuxedProtocol(connection, self, component)
        self._by_ufrag[connection.local_username] = protocol
        self._senders[protocol] = set()
        return protocol

    def claim(self, addr: Address, protocol: MuxedProtocol) -> None:
        """Datagrams from `addr` are `protocol`'s from now on (the first peer to claim it keeps it)."""
        addr = addr[:2]
        if addr not in self._by_sender and protocol in self._senders:
            self._by_sender[addr] = protocol
            self._senders[protocol].add(addr)

    def release(self, protocol: MuxedProtocol) -> None:
        for addr in self._senders.pop(protocol, ()):
            del self._by_sender[addr]
        if self._by_ufrag.get(protocol.connection.local_username) is protocol:
            del self._by_ufrag[protocol.connection.local_username]

    @property
    def peers(self) -> int:
        return len(self._senders)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        addr = addr[:2]
        protocol = self._by_sender.get(addr)
        if protocol is None or (data[:1] in (b"\x00", b"\x01") and _stray_response(data, protocol)):
            protocol = self._route_stun(data, addr)
            if protocol is None:
                self.mux.unknown += 1
                return
        protocol.datagram_received(data, addr)

    def _route_stun(self, data: bytes, addr: Address) -> MuxedProtocol | None:
        """The peer an unknown sender's STUN message is for, if it is one of ours."""
        try:
            message = stun.parse_message(data)
        except ValueError:
            return None
        if message.message_class in (stun.Class.RESPONSE, stun.Class.ERROR):
            tid = message.transaction_id
            return next((p for p in self._senders if tid in p.transactions), None)
        if message.message_class != stun.Class.REQUEST or "USERNAME" not in message.attributes:
            return None
        protocol = self._by_ufrag.get(str(message.attributes["USERNAME"]).split(":", 1)[0])
        if protocol is None or not message.check_message_integrity(protocol.connection.local_password.encode()):
            return None
        self.claim(addr, protocol)
        return protocol

    def error_received(self, exc: Exception) -> None:
        log.debug("media socket %s: %s", self.address, exc)


def _stray_response(data: bytes, protocol: MuxedProtocol) -> bool:
    """Whether a STUN response from a known sender is for another peer's transaction (a STUN
    server answering several peers from one address)."""
    return len(data) >= 20 and data[0:2] in (b"\x01\x01", b"\x01\x11") and data[8:20] not in protocol.transactions


class UdpMux:
    """A node's shared media sockets: `open` once, then `adopt` each peer's ICE connection."""

    def __init__(self, announced_ip: str | None = None) -> None:
        """`announced_ip`: the address browsers reach the port on when it isn't one of the host's
        own (a container's published port, a 1:1 NAT): the first IPv4 socket's candidates name it."""
        self.announced_ip = announced_ip
        self.sockets: list[SharedSocket] = []
        self.port = 0
        self.unknown = 0
        """Datagrams from senders that are none of our peers': dropped."""

    async def open(self, port: int, tries: int = 1, addresses: Sequence[str] | None = None) -> int:
        """Bind `port` on every host address (or `addresses`); with `tries`, the first of port,
        port + 1, ... that is free on all of them (workers sharing a range). Port 0: a free one,
        the kernel's pick on the first address, picked again if another address has it in use.
        Returns the port."""
        hosts = list(addresses) if addresses is not None else get_host_addresses(use_ipv4=True, use_ipv6=True)
        wanted = [port + n for n in range(tries)] if port else [0] * ANY_PORT_TRIES
        for attempt, candidate in enumerate(wanted, 1):
            try:
                await self._bind(hosts, candidate)
                return self.port
            except OSError as exc:
                await self.close()
                if exc.errno != errno.EADDRINUSE or attempt == len(wanted):
                    raise
        raise ValueError("tries must be at least 1")

    async def _bind(self, hosts: list[str], port: int) -> None:
        loop = asyncio.get_running_loop()
        for host in hosts:
            _, shared = await loop.create_datagram_endpoint(lambda: SharedSocket(self), local_addr=(host, port))
            port = port or shared.address[1]  # the others take the port the first was given
            _enlarge_buffers(shared.transport.get_extra_info("socket"))
            self.sockets.append(shared)
        self.port = port
        ipv4 = next((shared for shared in self.sockets if "." in shared.address[0]), None)
        if ipv4 is not None:
            ipv4.announced = self.announced_ip

    def adopt(self, connection: Connection) -> None:
        """Make `connection` gather its host candidates on the shared sockets (before it gathers)."""
        gather_others = connection.get_component_candidates

        async def get_component_candidates(component: int, addresses: list[str], timeout: int = 5) -> list[Candidate]:
            protocols = [s.attach(connection, component) for s in self.sockets if s.address[0] in addresses]
            connection._protocols += protocols
            candidates = [p.local_candidate for p in protocols]
            if connection.stun_server:
                queries = [server_reflexive_candidate(p, connection.stun_server) for p in protocols
                           if "." in p.local_candidate.host]
                for answer in await asyncio.gather(*(asyncio.wait_for(q, timeout) for q in queries),
                                                   return_exceptions=True):
                    if not isinstance(answer, BaseException):
                        candidates.append(answer[0])
            return candidates + await gather_others(component, [], timeout)  # TURN, if any: aioice's own

        connection.get_component_candidates = get_component_candidates  # type: ignore[method-assign]

    @property
    def peers(self) -> int:
        return sum(s.peers for s in self.sockets)

    async def close(self) -> None:
        for shared in self.sockets:
            shared.transport.close()
        self.sockets = []


SO_SNDBUFFORCE, SO_RCVBUFFORCE = 32, 33  # Linux's; Python's socket module doesn't name them


def _enlarge_buffers(sock: socket.socket) -> None:
    for forced, option in ((SO_RCVBUFFORCE, socket.SO_RCVBUF), (SO_SNDBUFFORCE, socket.SO_SNDBUF)):
        try:
            sock.setsockopt(socket.SOL_SOCKET, forced, BUFFER_BYTES)  # past rmem_max/wmem_max: needs root
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, option, BUFFER_BYTES)
