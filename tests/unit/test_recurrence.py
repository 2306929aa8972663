"""Recurrence in the host's time zone: local time kept across DST, RFC 5545 rules, refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from server.domain.recurrence import Recurrence, Schedule, weekday_position
from vocabulary.errors import DropinError

HOUR = timedelta(hours=1)


def plan(start: str, tz: str = "Europe/London", minutes: int = 60, **recurrence: object) -> Schedule:
    return Schedule.plan(tz, datetime.fromisoformat(start), timedelta(minutes=minutes), Recurrence(**recurrence))


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


@pytest.mark.parametrize(
    ("tz", "start", "until", "before", "after"),
    [
        # London: BST starts 29 March 2026, ends 25 October 2026.
        ("Europe/London", "2026-03-19T13:00", "2026-04-09", timedelta(0), HOUR),
        ("Europe/London", "2026-10-15T13:00", "2026-11-05", HOUR, timedelta(0)),
        # New York: DST starts 8 March 2026, ends 1 November 2026.
        ("America/New_York", "2026-02-26T13:00", "2026-03-19", -5 * HOUR, -4 * HOUR),
        ("America/New_York", "2026-10-22T13:00", "2026-11-12", -4 * HOUR, -5 * HOUR),
    ],
)
def test_weekly_keeps_the_local_time_across_a_dst_change(tz, start, until, before, after) -> None:
    schedule = plan(start, tz, frequency="weekly", until=date.fromisoformat(until))
    starts = schedule.starts
    assert len(starts) == 4
    assert all((s.hour, s.minute) == (13, 0) for s in starts)
    assert [s.weekday() for s in starts] == [starts[0].weekday()] * 4
    assert starts[0].utcoffset() == before and starts[-1].utcoffset() == after
    # The UTC instant moves by the change: an hour earlier in spring, an hour later in autumn.
    gaps = {utc(b) - utc(a) for a, b in zip(starts, starts[1:])}
    assert gaps == {timedelta(days=7), timedelta(days=7) - (after - before)}
    assert {utc(s).hour for s in starts} == {13 - int(before / HOUR), 13 - int(after / HOUR)}


def test_every_two_weeks() -> None:
    starts = plan("2026-04-02T13:00", frequency="weekly", interval=2, count=4).starts
    assert [s.date() for s in starts] == [date(2026, 4, 2), date(2026, 4, 16), date(2026, 4, 30), date(2026, 5, 14)]


def test_monthly_on_the_first_tuesday() -> None:
    schedule = plan("2026-03-03T18:30", frequency="monthly", weekday_position=1, count=4)
    first_tuesdays = [date(2026, 3, 3), date(2026, 4, 7), date(2026, 5, 5), date(2026, 6, 2)]
    assert [s.date() for s in schedule.starts] == first_tuesdays
    assert all((s.hour, s.minute) == (18, 30) for s in schedule.starts)
    assert "BYDAY=+1TU" in schedule.rrule_text


def test_monthly_on_the_last_friday() -> None:
    schedule = plan("2026-01-30T09:00", frequency="monthly", weekday_position=-1, until=date(2026, 5, 31))
    assert [s.date() for s in schedule.starts] == [
        date(2026, 1, 30), date(2026, 2, 27), date(2026, 3, 27), date(2026, 4, 24), date(2026, 5, 29),
    ]
    assert "BYDAY=-1FR" in schedule.rrule_text


def test_monthly_position_defaults_to_the_start_dates() -> None:
    assert plan("2026-04-16T13:00", frequency="monthly", count=2).recurrence.weekday_position == 3
    # A fifth Thursday is always the last one.
    assert plan("2026-04-30T13:00", frequency="monthly", count=2).recurrence.weekday_position == -1
    assert weekday_position(date(2026, 4, 1)) == 1


def test_until_is_an_inclusive_local_date() -> None:
    # 23:30 London on 9 April is 22:30 UTC: still within the local day `until`.
    starts = plan("2026-03-26T23:30", frequency="weekly", until=date(2026, 4, 9)).starts
    assert [s.date() for s in starts] == [date(2026, 3, 26), date(2026, 4, 2), date(2026, 4, 9)]
    assert len(plan("2026-04-02T13:00", frequency="weekly", until=date(2026, 4, 8)).starts) == 1


def test_count() -> None:
    schedule = plan("2026-04-02T13:00", frequency="weekly", count=3)
    assert len(schedule.starts) == 3
    assert schedule.last_end == utc(schedule.starts[-1]) + HOUR


def test_a_one_off_ignores_an_end() -> None:
    schedule = plan("2026-04-02T13:00", frequency="none", count=5)
    assert schedule.recurrence == Recurrence() and schedule.rrule_text is None
    assert schedule.starts == [datetime.fromisoformat("2026-04-02T13:00+01:00")]


def test_occurrences_are_found_by_local_date() -> None:
    schedule = plan("2026-04-02T13:00", frequency="weekly", count=3)
    assert schedule.at(date(2026, 4, 9)) == schedule.starts[1]
    assert schedule.at(date(2026, 4, 10)) is None


def test_a_duration_is_elapsed_time_across_a_dst_change() -> None:
    # 00:30 on the night the clocks go forward: two hours later it is 03:30 local.
    schedule = plan("2026-03-29T00:30", minutes=120)
    assert schedule.last_end == datetime(2026, 3, 29, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"tz": "Europe/Lundon", "frequency": "weekly", "count": 3}, "invalid_timezone"),
        ({"tz": "../../etc/passwd", "frequency": "weekly", "count": 3}, "invalid_timezone"),
        ({"frequency": "weekly"}, "unbounded_recurrence"),
        ({"frequency": "monthly", "interval": 2}, "unbounded_recurrence"),
        ({"frequency": "weekly", "count": 521}, "too_many_occurrences"),
        ({"frequency": "weekly", "until": date(2031, 4, 10)}, "too_many_occurrences"),
        ({"frequency": "monthly", "count": 61}, "too_many_occurrences"),
        ({"frequency": "weekly", "count": 10**9}, "too_many_occurrences"),
        ({"frequency": "weekly", "until": date(9999, 12, 31)}, "too_many_occurrences"),
        ({"frequency": "weekly", "until": date(2026, 4, 1)}, "end_before_start"),
        ({"frequency": "weekly", "until": date(2026, 5, 1), "count": 3}, "invalid_message"),
        ({"frequency": "monthly", "weekday_position": -1, "count": 3}, "invalid_message"),
        ({"frequency": "yearly", "count": 3}, "invalid_message"),
    ],
)
def test_refusals(kwargs: dict, code: str) -> None:
    with pytest.raises(DropinError) as refused:
        plan("2026-04-02T13:00", **kwargs)
    assert refused.value.code == code


def test_the_limits_themselves_are_allowed() -> None:
    assert len(plan("2026-04-02T13:00", frequency="weekly", until=date(2031, 4, 2)).starts) == 261
    assert len(plan("2026-04-02T13:00", frequency="monthly", count=60).starts) == 60


def test_a_start_with_an_offset_is_refused() -> None:
    with pytest.raises(DropinError) as refused:
        Schedule.plan("Europe/London", datetime.fromisoformat("2026-04-02T13:00+01:00"), HOUR, Recurrence())
    assert refused.value.code == "invalid_message"
