"""The Forwarder: one room's selective forwarding core.

Opus packets from the room's speakers are forwarded on arrival to everyone else in the room,
through the slot each speaker holds (see active_speakers for who holds which). Nothing is
decoded, mixed or buffered. Packets from members who may not speak are dropped here, whatever
their browser sends.

The per-packet path is `on_packet`: the slot rewrites sequence number and timestamp once, then the
slot's SlotFanOut writes each listener's header, SRTP-protects and sends, synchronously, in C
for listeners on a plain UDP pair (see fastpath).

A room spread over several nodes has one origin (server/cluster/cascade.py). On the origin the
Forwarder works as above, taking relayed packets of other nodes' speakers too (`take`), and
hands each slot packet to its `edges`. On every other node it sends its speakers' packets
`upstream` instead, delivers the slot packets the origin relays (`deliver`), and mirrors what
the origin says about who holds which slot (`mirror`).

A speaker whose browser negotiated RED (RFC 2198, server/media/red.py) sends RED packets
(`on_packet(..., red=True)`): each is checked once (a malformed one is dropped and counted) and
goes to each listener as RED if they negotiated it, else as its primary block, plain Opus.

An echo test (`echo`) sends a member's own packets back to them alone, on their last slot, for a
few seconds (server/media/echo.py), whatever their role.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from time import monotonic, perf_counter_ns, thread_time_ns
from typing import Protocol

from aiortc.rtp import RtpPacket

from server.media.active_speakers import SlotAssignment
from server.media.echo import Echo
from server.media.fastpath import SlotFanOut
from server.media.outlet import Outlet
from server.media.recorder import Recorder
from server.media.red import MalformedRed, Red
from server.media.slot import Slot
from vocabulary.errors import DropinError, ErrorCode

FORWARD_SAMPLES = 8192

MemberId = Hashable
SpeakersListener = Callable[[set[MemberId], list[MemberId | None]], None]


class Upstream(Protocol):
    """The room's origin on another node, as an edge sends to it."""

    def packet(self, member: MemberId, packet: RtpPacket, red: bool) -> None: ...
    def stop(self, member: MemberId) -> None: ...


class Edges(Protocol):
    """The other nodes with members in the room, as its origin sends to them."""

    def slot_packet(self, index: int, seq: int, ts: int, marker: int, payload: bytes, red: bool) -> None: ...
    def speakers(self, speaking: set[MemberId], holders: list[MemberId | None]) -> None: ...


@dataclass(slots=True)
class ForwarderStats:
    received: int = 0
    forwarded: int = 0
    delivered: int = 0
    dropped_not_speaker: int = 0
    dropped_no_slot: int = 0
    relayed_up: int = 0  # sent to the room's origin on another node
    red_passed: int = 0  # RED packets delivered to a listener as RED
    red_unwrapped: int = 0  # RED packets delivered to a listener as their primary block (Opus)
    dropped_malformed_red: int = 0
    # For the most recent forwarded packets: nanoseconds from the forwarder taking the packet to
    # the last listener's send, and the CPU time the thread spent on it in between (the rest is
    # time the thread was not running: preempted, or the kernel busy elsewhere).
    forward_ns: deque[int] = field(default_factory=lambda: deque(maxlen=FORWARD_SAMPLES))
    forward_cpu_ns: deque[int] = field(default_factory=lambda: deque(maxlen=FORWARD_SAMPLES))


