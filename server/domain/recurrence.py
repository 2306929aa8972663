"""When a series meets: an RFC 5545 recurrence rule, expanded with dateutil in the host's time zone.

The rule is written once as RRULE text (`Schedule.rrule_text`) and both the server's expansion
(`dateutil.rrule.rrulestr`) and the calendar export use that text. The rule runs on an aware
start in `ZoneInfo(timezone)`, so every occurrence keeps the local wall-clock time across DST
changes and its UTC instant moves instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rruleset, rrulestr

from vocabulary.errors import DropinError, ErrorCode

MAX_OCCURRENCES = 520
MAX_SPAN = relativedelta(years=5)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
POSITIONS = (1, 2, 3, 4, -1)
POSITION_NAMES = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}


def zone(name: str) -> ZoneInfo:
    """The IANA time zone called `name`, or `invalid_timezone`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DropinError(
            ErrorCode.INVALID_TIMEZONE, f"{name!r} is not a time zone; use an IANA name such as Europe/London"
        ) from None


def weekday_position(day: date) -> int:
    """Which of its month's weekdays `day` is: 1 for the first Tuesday ... 4; a fifth is -1 (the last)."""
    position = (day.day - 1) // 7 + 1
    return -1 if position == 5 else position


def is_at_position(day: date, position: int) -> bool:
    """Whether `day` is the `position`th (or, for -1, the last) of its weekday in its month."""
    if position == -1:
        return (day + timedelta(days=7)).month != day.month
    return (day.day - 1) // 7 + 1 == position


@dataclass(frozen=True)
class Recurrence:
    """How a series repeats: `none`, every `interval` weeks, or every `interval` months on the
    `weekday_position`th weekday of the start date; ending on the local date `until` (inclusive)
    or after `count` occurrences."""

    frequency: str = "none"
    interval: int = 1
    weekday_position: int | None = None
    until: date | None = None
    count: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "frequency": self.frequency,
            "interval": self.interval,
            "weekday_position": self.weekday_position,
            "until": self.until.isoformat() if self.until else None,
            "count": self.count,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recurrence:
        until = d.get("until")
        return cls(d["frequency"], d["interval"], d.get("weekday_position"),
                   date.fromisoformat(until) if until else None, d.get("count"))


