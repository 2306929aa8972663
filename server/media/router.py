"""The MediaRouter: a node's media plane, a Forwarder per room and a Peer per member.

It knows packets and peer connections, not Redis: role changes reach it as calls to `allow`.
A clock ticks every TICK_S: each Forwarder re-balances its slots and announces who is speaking,
and each Peer sends the RTCP reports that are due. Every QUALITY_EVERY_S each member's connection
quality is read from their Peer, and a change worth announcing goes to `on_quality_changed`.
It also runs echo tests, at most one per member every ECHO_EVERY_S.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

from aiortc import RTCIceServer

from server.domain.events import Quality
from server.media.forwarder import Forwarder, MemberId
from server.media.meters import loss_heard
from server.media.peer import Peer
from server.media.quality import QualityTracker
from server.media.udp_mux import UdpMux
from vocabulary.errors import DropinError, ErrorCode

log = logging.getLogger(__name__)

TICK_S = 0.3
# A peer connection is thousands of long-lived objects, and a full collection over a few hundred
# of them stalled forwarding for 100-300 ms. So each new peer is frozen out of the collector
# (gc.freeze) once negotiated; after this many peers have closed, everything is unfrozen and
# collected once, to reclaim the cycles the closed ones left: one pause per this many departures.
RECLAIM_AFTER = 100
QUALITY_EVERY_S = 1.0
ECHO_EVERY_S = 30.0
SpeakersChanged = Callable[[str, set[MemberId], list[MemberId | None]], None]
QualityChanged = Callable[[str, MemberId, Quality], None]


class MediaRouter:
    """Creates members' peer connections and routes their packets through their room's Forwarder."""

    def __init__(
        self, ice_servers: list[RTCIceServer], on_speakers_changed: SpeakersChanged | None = None,
        mux: UdpMux | None = None,
    ) -> None:
        """`mux`: the node's one UDP port for every peer (None: a socket per peer connection)."""
        self.ice_servers = ice_servers
        self.mux = mux
        self.on_speakers_changed = on_speakers_changed  # who hears of it: set by whoever seats the members
        self.on_quality_changed: QualityChanged | None = None  # likewise
        self._forwarders: dict[str, Forwarder] = {}
        self._peers: dict[tuple[str, MemberId], Peer] = {}
        self._quality: dict[tuple[str, MemberId], QualityTracker] = {}  # kept across a member's new offers
        self._next_quality = 0.0
        self._echoed: dict[tuple[str, MemberId], float] = {}  # when each member's latest echo test began
        self._clock: asyncio.Task[None] | None = None
        self._closed_since_reclaim = 0

    def start(self) -> None:
        self._clock = asyncio.create_task(self._tick())

    def open_room(self, room_id: str, slot_count: int) -> Forwarder:
        """The room's Forwarder, created with `slot_count` slots if this node has none yet."""
        forwarder = self._forwarders.get(room_id)
        if forwarder is None:
            notify = self.on_speakers_changed
            forwarder = Forwarder(
                slot_count,
                on_speakers_changed=(lambda speaking, holders: notify(room_id, speaking, holders)) if notify else None,
            )
            self._forwarders[room_id] = forwarder
        return forwarder

    def rooms(self) -> dict[str, Forwarder]:
        """The rooms whose media is open on this node."""
        return dict(self._forwarders)

    def peer_count(self) -> int:
        return len(self._peers)

    def relayed_peers(self) -> int:
        """Peer connections whose selected ICE pair goes through a TURN relay."""
        return sum(peer.relayed for peer in self._peers.values())

    def forwarder(self, room_id: str) -> Forwarder:
        forwarder = self._forwarders.get(room_id)
        if forwarder is None:
            raise DropinError(ErrorCode.NOT_JOINED, "the room's media is not open on this node")
        return forwarder

    def stats(self) -> dict[str, object]:
        """Totals over this node's rooms, and how long the latest forwarded packets took."""
        all_stats = [forwarder.stats for forwarder in self._forwarders.values()]
        return {
            "rooms": len(self._forwarders),
            "peers": len(self._peers),
            "udp_port": self.mux.port if self.mux else None,
            "unknown_datagrams": self.mux.unknown if self.mux else 0,
            **{name: sum(getattr(stats, name) for stats in all_stats)
               for name in ("received", "forwarded", "delivered", "dropped_not_speaker", "dropped_no_slot",
                            "relayed_up", "red_passed", "red_unwrapped", "dropped_malformed_red")},
            "forward_us": _distribution(ns for stats in all_stats for ns in stats.forward_ns),
            "forward_cpu_us": _distribution(ns for stats in all_stats for ns in stats.forward_cpu_ns),
        }

    async def negotiate(self, room_id: str, member: MemberId, offer_sdp: str) -> str:
        """Answer a member's offer with a new peer connection, replacing any earlier one."""
        await self._close_peer(room_id, member)
        forwarder = self.forwarder(room_id)
        peer = Peer(
            member,
            self.ice_servers,
            len(forwarder.slots),
            on_packet=lambda packet, red: forwarder.on_packet(member, packet, red),
            on_transport_change=forwarder.refresh,
            mux=self.mux,
        )
        answer = await peer.answer(offer_sdp)  # a refused offer leaves the peer closed
        self._peers[(room_id, member)] = peer
        self._quality.setdefault((room_id, member), QualityTracker(time.monotonic()))
        forwarder.attach(member, peer.outlets)
        gc.freeze()  # see RECLAIM_AFTER
        return answer

    async def add_candidate(
        self, room_id: str, member: MemberId, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        peer = self._peers.get((room_id, member))
        if peer is None:
            raise DropinError(ErrorCode.NO_OFFER, "send an offer before ICE candidates")
        await peer.add_candidate(candidate, sdp_mid, sdp_mline_index)

    def allow(self, room_id: str, member: MemberId, allowed: bool) -> None:
        """Start or stop forwarding the member's audio to the room (if its media is open here)."""
        forwarder = self._forwarders.get(room_id)
        if forwarder is not None:
            forwarder.allow(member, allowed)

    def echo(self, room_id: str, member: MemberId, seconds: float) -> int:
        """Start an echo test for the member (see Forwarder.echo); returns the slot it is on."""
        now = time.monotonic()
        self._echoed = {key: at for key, at in self._echoed.items() if now - at < ECHO_EVERY_S}
        began = self._echoed.get((room_id, member))
        if began is not None:
            wait = math.ceil(ECHO_EVERY_S - (now - began))
            every = f"{ECHO_EVERY_S:.0f} s"
            raise DropinError(ErrorCode.RATE_LIMITED, f"one echo test every {every}; try again in {wait} s")
        if (room_id, member) not in self._peers:
            raise DropinError(ErrorCode.NO_OFFER, "an echo test needs your audio connection: send an offer first")
        slot = self.forwarder(room_id).echo(member, seconds)
        self._echoed[(room_id, member)] = now
        return slot

    async def remove(self, room_id: str, member: MemberId, gone: bool = False) -> None:
        """Drop the member from the room's media: their peer connection closes. If they are `gone`
        (their connection dropped, their place is kept), their quality is announced `lost`."""
        forwarder = self._forwarders.get(room_id)
        if forwarder is not None:
            forwarder.detach(member)
        tracker = self._quality.pop((room_id, member), None)
        lost = tracker.gone() if tracker is not None and gone else None
        if lost is not None and self.on_quality_changed is not None:
            self.on_quality_changed(room_id, member, lost)
        await self._close_peer(room_id, member)

    async def close_room(self, room_id: str) -> None:
        self._forwarders.pop(room_id, None)
        self._quality = {key: tracker for key, tracker in self._quality.items() if key[0] != room_id}
        peers = [key for key in self._peers if key[0] == room_id]
        await asyncio.gather(*(self._close_peer(*key) for key in peers))

    async def close(self) -> None:
        if self._clock is not None:
            self._clock.cancel()
        self._forwarders.clear()
        await asyncio.gather(*(self._close_peer(*key) for key in list(self._peers)))

    async def _close_peer(self, room_id: str, member: MemberId) -> None:
        peer = self._peers.pop((room_id, member), None)
        if peer is not None:
            await peer.close()
            self._closed_since_reclaim += 1
            if self._closed_since_reclaim >= RECLAIM_AFTER:
                self._closed_since_reclaim = 0
                gc.unfreeze()
                gc.collect()
                gc.freeze()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            for forwarder in list(self._forwarders.values()):
                try:
                    forwarder.tick()
                except Exception:
                    log.exception("slot assignment tick")
            for peer in list(self._peers.values()):
                try:
                    peer.send_reports(now)
                except Exception:
                    log.exception("RTCP reports")
            if now >= self._next_quality:
                self._next_quality = now + QUALITY_EVERY_S
                try:
                    self._assess_quality(now)
                except Exception:
                    log.exception("connection quality")

    def _assess_quality(self, now: float) -> None:
        """Grade each member's connection, and tell the speakers' encoders what the listeners lose."""
        notify = self.on_quality_changed
        losses: dict[str, list[float]] = defaultdict(list)
        for (room_id, member), peer in list(self._peers.items()):
            tracker = self._quality.get((room_id, member))
            forwarder = self._forwarders.get(room_id)
            if tracker is None or forwarder is None:
                continue
            reading = peer.reading(now, forwarder.may_speak(member))
            losses[room_id].append(reading.down.loss)
            quality = tracker.update(reading, now)
            if quality is not None and notify is not None:
                notify(room_id, member, quality)
        heard = {room_id: loss_heard(room_losses) for room_id, room_losses in losses.items()}  # once a room
        for (room_id, _), peer in self._peers.items():
            peer.listeners_loss = heard.get(room_id, 0.0)


def _distribution(samples_ns: Iterable[int]) -> dict[str, float | int | None]:
    """Sample count, p50, p99 and max of nanosecond samples, in microseconds."""
    times = sorted(samples_ns)

    def percentile(q: float) -> float | None:
        return round(times[min(len(times) - 1, int(q * len(times)))] / 1000, 1) if times else None

    return {"samples": len(times), "p50": percentile(0.5), "p99": percentile(0.99), "max": percentile(1.0)}
