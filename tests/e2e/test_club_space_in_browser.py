"""End to end: a club's space on the club page, live. A member posts and the host sees it
without reloading; a proposal is upvoted and the host makes it the theme of a date; the host
ends a room of the club and both pages show its round-up post, linking to the round-up.

Two people in isolated browser contexts, driven through accessible names; the schedule, the
room's opening and its end go through the REST API with the host's own token from the page.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Locator, Page, expect
from test_scheduled_room import TITLE, start_club  # the host's club, made in the hallway

MEMBER = "Member Bo"
LIVE_S = 10_000  # ms within which a change made elsewhere shows


def posts(page: Page) -> Locator:
    return page.get_by_role("list", name="Posts", exact=True)


def proposals(page: Page) -> Locator:
    return page.get_by_role("list", name="Proposed topics")


async def test_the_club_space_updates_live_posts_proposals_themes_and_the_roundup(server, open_page) -> None:
    host = await open_page()
    club_id = await start_club(host)
    token = await host.evaluate("localStorage.getItem('dropin.token')")
    api = httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"})
    start = (datetime.now(ZoneInfo("Europe/London")) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    series = api.post("/api/events", json={
        "club_id": club_id, "title": TITLE, "timezone": "Europe/London", "start": start, "duration_minutes": 60,
        "recurrence": {"frequency": "weekly", "count": 4},
    }).json()
    await host.reload()
    await expect(host.get_by_role("list", name="Coming up").get_by_role("listitem")).to_have_count(4)

    member = await open_page()
    await member.goto(f"/clubs/{club_id}")
    await member.get_by_label("Your name", exact=True).fill(MEMBER)
    await member.get_by_role("button", name="Follow", exact=True).click()
    await expect(member.get_by_role("button", name="Unfollow", exact=True)).to_be_visible()

    await member.get_by_label("Write a post", exact=True).fill("Who has tried spaced practice?")
    await member.get_by_role("button", name="Post", exact=True).click()
    post = posts(host).get_by_role("listitem").filter(has_text="Who has tried spaced practice?")
    await expect(post).to_be_visible(timeout=LIVE_S)  # the host's page was not reloaded
    await expect(post.get_by_text(MEMBER, exact=True)).to_be_visible()
    await post.get_by_label(f"Reply to {MEMBER}'s post", exact=True).fill("Me, with flashcards")
    await post.get_by_role("button", name="Reply", exact=True).click()
    replies = posts(member).get_by_role("list", name=f"Replies to {MEMBER}'s post")
    await expect(replies.get_by_text("Me, with flashcards", exact=True)).to_be_visible(timeout=LIVE_S)

    await member.get_by_label("Propose a topic", exact=True).fill("Feedback that lands")
    await member.get_by_role("button", name="Propose", exact=True).click()
    topic = proposals(host).get_by_role("listitem").filter(has_text="Feedback that lands")
    await expect(topic.get_by_text(f"Proposed by {MEMBER} · 0 votes", exact=True)).to_be_visible(timeout=LIVE_S)
    await topic.get_by_role("button", name="Upvote", exact=True).click()
    await expect(topic.get_by_role("button", name="Upvoted", exact=True)).to_have_attribute("aria-pressed", "true")
    mine = proposals(member).get_by_role("listitem").filter(has_text="Feedback that lands")
    await expect(mine.get_by_text(f"Proposed by {MEMBER} · 1 vote", exact=True)).to_be_visible(timeout=LIVE_S)

    await topic.get_by_label("Date for “Feedback that lands”", exact=True).select_option(index=1)  # the second date
    await topic.get_by_role("button", name="Make it the theme", exact=True).click()
    chosen = member.get_by_role("list", name="Chosen as themes").get_by_role("listitem")
    await expect(chosen.filter(has_text="Feedback that lands")).to_be_visible(timeout=LIVE_S)
    theme_of = chosen.get_by_role("link", name=TITLE, exact=True)
    await expect(theme_of).to_have_attribute("href", f"/events/{series['id']}")
    await expect(proposals(member).get_by_role("listitem")).to_have_count(0)
    second = member.get_by_role("list", name="Coming up").get_by_role("listitem").nth(1)
    await expect(second.get_by_text("Theme: Feedback that lands", exact=True)).to_be_visible(timeout=LIVE_S)

    opened = api.post(f"/api/events/{series['id']}/occurrences/{series['next']['date']}/open").json()
    assert api.post(f"/api/rooms/{opened['room_id']}/end").status_code == 200
    for page in (member, host):
        roundup = posts(page).get_by_role("listitem").filter(has_text=f"Round-up: {TITLE}")
        await expect(roundup).to_be_visible(timeout=LIVE_S)
        link = roundup.get_by_role("link", name=f"See the round-up of {TITLE}", exact=True)
        await expect(link).to_have_attribute("href", f"/rooms/{opened['room_id']}/roundup")
        await expect(posts(page).get_by_role("listitem").first).to_contain_text(f"Round-up: {TITLE}")  # newest first
    await member.get_by_role("link", name=f"See the round-up of {TITLE}", exact=True).click()
    await expect(member).to_have_url(re.compile(rf"/rooms/{opened['room_id']}/roundup$"))
