"""A club's discussion space over REST, against real servers and Redis: posts, replies, paging,
pins, deletion, mutes, limits, private clubs, the round-up post of an ended club room, topic
proposals that become themes, and the live stream of changes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import icalendar
import pytest
from test_clubs_events import Person, auth, error, local, schedule


@pytest.fixture
def ada(server) -> Person:
    return Person(server, "Ada")


@pytest.fixture
def bo(server) -> Person:
    return Person(server, "Bo")


@pytest.fixture
def club(ada, bo) -> dict:
    """A public club that Ada hosts and Bo follows."""
    created = ada.post("/api/clubs", {"name": "L&D Thursdays"}).json()
    assert bo.post(f"/api/clubs/{created['id']}/follow").status_code == 200
    return created


def space(club: dict) -> str:
    return f"/api/clubs/{club['id']}"


def test_members_post_and_reply_and_read_it_newest_first_a_page_at_a_time(server, ada, bo, club) -> None:
    path = space(club)
    first = bo.post(f"{path}/posts", {"text": "  What did everyone think of last week's guest?  "})
    assert first.status_code == 201, first.text
    post = first.json()
    assert post["text"] == "What did everyone think of last week's guest?" and post["kind"] == "post"
    assert post["by"] == {"id": bo.id, "name": "Bo"} and post["replies"] == [] and not post["pinned"]
    reply = ada.post(f"{path}/posts/{post['id']}/replies", {"text": "Loved it; notes at https://example.org/n"})
    assert reply.status_code == 201, reply.text
    assert reply.json()["post_id"] == post["id"]

    cy = Person(server, "Cy")
    assert error(cy.post(f"{path}/posts", {"text": "not following yet"})) == (403, "forbidden")
    assert error(cy.post(f"{path}/posts/{post['id']}/replies", {"text": "nor here"})) == (403, "forbidden")
    assert error(bo.post(f"{path}/posts/p999/replies", {"text": "to nothing"})) == (404, "not_found")

    for n in range(8):
        author = (ada, bo)[n % 2]
        assert author.post(f"{path}/posts", {"text": f"post {n}"}).status_code == 201
    anyone = httpx.get(f"{server.base_url}{path}/posts", params={"limit": 4}).json()  # no token: a public club
    assert [p["text"] for p in anyone["posts"]] == ["post 7", "post 6", "post 5", "post 4"]
    assert anyone["you"] is None and anyone["next_before"] is not None
    older = httpx.get(f"{server.base_url}{path}/posts", params={"limit": 4, "before": anyone["next_before"]}).json()
    assert [p["text"] for p in older["posts"]] == ["post 3", "post 2", "post 1", "post 0"]
    last = httpx.get(f"{server.base_url}{path}/posts", params={"limit": 4, "before": older["next_before"]}).json()
    assert [p["id"] for p in last["posts"]] == [post["id"]] and last["next_before"] is None
    assert [(r["by"]["name"], r["text"]) for r in last["posts"][0]["replies"]] == [
        ("Ada", "Loved it; notes at https://example.org/n")
    ]
    assert last["posts"][0]["reply_count"] == 1
    assert bo.get(f"{path}/posts").json()["you"] == {"member": True, "host": False, "muted": False}


async def test_over_long_empty_and_too_frequent_texts_are_refused_and_store_nothing(
    server, ada, bo, club, redis_snapshot
) -> None:
    path = space(club)
    post_id = bo.post(f"{path}/posts", {"text": "hello"}).json()["id"]
    before = await redis_snapshot()
    refusals = [
        (f"{path}/posts", "x" * 2001, "a post is at most 2000 characters; this one has 2001"),
        (f"{path}/posts", "   ", "a post can't be empty"),
        (f"{path}/posts/{post_id}/replies", "y" * 1001, "a reply is at most 1000 characters"),
        (f"{path}/proposals", "z" * 201, "a proposal is at most 200 characters"),
        (f"{path}/proposals", "", "a proposal can't be empty"),
    ]
    for target, text, message in refusals:
        refused = bo.post(target, {"text": text})
        assert error(refused) == (422, "invalid_message") and message in refused.json()["error"]["message"]
    assert await redis_snapshot() == before

    for n in range(4):  # five writes a minute: the post above and four replies
        assert bo.post(f"{path}/posts/{post_id}/replies", {"text": f"reply {n}"}).status_code == 201
    before = await redis_snapshot()
    for target in (f"{path}/posts", f"{path}/posts/{post_id}/replies"):
        limited = bo.post(target, {"text": "one more"})
        assert error(limited) == (429, "rate_limited")
        assert "too many posts and replies for now: you can write again in" in limited.json()["error"]["message"]
    assert await redis_snapshot() == before
    assert ada.post(f"{path}/posts", {"text": "others still can"}).status_code == 201

    for n in range(5):
        assert bo.post(f"{path}/proposals", {"text": f"topic {n}"}).status_code == 201
    before = await redis_snapshot()
    limited = bo.post(f"{path}/proposals", {"text": "topic 5"})
    assert error(limited) == (429, "rate_limited") and "minutes" in limited.json()["error"]["message"]
    assert await redis_snapshot() == before


def test_hosts_pin_delete_and_mute_authors_delete_their_own(server, ada, bo, club) -> None:
    path = space(club)
    rules = ada.post(f"{path}/posts", {"text": "House rules: be kind"}).json()
    bos = bo.post(f"{path}/posts", {"text": "Anyone reading Dweck?"}).json()
    bo_reply = bo.post(f"{path}/posts/{rules['id']}/replies", {"text": "Agreed"}).json()
    ada_reply = ada.post(f"{path}/posts/{bos['id']}/replies", {"text": "Me!"}).json()

    assert error(bo.put(f"{path}/posts/{bos['id']}/pin", {})) == (403, "forbidden")
    assert ada.put(f"{path}/posts/{rules['id']}/pin", {}).json()["pinned"] is True
    page = bo.get(f"{path}/posts").json()
    assert [p["id"] for p in page["pinned"]] == [rules["id"]] and [p["id"] for p in page["posts"]] == [bos["id"]]

    assert error(bo.delete(f"{path}/posts/{rules['id']}")) == (403, "forbidden")
    assert error(bo.delete(f"{path}/posts/{bos['id']}/replies/{ada_reply['id']}")) == (403, "forbidden")
    assert error(bo.delete(f"{path}/posts/{bos['id']}/replies/{bo_reply['id']}")) == (404, "not_found")  # wrong post
    assert bo.delete(f"{path}/posts/{rules['id']}/replies/{bo_reply['id']}").status_code == 200
    assert ada.delete(f"{path}/posts/{bos['id']}").status_code == 200  # a host deletes anyone's, with its replies
    page = bo.get(f"{path}/posts").json()
    assert page["posts"] == [] and page["pinned"][0]["replies"] == []
    assert error(ada.delete(f"{path}/posts/{bos['id']}")) == (404, "not_found")

    assert error(bo.put(f"{path}/mutes/{ada.id}", {})) == (403, "forbidden")
    assert error(ada.put(f"{path}/mutes/{ada.id}", {})) == (403, "forbidden")  # hosts can't be muted
    assert error(ada.put(f"{path}/mutes/nobody", {})) == (404, "not_found")
    muted = ada.put(f"{path}/mutes/{bo.id}", {}).json()["muted"]
    assert [(m["member"], m["by"]["name"]) for m in muted] == [({"id": bo.id, "name": "Bo"}, "Ada")]
    for target in (f"{path}/posts", f"{path}/posts/{rules['id']}/replies", f"{path}/proposals"):
        refused = bo.post(target, {"text": "can I?"})
        assert error(refused) == (403, "forbidden") and "muted" in refused.json()["error"]["message"]
    assert bo.get(f"{path}/posts").json()["you"]["muted"] is True  # and still reads
    assert ada.delete(f"{path}/mutes/{bo.id}").json()["muted"] == []
    assert bo.post(f"{path}/posts", {"text": "back"}).status_code == 201
    assert ada.delete(f"{path}/posts/{rules['id']}/pin").json()["pinned"] is False


async def test_a_private_clubs_space_is_refused_to_outsiders_and_stores_nothing(
    server, ada, bo, redis_snapshot
) -> None:
    club = ada.post("/api/clubs", {"name": "Inner circle", "visibility": "private"}).json()
    path = space(club)
    post_id = ada.post(f"{path}/posts", {"text": "members only"}).json()["id"]
    before = await redis_snapshot()
    for reply in (
        bo.post(f"{path}/posts", {"text": "let me in"}),
        bo.post(f"{path}/posts/{post_id}/replies", {"text": "hello?"}),
        bo.post(f"{path}/proposals", {"text": "a topic"}),
        bo.get(f"{path}/posts"),
        bo.get(f"{path}/proposals"),
        bo.delete(f"{path}/posts/{post_id}"),
        httpx.get(f"{server.base_url}{path}/posts"),
        httpx.get(f"{server.base_url}{path}/live"),
        httpx.get(f"{server.base_url}{path}/live", params={"token": bo.token}),
    ):
        assert error(reply) == (404, "club_not_found")
    assert await redis_snapshot() == before


async def test_an_ended_club_room_posts_its_roundup_exactly_once(server, ada, bo, club) -> None:
    series = schedule(ada, club_id=club["id"], start=local(timedelta(minutes=5)), title="Club hour")
    opened = ada.post(f"/api/events/{series['id']}/occurrences/{series['next']['date']}/open").json()
    room_id = opened["room_id"]
    elsewhere = server.create_room(ada.token, title="Not the club's")
    async with httpx.AsyncClient(base_url=server.base_url, headers=auth(ada.token)) as api:
        ends = await asyncio.gather(*(api.post(f"/api/rooms/{room_id}/end") for _ in range(4)))
        assert (await api.post(f"/api/rooms/{elsewhere}/end")).status_code == 200
    assert sorted(reply.status_code for reply in ends) == [200, 409, 409, 409]

    posts = bo.get(f"{space(club)}/posts").json()["posts"]
    assert len(posts) == 1
    (roundup,) = posts
    assert roundup["kind"] == "roundup" and roundup["by"] is None
    facts = roundup["roundup"]
    assert facts["room_id"] == room_id and facts["title"] == "Club hour" and facts["url"] == f"/rooms/{room_id}/roundup"
    assert facts["event_id"] == series["id"] and facts["occurrence"] == series["next"]["date"]
    assert facts["peak_listeners"] == 0 and facts["questions"] == 0 and facts["chat_messages"] == 0
    assert bo.post(f"{space(club)}/posts/{roundup['id']}/replies", {"text": "Thanks all"}).status_code == 201
    assert error(bo.delete(f"{space(club)}/posts/{roundup['id']}")) == (403, "forbidden")


def test_proposals_are_upvoted_and_one_becomes_a_dates_theme(server, ada, bo, club) -> None:
    path = space(club)
    cy = Person(server, "Cy")
    assert error(cy.post(f"{path}/proposals", {"text": "Onboarding"})) == (403, "forbidden")
    cy.post(f"/api/clubs/{club['id']}/follow")
    onboarding = bo.post(f"{path}/proposals", {"text": "Onboarding that sticks"}).json()
    feedback = cy.post(f"{path}/proposals", {"text": "Feedback <b>culture</b>"}).json()
    assert onboarding["votes"] == 0 and onboarding["adopted"] is None

    assert cy.put(f"{path}/proposals/{onboarding['id']}/vote", {}).json()["votes"] == 1
    again = cy.put(f"{path}/proposals/{onboarding['id']}/vote", {}).json()
    assert again["votes"] == 1 and again["you_voted"] is True  # twice is one vote
    assert bo.put(f"{path}/proposals/{onboarding['id']}/vote", {}).json()["votes"] == 2
    assert bo.delete(f"{path}/proposals/{onboarding['id']}/vote").json()["votes"] == 1  # taken back
    assert ada.put(f"{path}/proposals/{feedback['id']}/vote", {}).json()["votes"] == 1
    assert ada.put(f"{path}/proposals/{onboarding['id']}/vote", {}).json()["votes"] == 2
    listed = cy.get(f"{path}/proposals").json()
    assert [(p["text"], p["votes"], p["you_voted"]) for p in listed["open"]] == [
        ("Onboarding that sticks", 2, True), ("Feedback <b>culture</b>", 1, False),
    ]

    series = schedule(ada, club_id=club["id"], title="Burning questions")
    day = series["next"]["date"]
    adopt = f"{path}/proposals/{onboarding['id']}/adopt"
    assert error(bo.post(adopt, {"event_id": series["id"], "date": day})) == (403, "forbidden")
    other = schedule(ada, title="Not the club's")
    assert error(ada.post(adopt, {"event_id": other["id"], "date": day})) == (422, "invalid_message")
    assert error(ada.post(adopt, {"event_id": series["id"], "date": "2020-01-01"})) == (422, "not_an_occurrence")
    adopted = ada.post(adopt, {"event_id": series["id"], "date": day})
    assert adopted.status_code == 200, adopted.text
    assert adopted.json()["occurrence"]["theme"] == "Onboarding that sticks"
    assert adopted.json()["proposal"]["adopted"]["date"] == day

    assert bo.get(f"/api/events/{series['id']}").json()["next"]["theme"] == "Onboarding that sticks"
    listed = bo.get(f"{path}/proposals").json()
    assert [p["id"] for p in listed["open"]] == [feedback["id"]]
    (shown,) = listed["adopted"]
    assert shown["adopted"]["event_id"] == series["id"] and shown["adopted"]["title"] == "Burning questions"
    assert shown["adopted"]["event_url"] == f"/events/{series['id']}"
    assert error(cy.put(f"{path}/proposals/{onboarding['id']}/vote", {})) == (422, "invalid_message")

    ics = icalendar.Calendar.from_ical(httpx.get(f"{server.base_url}/api/events/{series['id']}/calendar.ics").content)
    summaries = [str(event["SUMMARY"]) for event in ics.walk("VEVENT")]
    assert "Burning questions — Onboarding that sticks" in summaries

    assert error(bo.delete(f"{path}/proposals/{feedback['id']}")) == (403, "forbidden")
    assert cy.delete(f"{path}/proposals/{feedback['id']}").status_code == 200
    assert cy.get(f"{path}/proposals").json()["open"] == []


async def _events(response: httpx.Response) -> AsyncIterator[tuple[str | None, str, dict]]:
    """(id, event, data) of each Server-Sent Event in `response`, heartbeats skipped."""
    entry_id, kind, data = None, "message", ""
    async for line in response.aiter_lines():
        if line.startswith("id: "):
            entry_id = line[4:]
        elif line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and data:
            yield entry_id, kind, json.loads(data)
            entry_id, kind, data = None, "message", ""


async def test_the_live_stream_carries_changes_across_nodes_and_resumes_after_a_reconnect(two_nodes) -> None:
    a, b = two_nodes
    ada, bo = Person(a, "Ada"), Person(b, "Bo")  # each on a node of its own
    club = ada.post("/api/clubs", {"name": "L&D Thursdays", "visibility": "private"}).json()
    path = space(club)
    invite = ada.post(f"/api/events/{schedule(ada, club_id=club['id'])['id']}/invites", {}).json()
    assert bo.post(f"/api/invites/{invite['token']}/accept").json()["followed_club"] is True

    async with httpx.AsyncClient(base_url=a.base_url, timeout=10) as api:
        async with api.stream("GET", f"{path}/live", params={"token": ada.token}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            events = _events(response)
            ready_id, kind, _ = await anext(events)
            assert kind == "ready"
            post = bo.post(f"{path}/posts", {"text": "Hello from node b"}).json()  # through the other node
            async with asyncio.timeout(5):
                seen_id, kind, change = await anext(events)
            assert (kind, change) == ("change", {"type": "post_added", "id": post["id"]})
            assert seen_id != ready_id

        reply = bo.post(f"{path}/posts/{post['id']}/replies", {"text": "while you were away"}).json()
        proposal = bo.post(f"{path}/proposals", {"text": "Reconnects"}).json()
        headers = {"Last-Event-ID": seen_id, "Authorization": f"Bearer {ada.token}"}
        async with api.stream("GET", f"{path}/live", headers=headers) as response:
            events = _events(response)
            async with asyncio.timeout(5):
                missed = [await anext(events) for _ in range(3)]
        assert [(kind, change) for _, kind, change in missed] == [
            ("change", {"type": "reply_added", "id": reply["id"], "post": post["id"]}),
            ("change", {"type": "proposal_added", "id": proposal["id"]}),
            ("ready", {}),
        ]
        assert missed[2][0] == missed[1][0]  # ready carries the last change's id
