"""Active speakers: who is talking, and which speakers hold the room's K slots.

Each speaker's browser tags every packet with its RFC 6464 audio level (0 is the loudest, 127
silence; nothing is decoded). A `VoiceActivity` per speaker turns those levels into a score that
rises while they talk and decays when they stop. `SlotAssignment` maps speakers onto slots:

- a speaker whose voice arrives while a slot is free takes it at once, so no word is lost;
- a speaker who holds a slot keeps it, silent or not, until someone needs it;
- when every slot is taken, a speaker who has talked for `SUSTAINED_S` takes the slot of the
  holder with the lowest score, if their own score is higher by `HYSTERESIS`. A cough is too short,
  and someone mid-sentence scores too high, so neither loses or steals a slot. With more than K
  people talking at once, the K loudest end up on the slots.

Pure logic with an injected clock; the Forwarder calls it on packets and on its ticks.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

SILENCE_DBOV = 127
VOICE_DBOV = 50  # a packet at or above -50 dBov is voice
PACKET_S = 0.020  # Opus frames the browsers send
SMOOTHING = 0.05  # per packet: a time constant of about 400 ms
SPEAKING_SCORE = 20.0  # about 100 ms of ordinary speech lights the ring...
SPEAKING_HANG_S = 0.8  # ...and it stays lit through the pauses between words, until this much silence
SPURT_GAP_S = 0.2  # voice separated by less than this is one talk spurt
SUSTAINED_S = 0.3  # how long a challenger must have talked before taking a slot
HYSTERESIS = 15.0  # how much higher a challenger must score than the holder it replaces

Member = Hashable


@dataclass(slots=True)
class VoiceActivity:
    """A speaker's recent loudness: an average of (127 - level) over packets, silence counting 0."""

    score: float = 0.0
    updated: float | None = None
    spurt_start: float = 0.0
    last_voice: float | None = None

    def observe(self, level: int | None, now: float) -> bool:
        """Account for one packet's audio level (None: the browser sent none; counted as voice).
        Returns whether the packet was voice."""
        self._decay(now)
        level = VOICE_DBOV if level is None else level
        voiced = level <= VOICE_DBOV
        self.score += SMOOTHING * ((SILENCE_DBOV - level if voiced else 0.0) - self.score)
        if voiced:
            if self.last_voice is None or now - self.last_voice > SPURT_GAP_S:
                self.spurt_start = now
            self.last_voice = now
        self.updated = now
        return voiced

    def current(self, now: float) -> float:
        """The score at `now`, counting packets that stopped arriving (muted, DTX) as silence."""
        missed = self._missed_packets(now)
        return self.score * (1 - SMOOTHING) ** missed if missed else self.score

    def sustained(self, now: float) -> bool:
        """Whether they are talking now, and have been for at least SUSTAINED_S."""
        return (
            self.last_voice is not None
            and now - self.last_voice <= SPURT_GAP_S
            and now - self.spurt_start >= SUSTAINED_S
        )

    def _decay(self, now: float) -> None:
        missed = self._missed_packets(now)
        if missed:
            self.score *= (1 - SMOOTHING) ** missed

    def _missed_packets(self, now: float) -> int:
        if self.updated is None:
            return 0
        return max(0, int((now - self.updated) / PACKET_S) - 1)


@dataclass(slots=True)
class SlotAssignment:
    """Which speaker holds which of `slot_count` slots, decided from their voice activity."""

    slot_count: int
    holders: list[Member | None] = field(init=False)
    _activity: dict[Member, VoiceActivity] = field(init=False, default_factory=dict)
    _speaking: set[Member] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.holders = [None] * self.slot_count

    def slot_of(self, member: Member) -> int | None:
        try:
            return self.holders.index(member)
        except ValueError:
            return None

    def on_packet(self, member: Member, level: int | None, now: float) -> int | None:
        """Record a packet from speaker `member`; the slot it should go out on, or None.

        Claims a free slot when the packet is voice.
        """
        activity = self._activity.get(member)
        if activity is None:
            activity = self._activity[member] = VoiceActivity()
        voiced = activity.observe(level, now)
        slot = self.slot_of(member)
        if slot is None and voiced and None in self.holders:
            slot = self.holders.index(None)
            self.holders[slot] = member
        return slot

    def remove(self, member: Member) -> int | None:
        """Forget a speaker (muted, off stage, gone); the slot they freed, if any."""
        self._activity.pop(member, None)
        slot = self.slot_of(member)
        if slot is not None:
            self.holders[slot] = None
        return slot

    def rebalance(self, now: float) -> list[int]:
        """Give slots to sustained speakers who outscore a holder by HYSTERESIS; the slots changed."""
        waiting = [
            (activity.current(now), member)
            for member, activity in self._activity.items()
            if member not in self.holders and activity.sustained(now)
        ]
        changed: list[int] = []
        for score, member in sorted(waiting, key=lambda pair: pair[0], reverse=True):
            if None in self.holders:
                slot = self.holders.index(None)
            else:
                slot = min(range(self.slot_count), key=lambda i: self._score(self.holders[i], now))
                if score <= self._score(self.holders[slot], now) + HYSTERESIS:
                    break
            self.holders[slot] = member
            changed.append(slot)
        return changed

    def speaking(self, now: float) -> set[Member]:
        """Speakers talking now (whether or not they hold a slot)."""
        self._speaking = {
            member
            for member, activity in self._activity.items()
            if activity.current(now) >= SPEAKING_SCORE
            or (
                member in self._speaking
                and activity.last_voice is not None
                and now - activity.last_voice <= SPEAKING_HANG_S
            )
        }
        return set(self._speaking)

    def _score(self, member: Member | None, now: float) -> float:
        activity = self._activity.get(member) if member is not None else None
        return activity.current(now) if activity is not None else 0.0
