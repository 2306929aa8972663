"""Connection quality: a link's level, and when a change of level is announced. Pure: no I/O, and
the time is always given.

A link (`down`: what a member receives from us, `up`: what we receive from them) is `lost` when
it has gone silent (the meters, server/media/meters.py, say when), else graded by its loss,
jitter and round-trip time against POOR and GOOD: a level is reached when the round-trip time
reaches its limit, or when loss and jitter do, each alone or together (their shares of their
limits adding up to one: 3 % loss with 30 ms jitter is as poor as 5 % loss alone, since the
listener's jitter buffer discards late packets that the reports never count as lost). A member's
level is the worse of their links. A new level is announced only once it has held, WORSE_AFTER_S
for a worse one and BETTER_AFTER_S for a better one, so a flapping link is not a stream of events.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from server.domain.events import Level, Link, Quality

LEVELS: tuple[Level, ...] = ("lost", "poor", "good", "excellent")  # worst to best
RANK = {level: rank for rank, level in enumerate(LEVELS)}

DOWN_SILENT_S = 10.0  # no report from a member on what we send them: their downlink is lost
UP_SILENT_S = 3.0  # no microphone packet from a member who may speak: their uplink is lost
WORSE_AFTER_S = 2.0
BETTER_AFTER_S = 5.0


@dataclass(frozen=True)
class Limits:
    """A level's limits: reaching any of them makes a link that level (or worse)."""

    loss: float
    jitter_ms: float
    rtt_ms: float


POOR = Limits(loss=0.05, jitter_ms=60.0, rtt_ms=600.0)
GOOD = Limits(loss=0.01, jitter_ms=30.0, rtt_ms=300.0)


def grade(loss: float, jitter_ms: float, rtt_ms: float | None = None, silent: bool = False) -> Level:
    """The level of a link with this loss (0 to 1), jitter and round-trip time."""
    if silent:
        return "lost"
    levels: tuple[tuple[Level, Limits], ...] = (("poor", POOR), ("good", GOOD))
    for level, limits in levels:
        # A small margin, so that a loss at a limit is not missed by the last bit of a float.
        if loss / limits.loss + jitter_ms / limits.jitter_ms >= 1 - 1e-9:
            return level
        if rtt_ms is not None and rtt_ms >= limits.rtt_ms:
            return level
    return "excellent"


def worst(*levels: Level) -> Level:
    return min(levels, key=RANK.__getitem__, default="lost")


@dataclass(frozen=True)
class Reading:
    """What was measured of a member's connection just now (each link graded as measured)."""

    connected: bool
    down: Link
    up: Link | None  # None unless the member may speak
    rtt_ms: float | None


class Settled:
    """One link's announced level: a different measured level is taken once it has held (in the
    same direction, worse or better) long enough. A link that appears or goes is taken at once."""

    def __init__(self) -> None:
        self.level: Level | None = None
        self._pending: tuple[bool, float] | None = None  # (worse, since)

    def update(self, measured: Level | None, now: float) -> Level | None:
        if measured is None or self.level is None or measured == self.level:
            self.level, self._pending = measured, None
            return self.level
        worse = RANK[measured] < RANK[self.level]
        if self._pending is None or self._pending[0] != worse:
            self._pending = (worse, now)
        if now - self._pending[1] >= (WORSE_AFTER_S if worse else BETTER_AFTER_S):
            self.level, self._pending = measured, None
        return self.level


class QualityTracker:
    """A member's quality over time: says what to announce, and when."""

    def __init__(self, started: float) -> None:
        self._started = started  # when their first peer connection was set up
        self._down = Settled()
        self._up = Settled()
        self._announced: Quality | None = None
        self._levels: tuple[Level, Level | None] | None = None  # (down, up) as last announced

    def update(self, reading: Reading, now: float) -> Quality | None:
        """The quality to announce after this reading, or None if nothing is to be announced.

        Nothing is announced before the member's connection first comes up, unless it has not
        within DOWN_SILENT_S: then it is lost.
        """
        if self._announced is None and not reading.connected and now - self._started < DOWN_SILENT_S:
            return None
        down, up = reading.down, reading.up
        if not reading.connected:  # neither way gets through
            down, up = replace(down, level="lost"), up and replace(up, level="lost")
        down_level = self._down.update(down.level, now) or "lost"
        up_level = self._up.update(up.level if up is not None else None, now)
        if (down_level, up_level) == self._levels:
            return None
        self._levels = (down_level, up_level)
        self._announced = Quality(
            level=worst(down_level, *([up_level] if up_level is not None else [])),
            down=replace(down, level=down_level),
            up=replace(up, level=up_level) if up is not None and up_level is not None else None,
            rtt_ms=reading.rtt_ms,
        )
        return self._announced

    def gone(self) -> Quality | None:
        """The member's connection has closed: `lost` at once, unless that is what was announced."""
        announced = self._announced
        if announced is None or announced.level == "lost":
            return None
        down = announced.down and replace(announced.down, level="lost", since_packet_s=None)
        self._announced = replace(announced, level="lost", down=down, up=None)
        self._levels = ("lost", None)
        return self._announced