@dataclass(frozen=True)
class Schedule:
    """A series' times: a local start in `timezone`, a duration, and a recurrence.

    Build one with `Schedule.plan`, which normalises and refuses what can't be scheduled.
    """

    timezone: str
    start: datetime
    duration: timedelta
    recurrence: Recurrence

    @classmethod
    def plan(cls, timezone_name: str, start: datetime, duration: timedelta, recurrence: Recurrence) -> Schedule:
        """A checked schedule, or a DropinError saying why it can't be one."""
        zone(timezone_name)
        if start.tzinfo is not None:
            raise DropinError(ErrorCode.INVALID_MESSAGE, "start is a local time in `timezone`, without an offset")
        start = start.replace(second=0, microsecond=0)
        schedule = cls(timezone_name, start, duration, _normalise(recurrence, start.date()))
        schedule._check_bounds()
        return schedule

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def first(self) -> datetime:
        """The first occurrence's start, aware, in the series' zone."""
        return self.start.replace(tzinfo=self.zone)

    @property
    def recurring(self) -> bool:
        return self.recurrence.frequency != "none"

    @cached_property
    def rrule_text(self) -> str | None:
        """The RFC 5545 RRULE value (without `RRULE:`), or None for a one-off."""
        r = self.recurrence
        if not self.recurring:
            return None
        parts = [f"FREQ={r.frequency.upper()}", f"INTERVAL={r.interval}"]
        if r.frequency == "monthly":
            parts.append(f"BYDAY={r.weekday_position:+d}{WEEKDAYS[self.start.weekday()]}")
        if r.until is not None:
            # The last second of the local day `until`, in UTC (RFC 5545 3.3.10, with a TZID start).
            end = datetime.combine(r.until + timedelta(days=1), time(0), self.zone) - timedelta(seconds=1)
            parts.append("UNTIL=" + end.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))
        if r.count is not None:
            parts.append(f"COUNT={r.count}")
        return ";".join(parts)

    @cached_property
    def rule(self) -> rrule | rruleset | None:
        return rrulestr(self.rrule_text, dtstart=self.first) if self.rrule_text else None

    @cached_property
    def starts(self) -> list[datetime]:
        """Every occurrence's start, aware in the series' zone, in order (at most MAX_OCCURRENCES + 1)."""
        if self.rule is None:
            return [self.first]
        return list(islice(self.rule, MAX_OCCURRENCES + 1))

    @cached_property
    def _by_date(self) -> dict[date, datetime]:
        return {start.date(): start for start in self.starts}

    def at(self, day: date) -> datetime | None:
        """The start of the occurrence on local date `day`, or None if the series doesn't meet then."""
        return self._by_date.get(day)

    def between(self, after: datetime, before: datetime) -> list[datetime]:
        """Starts from `after` up to `before` (both aware, inclusive)."""
        return [start for start in self.starts if after <= start <= before]

    def end_of(self, start: datetime) -> datetime:
        """When the occurrence starting at `start` ends, in UTC (the duration is elapsed time)."""
        return start.astimezone(UTC) + self.duration

    @property
    def last_end(self) -> datetime:
        """When the last occurrence ends, in UTC."""
        return self.end_of(self.starts[-1])

    def _check_bounds(self) -> None:
        r = self.recurrence
        if not self.recurring:
            return
        if r.until is None and r.count is None:
            raise DropinError(
                ErrorCode.UNBOUNDED_RECURRENCE, "a repeating series needs an end date (`until`) or a `count`"
            )
        if r.until is not None and r.until < self.start.date():
            raise DropinError(
                ErrorCode.END_BEFORE_START, f"the series ends ({r.until}) before it starts ({self.start.date()})"
            )
        limit = self.start + MAX_SPAN
        too_late = r.until is not None and r.until > limit.date()
        if too_late or len(self.starts) > MAX_OCCURRENCES or self.starts[-1].replace(tzinfo=None) > limit:
            raise DropinError(
                ErrorCode.TOO_MANY_OCCURRENCES,
                f"a series may have at most {MAX_OCCURRENCES} occurrences within 5 years (until {limit.date()});"
                " end it sooner and extend it later",
            )


def _normalise(recurrence: Recurrence, first_day: date) -> Recurrence:
    """The recurrence with defaults filled in and fields that don't apply dropped."""
    r = recurrence
    if r.frequency == "none":
        return Recurrence()
    if r.frequency not in ("weekly", "monthly"):
        raise DropinError(ErrorCode.INVALID_MESSAGE, "frequency is one of none, weekly, monthly")
    if r.until is not None and r.count is not None:
        raise DropinError(ErrorCode.INVALID_MESSAGE, "give either `until` or `count`, not both")
    if r.interval < 1:
        raise DropinError(ErrorCode.INVALID_MESSAGE, "interval is at least 1")
    if r.count is not None and r.count < 1:
        raise DropinError(ErrorCode.INVALID_MESSAGE, "count is at least 1")
    position = None
    if r.frequency == "monthly":
        position = weekday_position(first_day) if r.weekday_position is None else r.weekday_position
        if position not in POSITIONS:
            raise DropinError(ErrorCode.INVALID_MESSAGE, "weekday_position is one of 1, 2, 3, 4, -1 (the last)")
        if not is_at_position(first_day, position):
            weekday = WEEKDAY_NAMES[first_day.weekday()]
            raise DropinError(
                ErrorCode.INVALID_MESSAGE,
                f"the start date {first_day} is not the {POSITION_NAMES[position]} {weekday} of its month;"
                " start the series on its first occurrence",
            )
    return Recurrence(r.frequency, r.interval, position, r.until, r.count)
