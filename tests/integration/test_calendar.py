"""Calendar export: the .ics parses, expands to the same instants as the API, across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import recurring_ical_events
from icalendar import Calendar


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create(api: httpx.Client, **fields) -> dict:
    body = {"title": "Burning questions", "duration_minutes": 90, **fields}
    reply = api.post("/api/events", json=body)
    assert reply.status_code == 201, reply.text
    return reply.json()


def fetch(api: httpx.Client, path: str) -> Calendar:
    reply = api.get(path)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(reply.content)


def expanded(cal: Calendar) -> list:
    return recurring_ical_events.of(cal).between(datetime(2025, 1, 1), datetime(2028, 1, 1))


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def test_a_weekly_series_across_the_autumn_change_in_london(server) -> None:
    api = httpx.Client(base_url=server.base_url, headers=auth(server.identity("Ada")))
    series = create(api, timezone="Europe/London", start="2026-10-15T13:00",
                    recurrence={"frequency": "weekly", "until": "2026-11-05"})
    api.put(f"/api/events/{series['id']}/occurrences/2026-10-29/theme", json={"theme": "Onboarding"}).raise_for_status()
    occurrences = api.get(f"/api/events/{series['id']}").json()["occurrences"]
    assert [o["date"] for o in occurrences] == ["2026-10-15", "2026-10-22", "2026-10-29", "2026-11-05"]

    cal = fetch(httpx.Client(base_url=server.base_url), f"/api/events/{series['id']}/calendar.ics")
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/London"]
    master, override = cal.walk("VEVENT")
    assert master["DTSTART"].params["TZID"] == "Europe/London"
    assert master["DTSTART"].dt == datetime(2026, 10, 15, 13, 0, tzinfo=master["DTSTART"].dt.tzinfo)
    assert master["DURATION"].dt == timedelta(minutes=90)
    assert master.decoded("RRULE")["FREQ"] == ["WEEKLY"]
    assert str(master["UID"]) == str(override["UID"]) == f"{series['id']}@dropin"
    assert str(master["URL"]) == f"{server.base_url}/events/{series['id']}"
    assert override["RECURRENCE-ID"].dt == datetime(2026, 10, 29, 13, 0, tzinfo=master["DTSTART"].dt.tzinfo)
    assert str(override["SUMMARY"]) == "Burning questions — Onboarding"
    for event in (master, override):  # each occurrence reminds the subscriber 15 minutes before
        (alarm,) = event.walk("VALARM")
        assert str(alarm["ACTION"]) == "DISPLAY"
        assert alarm["TRIGGER"].dt == -timedelta(minutes=15)
        assert str(alarm["DESCRIPTION"]) == "Burning questions starts in 15 minutes"

    events = expanded(cal)
    assert [utc(e["DTSTART"].dt) for e in events] == [datetime.fromisoformat(o["starts_at"]) for o in occurrences]
    assert [utc(e["DTSTART"].dt).hour for e in events] == [12, 12, 13, 13]
    assert [(e.end - e.start) for e in events] == [timedelta(minutes=90)] * 4
    expected_summaries = ["Burning questions"] * 2 + ["Burning questions — Onboarding", "Burning questions"]
    assert [str(e["SUMMARY"]) for e in events] == expected_summaries
    assert all(e.walk("VALARM") for e in events)  # expanded occurrences keep their reminder
    assert fetch(api, f"/api/events/{series['id']}/calendar.ics").to_ical() == cal.to_ical()  # stable


def test_a_monthly_series_across_the_spring_change_in_new_york(server) -> None:
    api = httpx.Client(base_url=server.base_url, headers=auth(server.identity("Ada")))
    series = create(api, timezone="America/New_York", start="2026-02-03T13:00",
                    recurrence={"frequency": "monthly", "weekday_position": 1, "count": 4})
    occurrences = api.get(f"/api/events/{series['id']}").json()["occurrences"]
    assert [o["date"] for o in occurrences] == ["2026-02-03", "2026-03-03", "2026-04-07", "2026-05-05"]
    cal = fetch(api, f"/api/events/{series['id']}/calendar.ics")
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["America/New_York"]
    assert cal.walk("VEVENT")[0].decoded("RRULE")["BYDAY"] == ["+1TU"]
    events = expanded(cal)
    assert [utc(e["DTSTART"].dt) for e in events] == [datetime.fromisoformat(o["starts_at"]) for o in occurrences]
    assert [utc(e["DTSTART"].dt).hour for e in events] == [18, 18, 17, 17]


def test_a_club_feed_has_the_series_anyone_may_see(server) -> None:
    api = httpx.Client(base_url=server.base_url, headers=auth(server.identity("Ada")))
    club = api.post("/api/clubs", json={"name": "L&D Thursdays"}).json()
    weekly = create(api, club_id=club["id"], timezone="Europe/London", start="2026-04-02T13:00",
                    recurrence={"frequency": "weekly", "count": 8})
    one_off = create(api, club_id=club["id"], title="Summer social", timezone="Europe/Paris", start="2026-07-01T18:00")
    api.put(f"/api/events/{one_off['id']}/occurrences/2026-07-01/theme", json={"theme": "Picnic"}).raise_for_status()
    create(api, club_id=club["id"], title="Hosts only", visibility="invite", timezone="Europe/London",
           start="2026-04-03T13:00")

    cal = fetch(httpx.Client(base_url=server.base_url), club["calendar_url"])
    assert str(cal["X-WR-CALNAME"]) == "L&D Thursdays"
    assert sorted(tz["TZID"] for tz in cal.walk("VTIMEZONE")) == ["Europe/London", "Europe/Paris"]
    assert {str(e["UID"]) for e in cal.walk("VEVENT")} == {f"{weekly['id']}@dropin", f"{one_off['id']}@dropin"}
    summer = [e for e in expanded(cal) if "Summer" in str(e["SUMMARY"])]
    assert [(str(e["SUMMARY"]), utc(e["DTSTART"].dt)) for e in summer] == [
        ("Summer social — Picnic", datetime(2026, 7, 1, 16, 0, tzinfo=UTC))]
    assert len(expanded(cal)) == 9
    assert len(expanded(fetch(api, club["calendar_url"]))) == 10  # the host sees the invite-only one too