class Forwarder:
    """Maps speakers onto slots and writes their packets to every other member's outlets."""

    def __init__(
        self,
        slot_count: int,
        on_speakers_changed: SpeakersListener | None = None,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        self.slots = [Slot(i) for i in range(slot_count)]
        self.stats = ForwarderStats()
        self._assignment = SlotAssignment(slot_count)
        self._on_speakers_changed = on_speakers_changed
        self._clock = clock
        self._speakers: set[MemberId] = set()
        self._outlets: dict[MemberId, list[Outlet]] = {}
        self._fanout = [SlotFanOut() for _ in self.slots]  # per slot: everyone but its holder
        self._announced: tuple[frozenset[MemberId], tuple[MemberId | None, ...]] = (frozenset(), (None,) * slot_count)
        self.upstream: Upstream | None = None  # set while the room's origin is another node
        self.edges: Edges | None = None  # set while this node is the origin of a room on several
        self._mirrored: set[MemberId] = set()  # who the origin says is speaking, on an edge
        self._echoes: dict[MemberId, Echo] = {}
        self.recorder: Recorder | None = None  # set while this node records the room (its origin)

    def assignment(self) -> list[MemberId | None]:
        """Who holds each slot, by slot index."""
        return [slot.speaker for slot in self.slots]

    def speaking(self) -> set[MemberId]:
        """Who is talking now."""
        if self.upstream is not None:
            return set(self._mirrored)
        return self._assignment.speaking(self._clock())

    def members(self) -> int:
        """How many members this node delivers the room to."""
        return len(self._outlets)

    def may_speak(self, member: MemberId) -> bool:
        """Whether `member`'s audio is forwarded to the room (on stage and not muted)."""
        return member in self._speakers

    def allow(self, member: MemberId, allowed: bool) -> None:
        """Start or stop forwarding `member`'s audio; takes effect from the next packet."""
        if allowed:
            self._speakers.add(member)
        else:
            if member in self._speakers and self.upstream is not None:
                self.upstream.stop(member)  # the origin frees their slot for the next voice
            self._speakers.discard(member)
            index = self._assignment.remove(member)
            if index is not None:
                self._hand_over(index)

    def attach(self, member: MemberId, outlets: list[Outlet]) -> None:
        """Deliver the room's slots to `member` through `outlets` (one per slot they receive).
        A newcomer whose connection is not up yet joins the fan-out when it comes up (their Peer
        calls `refresh` then), so that a join rebuilds each slot's fan-out once, not twice."""
        self._echoes.pop(member, None)  # an echo test on the outlets these replace ends with them
        for slot, outlet in zip(self.slots, outlets):
            outlet.slot, outlet.base_packets, outlet.base_octets = slot, slot.packets, slot.octets
        replaced = member in self._outlets
        self._outlets[member] = outlets[: len(self.slots)]
        if replaced or any(outlet.writer.ready() for outlet in outlets):
            self.refresh()

    def detach(self, member: MemberId) -> None:
        """Forget `member` entirely: no more packets to or from them."""
        self._echoes.pop(member, None)
        if self._outlets.pop(member, None) is not None:
            self.refresh()
        self.allow(member, False)

    def record(self, recorder: Recorder | None) -> None:
        """Write every slot packet to `recorder` from now on (None: stop)."""
        self.recorder = recorder
        if recorder is not None:
            recorder.announce(self.speaking(), self.assignment())

    def echo(self, member: MemberId, seconds: float) -> int:
        """Send `member`'s own packets back to them alone, on their last slot, for `seconds`;
        returns that slot's index."""
        outlets = self._outlets.get(member)
        if not outlets:
            raise DropinError(ErrorCode.NO_OFFER, "an echo test needs your audio connection with a slot: send an offer")
        now = self._clock()
        self._end_echo(member, now)
        index = len(outlets) - 1
        self._echoes[member] = Echo(outlets[index], index, now + seconds, now)
        self._set_fanout(index)
        return index

    def _end_echo(self, member: MemberId, now: float) -> None:
        echo = self._echoes.pop(member, None)
        if echo is not None:
            echo.end(now)
            self._set_fanout(echo.index)

    def on_packet(self, member: MemberId, packet: RtpPacket, red: bool = False) -> None:
        """Forward one packet from `member`, a member on this node, to everyone else in the room;
        `red`: its payload is RED."""
        started, cpu_started = perf_counter_ns(), thread_time_ns()
        self.stats.received += 1
        if self._echoes and (echo := self._echoes.get(member)) is not None:
            now = self._clock()
            if now >= echo.until:
                self._end_echo(member, now)
            else:
                parsed = self._parse(packet.payload) if red else None
                if red and parsed is None:
                    return
                echo.forward(packet, parsed, now)
        if member not in self._speakers:  # roles are enforced where the speaker is connected
            self.stats.dropped_not_speaker += 1
            return
        if self.upstream is not None:  # the origin checks a RED payload
            self.stats.relayed_up += 1
            self.upstream.packet(member, packet, red)
            return
        level = packet.extensions.audio_level
        self.take(member, level[1] if level is not None else None, packet.ssrc, packet.sequence_number,
                  packet.timestamp, packet.marker, packet.payload, red, started, cpu_started)

    def take(
        self, member: MemberId, level: int | None, ssrc: int, sequence_number: int, timestamp: int, marker: int,
        payload: bytes, red: bool = False, started: int | None = None, cpu_started: int | None = None,
    ) -> None:
        """Forward a speaker's packet on the room's origin: one of this node's members', or one
        relayed from the node another speaker is connected to (which checked their role)."""
        if started is None or cpu_started is None:
            started, cpu_started = perf_counter_ns(), thread_time_ns()
        stats = self.stats
        parsed = self._parse(payload) if red else None
        if red and parsed is None:
            return
        now = self._clock()
        index = self._assignment.on_packet(member, level, now)
        if index is None:
            stats.dropped_no_slot += 1
            return
        slot = self.slots[index]
        if slot.speaker != member:
            self._hand_over(index)
        seq, ts = slot.rewrite(ssrc, sequence_number, timestamp, now)
        slot.packets += 1
        slot.octets += len(payload)
        stats.forwarded += 1
        self._send(index, seq, ts, marker, payload, parsed)
        if self.edges is not None:
            self.edges.slot_packet(index, seq, ts, marker, payload, red)
        if self.recorder is not None:
            self.recorder.packet(index, payload if parsed is None else parsed.primary())
        stats.forward_ns.append(perf_counter_ns() - started)
        stats.forward_cpu_ns.append(thread_time_ns() - cpu_started)

    def deliver(self, index: int, seq: int, ts: int, marker: int, payload: bytes, red: bool = False) -> None:
        """A slot packet from the room's origin on another node: to every member here but the
        slot's holder."""
        parsed = self._parse(payload) if red else None
        if index >= len(self.slots) or (red and parsed is None):
            return
        slot = self.slots[index]
        slot.passed(seq, ts, self._clock())
        slot.packets += 1
        slot.octets += len(payload)
        self.stats.forwarded += 1
        self._send(index, seq, ts, marker, payload, parsed)

    def _parse(self, payload: bytes) -> Red | None:
        """A RED payload's blocks; None (counted) if it is malformed."""
        try:
            return Red.parse(payload)
        except MalformedRed:
            self.stats.dropped_malformed_red += 1
            return None

    def _send(self, index: int, seq: int, ts: int, marker: int, payload: bytes, red: Red | None) -> None:
        """Slot `index`'s packet to its fan-out, counted."""
        stats = self.stats
        delivered, as_red = self._fanout[index].send(seq, ts, marker, payload, red)
        stats.delivered += delivered
        if red is not None:
            stats.red_passed += as_red
            stats.red_unwrapped += delivered - as_red

    def mirror(self, speaking: set[MemberId], holders: list[MemberId | None]) -> None:
        """What the room's origin on another node says: who is speaking, who holds each slot."""
        self._mirrored = speaking
        for index, holder in enumerate(holders[: len(self.slots)]):
            if self.slots[index].speaker != holder:
                self.slots[index].assign(holder)
                self._set_fanout(index)
        self._announce(speaking, list(holders[: len(self.slots)]))

    def tick(self) -> None:
        """Let sustained speakers take slots from quieter holders, and announce who is speaking
        and who is on air if either changed since the last announcement (on the origin: an edge
        hears it from there). Echo tests whose time is up end."""
        now = self._clock()
        for member in [member for member, echo in self._echoes.items() if now >= echo.until]:
            self._end_echo(member, now)
        if self.upstream is not None:
            return
        for index in self._assignment.rebalance(now):
            self._hand_over(index)
        speaking = self._assignment.speaking(now)
        if self._announce(speaking, self.assignment()) and self.edges is not None:
            self.edges.speakers(speaking, self.assignment())

    def _announce(self, speaking: set[MemberId], holders: list[MemberId | None]) -> bool:
        """Tell this node's members if who is speaking or who holds which slot changed."""
        announcement = (frozenset(speaking), tuple(holders))
        if announcement == self._announced:
            return False
        self._announced = announcement
        if self.recorder is not None:
            self.recorder.announce(speaking, holders)
        if self._on_speakers_changed is not None:
            self._on_speakers_changed(set(speaking), list(holders))
        return True

    def _hand_over(self, index: int) -> None:
        """Give slot `index` to whoever the assignment says holds it now."""
        self.slots[index].assign(self._assignment.holders[index])
        self._set_fanout(index)

    def refresh(self) -> None:
        """Rebuild every slot's fan-out: someone attached or detached, or a member's connection
        came up or went down (which decides who is served by the C loop)."""
        for index in range(len(self.slots)):
            self._set_fanout(index)

    def _set_fanout(self, index: int) -> None:
        """Slot `index` goes to every member's outlet attached to it (not one carrying an echo
        test) but its holder's."""
        slot = self.slots[index]
        self._fanout[index].set(
            outlets[index] for member, outlets in self._outlets.items()
            if member != slot.speaker and index < len(outlets) and outlets[index].slot is slot
        )
