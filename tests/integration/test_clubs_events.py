"""Clubs, scheduled series and their occurrences over REST, against a real server and Redis."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from signaling.client import SignalingClient

LONDON = ZoneInfo("Europe/London")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Person:
    """An identity on the test server, calling the REST API with its token."""

    def __init__(self, server, name: str) -> None:
        self.token = server.identity(name)
        self.api = httpx.Client(base_url=server.base_url, headers=auth(self.token))
        self.id = self.api.get("/api/me").json()["id"]
        self.name = name

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.api.get(path, **kwargs)

    def post(self, path: str, json: dict | None = None) -> httpx.Response:
        return self.api.post(path, json=json)

    def put(self, path: str, json: dict) -> httpx.Response:
        return self.api.put(path, json=json)

    def delete(self, path: str) -> httpx.Response:
        return self.api.delete(path)


def local(delta: timedelta, tz: ZoneInfo = LONDON) -> str:
    """A local start `delta` from now, to the minute, as the API takes it."""
    return (datetime.now(tz) + delta).strftime("%Y-%m-%dT%H:%M")


def schedule(person: Person, **fields) -> dict:
    body = {"title": "Burning questions", "timezone": "Europe/London", "start": local(timedelta(days=2)),
            "duration_minutes": 60, "recurrence": {"frequency": "weekly", "count": 6}, **fields}
    reply = person.post("/api/events", body)
    assert reply.status_code == 201, reply.text
    return reply.json()


def error(reply: httpx.Response) -> tuple[int, str]:
    return reply.status_code, reply.json()["error"]["code"]


@pytest.fixture
def ada(server) -> Person:
    return Person(server, "Ada")


@pytest.fixture
def bo(server) -> Person:
    return Person(server, "Bo")


def test_clubs_are_created_followed_and_hosted(server, ada, bo) -> None:
    created = ada.post("/api/clubs", {"name": " L&D Thursdays ", "description": "Learning people, weekly"})
    assert created.status_code == 201
    club = created.json()
    assert club["name"] == "L&D Thursdays" and club["visibility"] == "public"
    assert club["hosts"] == [{"id": ada.id, "name": "Ada"}] and club["member_count"] == 1
    assert club["you"] == {"member": True, "host": True}
    assert club["calendar_url"] == f"/api/clubs/{club['id']}/calendar.ics"

    listed = httpx.get(f"{server.base_url}/api/clubs").json()["clubs"]
    assert [(c["id"], c["you"]) for c in listed] == [(club["id"], None)]

    assert error(ada.post(f"/api/clubs/{club['id']}/hosts", {"identity_id": bo.id})) == (422, "invalid_message")
    followed = bo.post(f"/api/clubs/{club['id']}/follow").json()
    assert followed["member_count"] == 2 and followed["you"] == {"member": True, "host": False}
    assert bo.post(f"/api/clubs/{club['id']}/follow").json()["member_count"] == 2
    assert error(bo.post(f"/api/clubs/{club['id']}/hosts", {"identity_id": bo.id})) == (403, "forbidden")
    assert error(ada.delete(f"/api/clubs/{club['id']}/follow")) == (403, "forbidden")  # the only host

    hosted = ada.post(f"/api/clubs/{club['id']}/hosts", {"identity_id": bo.id}).json()
    assert {h["name"] for h in hosted["hosts"]} == {"Ada", "Bo"}
    assert bo.get(f"/api/clubs/{club['id']}").json()["you"] == {"member": True, "host": True}
    left = ada.delete(f"/api/clubs/{club['id']}/follow").json()
    assert left["member_count"] == 1 and left["hosts"] == [{"id": bo.id, "name": "Bo"}]
    assert left["you"] == {"member": False, "host": False}


def test_a_private_club_is_invisible_to_outsiders(server, ada, bo) -> None:
    club = ada.post("/api/clubs", {"name": "Inner circle", "visibility": "private"}).json()
    assert club["calendar_url"] is None
    assert [c["id"] for c in ada.get("/api/clubs").json()["clubs"]] == [club["id"]]
    assert bo.get("/api/clubs").json()["clubs"] == []
    assert httpx.get(f"{server.base_url}/api/clubs").json()["clubs"] == []
    assert error(bo.get(f"/api/clubs/{club['id']}")) == (404, "club_not_found")
    assert error(httpx.get(f"{server.base_url}/api/clubs/{club['id']}")) == (404, "club_not_found")
    assert error(bo.post(f"/api/clubs/{club['id']}/follow")) == (403, "forbidden")
    assert error(ada.get(f"/api/clubs/{club['id']}/calendar.ics")) == (404, "club_not_found")
    assert ada.get(f"/api/clubs/{club['id']}").json()["member_count"] == 1


def test_a_series_and_its_occurrences(server, ada) -> None:
    club = ada.post("/api/clubs", {"name": "L&D Thursdays"}).json()
    start = local(timedelta(days=3))
    until = (date.fromisoformat(start[:10]) + timedelta(weeks=3)).isoformat()
    series = schedule(ada, club_id=club["id"], start=start, cohosts=[{"id": "c0ffee", "name": "Cy"}],
                      recurrence={"frequency": "weekly", "until": until})
    assert series["club"] == {"id": club["id"], "name": "L&D Thursdays"}
    assert series["agenda"] == "Open agenda: bring your burning questions"
    assert series["start"] == start and series["timezone"] == "Europe/London" and series["duration_minutes"] == 60
    assert series["host"] == {"id": ada.id, "name": "Ada"} and series["cohosts"] == [{"id": "c0ffee", "name": "Cy"}]
    assert series["visibility"] == "public"
    assert series["recurrence"] == {"frequency": "weekly", "interval": 1, "weekday_position": None,
                                    "until": series["recurrence"]["until"], "count": None}
    assert series["calendar_url"] == f"/api/events/{series['id']}/calendar.ics"
    first = series["next"]
    assert first["date"] == start[:10] and first["status"] == "scheduled" and first["room_id"] is None
    assert first["rsvp_count"] == 0 and first["you_rsvped"] is False and first["theme"] is None
    starts_at = datetime.fromisoformat(first["starts_at"])
    assert starts_at.utcoffset() == timedelta(0)
    assert datetime.fromisoformat(first["local_start"]) == starts_at
    assert datetime.fromisoformat(first["ends_at"]) - starts_at == timedelta(hours=1)

    page = httpx.get(f"{server.base_url}/api/events/{series['id']}").json()
    assert [o["date"] for o in page["occurrences"]] == [
        (date.fromisoformat(start[:10]) + timedelta(weeks=n)).isoformat() for n in range(4)
    ]
    club_page = httpx.get(f"{server.base_url}/api/clubs/{club['id']}").json()
    assert [s["id"] for s in club_page["series"]] == [series["id"]]
    assert len(club_page["upcoming"]) == 4 and club_page["past"] == []


def test_a_series_that_began_in_the_past_has_missed_occurrences(server, ada) -> None:
    start = local(-timedelta(weeks=8, hours=2))
    series = schedule(ada, start=start, recurrence={"frequency": "weekly", "count": 12})
    page = ada.get(f"/api/events/{series['id']}").json()
    statuses = [o["status"] for o in page["occurrences"]]
    assert statuses == ["missed"] * 5 + ["scheduled"] * 3
    assert page["next"]["date"] == page["occurrences"][5]["date"]


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"timezone": "Europe/Lundon"}, 422, "invalid_timezone"),
        ({"recurrence": {"frequency": "weekly"}}, 422, "unbounded_recurrence"),
        ({"recurrence": {"frequency": "weekly", "count": 600}}, 422, "too_many_occurrences"),
        ({"recurrence": {"frequency": "weekly", "until": "2040-01-01"}}, 422, "too_many_occurrences"),
        (
            {"start": "2026-04-02T13:00", "recurrence": {"frequency": "weekly", "until": "2026-04-01"}},
            422,
            "end_before_start",
        ),
        ({"duration_minutes": 0}, 422, "invalid_message"),
        ({"duration_minutes": 721}, 422, "invalid_message"),
        ({"visibility": "club"}, 422, "invalid_message"),
        ({"start": "2026-04-02T13:00+01:00"}, 422, "invalid_message"),
        ({"start": "2026-04-02T13:00", "recurrence": {"frequency": "monthly", "weekday_position": -1, "count": 3}},
         422, "invalid_message"),
        ({"club_id": "CLUB", "cohosts": ["stranger"]}, 422, "invalid_message"),
        ({"club_id": "nope"}, 404, "club_not_found"),
        ({"club_id": "PRIVATE", "as": "bo"}, 404, "club_not_found"),
        ({"club_id": "CLUB", "as": "bo"}, 403, "forbidden"),
        ({"as": "nobody"}, 401, "unauthorized"),
    ],
)
async def test_refused_series_store_nothing(server, redis_snapshot, ada, bo, fields, status, code) -> None:
    club = ada.post("/api/clubs", {"name": "L&D Thursdays"}).json()
    private = ada.post("/api/clubs", {"name": "Inner circle", "visibility": "private"}).json()
    bo.post(f"/api/clubs/{club['id']}/follow")
    caller = {"ada": ada, "bo": bo, "nobody": None}[fields.pop("as", "ada")]
    if "club_id" in fields:
        fields["club_id"] = {"CLUB": club["id"], "PRIVATE": private["id"]}.get(fields["club_id"], fields["club_id"])
    body = {"title": "Burning questions", "timezone": "Europe/London", "start": "2026-04-02T13:00",
            "duration_minutes": 60, "recurrence": {"frequency": "weekly", "count": 6}, **fields}
    before = await redis_snapshot()
    if caller is None:
        reply = httpx.post(f"{server.base_url}/api/events", json=body, headers=auth("forged"))
    else:
        reply = caller.post("/api/events", body)
    assert error(reply) == (status, code), reply.text
    assert reply.json()["error"]["message"]
    assert await redis_snapshot() == before


def test_themes_override_one_occurrence(server, ada, bo) -> None:
    cy = Person(server, "Cy")
    series = schedule(ada, cohosts=[{"id": cy.id, "name": "Cy"}])
    second = ada.get(f"/api/events/{series['id']}").json()["occurrences"][1]["date"]
    path = f"/api/events/{series['id']}/occurrences/{second}/theme"
    themed = ada.put(path, {"theme": "Onboarding that sticks"}).json()
    assert themed["date"] == second and themed["theme"] == "Onboarding that sticks"
    occurrences = bo.get(f"/api/events/{series['id']}").json()["occurrences"]
    assert [o["theme"] for o in occurrences[:3]] == [None, "Onboarding that sticks", None]
    assert cy.put(path, {"theme": "Measuring impact"}).json()["theme"] == "Measuring impact"
    assert error(bo.put(path, {"theme": "Mine"})) == (403, "forbidden")
    assert error(ada.put(path, {"theme": ""})) == (422, "invalid_message")
    assert ada.delete(path).json()["theme"] is None

    not_one = (date.fromisoformat(second) + timedelta(days=1)).isoformat()
    assert error(ada.put(f"/api/events/{series['id']}/occurrences/{not_one}/theme", {"theme": "x"})) == (
        422, "not_an_occurrence")
    assert error(ada.put(f"/api/events/{series['id']}/occurrences/someday/theme", {"theme": "x"})) == (
        422, "invalid_message")


async def test_rsvps_are_counted_and_listed_for_hosts(server, redis_snapshot, ada, bo) -> None:
    cy = Person(server, "Cy")
    series = schedule(ada)
    day = series["next"]["date"]
    path = f"/api/events/{series['id']}/occurrences/{day}"
    assert bo.post(f"{path}/rsvp").json()["rsvp_count"] == 1
    again = bo.post(f"{path}/rsvp").json()
    assert again["rsvp_count"] == 1 and again["you_rsvped"] is True
    assert cy.post(f"{path}/rsvp").json()["rsvp_count"] == 2
    seen = ada.get(f"/api/events/{series['id']}").json()["next"]
    assert (seen["rsvp_count"], seen["you_rsvped"]) == (2, False)
    assert ada.get(f"{path}/rsvps").json() == {
        "count": 2, "people": [{"id": bo.id, "name": "Bo"}, {"id": cy.id, "name": "Cy"}]}
    assert error(bo.get(f"{path}/rsvps")) == (403, "forbidden")
    withdrawn = cy.delete(f"{path}/rsvp").json()
    assert (withdrawn["rsvp_count"], withdrawn["you_rsvped"]) == (1, False)

    past = schedule(ada, start=local(-timedelta(days=1)), recurrence={"frequency": "none"})
    next_day = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    before = await redis_snapshot()
    assert error(httpx.post(f"{server.base_url}{path}/rsvp")) == (401, "unauthorized")
    assert error(bo.post(f"/api/events/{series['id']}/occurrences/{next_day}/rsvp")) == (422, "not_an_occurrence")
    assert error(bo.post(f"/api/events/{past['id']}/occurrences/{past['start'][:10]}/rsvp")) == (409, "occurrence_over")
    assert error(bo.post(f"/api/events/nope/occurrences/{day}/rsvp")) == (404, "event_not_found")
    assert await redis_snapshot() == before


async def test_club_only_and_invite_only_series_are_hidden(server, redis_snapshot, ada, bo) -> None:
    cy = Person(server, "Cy")
    club = ada.post("/api/clubs", {"name": "L&D Thursdays"}).json()
    members_only = schedule(ada, club_id=club["id"], visibility="club", start=local(timedelta(minutes=20)))
    invited_only = schedule(ada, club_id=club["id"], visibility="invite", cohosts=[{"id": cy.id, "name": "Cy"}],
                            start=local(timedelta(minutes=30)))
    public = schedule(ada, club_id=club["id"], start=local(timedelta(minutes=40)))
    day = members_only["next"]["date"]

    def soon(person: Person | None) -> list[str]:
        reply = person.get("/api/occurrences/soon") if person else httpx.get(f"{server.base_url}/api/occurrences/soon")
        return [o["event_id"] for o in reply.json()["occurrences"]]

    before = await redis_snapshot()
    assert error(bo.get(f"/api/events/{members_only['id']}")) == (404, "event_not_found")
    assert error(httpx.get(f"{server.base_url}/api/events/{members_only['id']}")) == (404, "event_not_found")
    assert error(bo.post(f"/api/events/{members_only['id']}/occurrences/{day}/rsvp")) == (404, "event_not_found")
    assert error(bo.get(f"/api/events/{members_only['id']}/calendar.ics")) == (404, "event_not_found")
    assert await redis_snapshot() == before
    assert soon(bo) == soon(None) == [public["id"]]
    assert [s["id"] for s in bo.get(f"/api/clubs/{club['id']}").json()["series"]] == [public["id"]]

    bo.post(f"/api/clubs/{club['id']}/follow")
    assert bo.get(f"/api/events/{members_only['id']}").status_code == 200
    assert bo.post(f"/api/events/{members_only['id']}/occurrences/{day}/rsvp").json()["rsvp_count"] == 1
    assert error(bo.get(f"/api/events/{invited_only['id']}")) == (404, "event_not_found")
    assert soon(bo) == [members_only["id"], public["id"]]
    assert cy.get(f"/api/events/{invited_only['id']}").status_code == 200
    assert soon(cy) == [invited_only["id"], public["id"]]
    assert soon(ada) == [members_only["id"], invited_only["id"], public["id"]]
    club_page = ada.get(f"/api/clubs/{club['id']}").json()
    assert len(club_page["series"]) == 3 and len(club_page["upcoming"]) == 10


def test_opening_an_occurrence_creates_its_room_once(server, ada, bo) -> None:
    cy = Person(server, "Cy")
    club = ada.post("/api/clubs", {"name": "L&D Thursdays"}).json()
    series = schedule(ada, club_id=club["id"], start=local(timedelta(minutes=5)), cohosts=[{"id": cy.id, "name": "Cy"}],
                      agenda="Bring one question")
    occurrence = series["next"]
    assert occurrence["status"] == "starting_soon"
    ada.put(f"/api/events/{series['id']}/occurrences/{occurrence['date']}/theme", {"theme": "Onboarding"})
    path = f"/api/events/{series['id']}/occurrences/{occurrence['date']}/open"
    assert error(bo.post(path)) == (403, "forbidden")

    opened = cy.post(path).json()
    assert opened["status"] == "live" and opened["room_id"]
    room = httpx.get(f"{server.base_url}/api/rooms/{opened['room_id']}").json()
    assert room["status"] == "live" and room["title"] == "Burning questions"
    assert room["host"] == {"id": ada.id, "name": "Ada"}
    assert "Onboarding" in room["description"] and "Bring one question" in room["description"]
    assert ada.post(path).json()["room_id"] == opened["room_id"]
    assert ada.get(f"/api/events/{series['id']}").json()["next"]["status"] == "live"
    assert [o["status"] for o in bo.get("/api/occurrences/soon").json()["occurrences"]] == ["live"]

    ada.post(f"/api/rooms/{opened['room_id']}/end")
    assert ada.get(f"/api/events/{series['id']}").json()["next"]["status"] == "ended"
    assert bo.get("/api/occurrences/soon").json()["occurrences"] == []


def test_opening_outside_the_window_is_refused(server, ada) -> None:
    later = schedule(ada, start=local(timedelta(minutes=30)))
    assert later["next"]["status"] == "scheduled"
    open_path = f"/api/events/{later['id']}/occurrences/{later['next']['date']}/open"
    assert error(ada.post(open_path)) == (409, "not_open_yet")
    gone = schedule(ada, start=local(-timedelta(hours=3)), recurrence={"frequency": "none"})
    assert gone["next"] is None
    day = gone["start"][:10]
    assert error(ada.post(f"/api/events/{gone['id']}/occurrences/{day}/open")) == (409, "occurrence_over")
    assert ada.get(f"/api/events/{gone['id']}").json()["occurrences"][0]["status"] == "missed"


async def test_concurrent_opens_make_one_room_that_co_hosts_moderate(server, ada) -> None:
    cy = Person(server, "Cy")
    series = schedule(ada, start=local(timedelta(minutes=2)), cohosts=[{"id": cy.id, "name": "Cy"}])
    path = f"/api/events/{series['id']}/occurrences/{series['next']['date']}/open"
    async with httpx.AsyncClient(base_url=server.base_url) as api:
        replies = await asyncio.gather(*(
            api.post(path, headers=auth(person.token)) for person in (ada, cy, ada, cy)
        ))
    assert {reply.status_code for reply in replies} == {200}
    room_ids = {reply.json()["room_id"] for reply in replies}
    assert len(room_ids) == 1
    assert [room["id"] for room in httpx.get(f"{server.base_url}/api/rooms").json()["rooms"]] == list(room_ids)

    cohost = await SignalingClient.connect(server.ws_url)
    assert (await cohost.request("join", room=room_ids.pop(), token=cy.token)).you.role == "moderator"
    await cohost.close()
