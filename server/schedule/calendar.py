"""iCalendar (RFC 5545) export of event series, made with the icalendar library.

Each series is one VEVENT: `DTSTART;TZID=<zone>` at the local start, a `DURATION`, the series'
`RRULE` (the same text the server expands), a stable `UID`, a `URL` to its page, and a display
`VALARM` 15 minutes before, so a subscriber's own calendar reminds them. A themed occurrence of
a repeating series is an override VEVENT with the same UID and a `RECURRENCE-ID`.
The `VTIMEZONE`s are generated from the zone database for the span the series cover.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from icalendar import Alarm, Calendar, Event, vRecur

from server.domain.series import Series

PRODID = "-//Dropin//Scheduled rooms//EN"
REMIND_BEFORE = timedelta(minutes=15)


@dataclass(frozen=True)
class Entry:
    """One series in a calendar, with the themes of its occurrences (local date -> theme)."""

    series: Series
    themes: dict[date, str] = field(default_factory=dict)


def uid(series: Series) -> str:
    return f"{series.id}@dropin"


def calendar(name: str, entries: list[Entry], base_url: str) -> bytes:
    """A VCALENDAR named `name` with every entry's events, as bytes ready to serve."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for entry in entries:
        for event in _events(entry, base_url.rstrip("/")):
            cal.add_component(event)
    if entries:
        first = min(entry.series.schedule.start.date() for entry in entries)
        last = max(entry.series.schedule.last_end.date() for entry in entries)
        cal.add_missing_timezones(first_date=first - timedelta(days=1), last_date=last + timedelta(days=366))
    ical: bytes = cal.to_ical()  # icalendar leaves to_ical unannotated; it returns the encoded calendar
    return ical


def _events(entry: Entry, base_url: str) -> list[Event]:
    series, schedule = entry.series, entry.series.schedule
    if schedule.rrule_text is None:
        return [_event(series, schedule.first, base_url, entry.themes.get(schedule.start.date()))]
    master = _event(series, schedule.first, base_url)
    master.add("rrule", vRecur.from_ical(schedule.rrule_text))
    overrides = []
    for day, theme in sorted(entry.themes.items()):
        start = schedule.at(day)
        assert start is not None, "themes are stored only for the series' occurrences (ScheduleService.set_theme)"
        override = _event(series, start, base_url, theme)
        override.add("recurrence-id", start)
        overrides.append(override)
    return [master, *overrides]


def _event(series: Series, start: datetime, base_url: str, theme: str | None = None) -> Event:
    event = Event()
    event.add("uid", uid(series))
    event.add("dtstamp", datetime.fromtimestamp(series.created_at, UTC))
    event.add("dtstart", start)
    event.add("duration", series.schedule.duration)
    event.add("summary", f"{series.title} — {theme}" if theme else series.title)
    event.add("description", f"Theme: {theme}\n\n{series.agenda}" if theme else series.agenda)
    event.add("url", f"{base_url}/events/{series.id}")
    event.add_component(_reminder(series.title))
    return event


def _reminder(title: str) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", -REMIND_BEFORE)  # relative to DTSTART
    alarm.add("description", f"{title} starts in 15 minutes")
    return alarm
