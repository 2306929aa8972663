"""End to end: a club schedules a weekly invite-only room; a guest accepts an invite link, says
they're interested, joins at the start and asks a question that the host upvotes; the round-up
shows who was on stage and the question with its votes.

Two people in isolated browser contexts, driven only through accessible names. The room opens
for guests at its start, so the start is chosen 90 to 150 seconds ahead (whole minutes: the
"Starts" field has minute precision) and the test waits for it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Locator, Page, expect

OpenPage = Callable[[], Awaitable[Page]]  # the `open_page` fixture (tests/e2e/conftest.py)

HOST = "Host Ada"
GUEST = "Guest Gil"
CLUB = "Learning Circle"
TITLE = "Teaching clinic"
QUESTION = "How do we measure learning impact?"

# A start 90 s ahead or more, on a whole minute, as the browser's zone writes it.
START_IN_BROWSER_ZONE = """
() => {
  const start = Math.ceil((Date.now() + 90_000) / 60_000) * 60_000;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    hourCycle: 'h23', timeZone: zone,
  }).formatToParts(new Date(start)).map((part) => [part.type, part.value]));
  return {start, zone, local: `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`};
}
"""


def next_date(page: Page) -> Locator:
    """The first date in the event page's "Coming up" list."""
    return page.get_by_role("list", name="Coming up").get_by_role("listitem").first


def questions(page: Page) -> Locator:
    return page.get_by_role("region", name="Questions")


async def start_club(page: Page) -> str:
    await page.goto("/")
    await page.get_by_label("Your name", exact=True).fill(HOST)
    await page.get_by_label("Club name", exact=True).fill(CLUB)
    await page.get_by_label("Club description (optional)", exact=True).fill("Teachers swapping what works.")
    await expect(page.get_by_label("Private club: people join only with an invite link")).not_to_be_checked()
    await page.get_by_role("button", name="Create club", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/clubs/[^/]+$"))
    await expect(page.get_by_role("heading", name=CLUB, level=1)).to_be_visible()
    return page.url.rstrip("/").rsplit("/", 1)[-1]


async def schedule_weekly_invite_only(page: Page) -> tuple[str, float, str]:
    """Schedules the room from the club page; returns (event id, start in unix seconds, local start)."""
    form = page.get_by_role("region", name="Schedule a room")
    await expect(form).to_be_visible()
    await form.get_by_label("Title", exact=True).fill(TITLE)
    await expect(form.get_by_label("Agenda", exact=True)).to_have_value("Open agenda: bring your burning questions")
    start = await page.evaluate(START_IN_BROWSER_ZONE)
    await expect(form.get_by_label("Time zone", exact=True)).to_have_value(start["zone"])
    await form.get_by_label("Starts", exact=True).fill(start["local"])
    await expect(form.get_by_label("Duration (minutes)", exact=True)).to_have_value("60")
    await form.get_by_label("Who can join", exact=True).select_option(label="Invite link only")
    await form.get_by_label("Repeats", exact=True).select_option("weekly")
    await form.get_by_role("radio", name="After a number of times", exact=True).check()
    await form.get_by_label("Number of times", exact=True).fill("4")
    await form.get_by_role("button", name="Schedule room", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/events/[^/]+$"))
    return page.url.rstrip("/").rsplit("/", 1)[-1], start["start"] / 1000, start["local"]


@pytest.mark.timeout(300)
async def test_scheduled_room_from_club_to_roundup(server, open_page: OpenPage) -> None:
    host = await open_page()
    guest = await open_page()

    # 1. The host starts a public club and schedules a weekly, invite-only room, four times.
    await start_club(host)
    event_id, starts_at, local_start = await schedule_weekly_invite_only(host)
    await expect(host.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    await expect(host.get_by_text(re.compile(r"^Weekly on \w+days, 4 times"))).to_be_visible()
    await expect(host.get_by_text("Only people with an invite link can join.")).to_be_visible()
    await expect(host.get_by_role("link", name="Add to calendar", exact=True)).to_be_visible()
    # The viewer is in the host's zone: one time, with the city.
    await expect(next_date(host).get_by_role("heading")).to_contain_text(local_start[11:16])

    # 2. ... and makes an invite link that also has the guest follow the club.
    invites = host.get_by_role("region", name="Invite links")
    await expect(invites.get_by_label("Also follow the club", exact=True)).to_be_checked()
    await invites.get_by_label("Expires in (hours)", exact=True).fill("24")
    await invites.get_by_label("Maximum uses", exact=True).fill("5")
    await invites.get_by_role("button", name="Create invite link", exact=True).click()
    link_field = invites.get_by_label("Invite link", exact=True)
    await expect(link_field).to_have_value(re.compile(r"^http://.+/invite/[^/]+$"))
    link = await link_field.input_value()
    await expect(invites.get_by_role("button", name="Revoke", exact=True)).to_have_count(1)

    # 3. The guest opens the link, gives a name, accepts, and says they're interested.
    await guest.goto(link)
    await expect(guest.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    await expect(guest.get_by_text(re.compile(r"^This invite works until"))).to_be_visible()
    await expect(guest.get_by_text(f"Accepting also makes you a member of {CLUB}.", exact=True)).to_be_visible()
    await guest.get_by_label("Your name", exact=True).fill(GUEST)
    await guest.get_by_role("button", name="Accept invite", exact=True).click()
    await expect(guest).to_have_url(re.compile(rf"/events/{re.escape(event_id)}$"))
    interested = next_date(guest).get_by_role("button", name="I'm interested", exact=True)
    await expect(interested).to_have_attribute("aria-pressed", "false")
    await interested.click()
    await expect(interested).to_have_attribute("aria-pressed", "true")
    await expect(next_date(guest)).to_contain_text("1 interested")

    # 4. The host sees the RSVP after a reload, then opens the room (early) and goes on stage.
    await host.reload()
    await expect(next_date(host)).to_contain_text("1 interested")
    await expect(next_date(host)).to_contain_text("starting soon")
    await next_date(host).get_by_role("button", name="Open room", exact=True).click()
    await expect(host).to_have_url(re.compile(r"/rooms/[^/]+$"))
    room_id = host.url.rstrip("/").rsplit("/", 1)[-1]
    await host.get_by_role("button", name="Join room", exact=True).click()
    await expect(host.get_by_text("Live — you're on stage")).to_be_visible(timeout=10_000)

    # 5. At the start the room opens for everyone: the guest's event page offers "Join room".
    wait_s = max(0.0, starts_at - time.time())
    join = next_date(guest).get_by_role("link", name="Join room", exact=True)
    await expect(join).to_be_visible(timeout=(wait_s + 30) * 1000)
    assert time.time() >= starts_at - 1, "the guest was offered the room before its start"
    await join.click()
    await expect(guest).to_have_url(re.compile(rf"/rooms/{re.escape(room_id)}$"))
    await guest.get_by_role("button", name="Join room", exact=True).click()
    await expect(guest.get_by_role("button", name="Raise hand", exact=True)).to_be_visible(timeout=10_000)

    # 6. The guest asks a question; the host sees it and upvotes it.
    await questions(guest).get_by_label("Your question", exact=True).fill(QUESTION)
    await questions(guest).get_by_role("button", name="Ask", exact=True).click()
    await expect(questions(guest).get_by_text(QUESTION, exact=True)).to_be_visible(timeout=5_000)
    await expect(questions(host).get_by_text(QUESTION, exact=True)).to_be_visible(timeout=5_000)
    upvote = questions(host).get_by_role("button", name=f"Upvote: {QUESTION}", exact=True)
    before = int((await upvote.inner_text()).strip().lstrip("▲").strip())
    await upvote.click()
    votes = before + 1
    await expect(upvote).to_have_attribute("aria-pressed", "true")
    await expect(upvote).to_be_disabled()
    await expect(upvote).to_have_text(f"▲ {votes}")
    await expect(questions(guest).get_by_role("button", name=f"Upvote: {QUESTION}", exact=True)).to_have_text(
        f"▲ {votes}", timeout=5_000
    )
    # The asker is a listener, so the host may bring them up from the question.
    await expect(questions(host).get_by_role("button", name=f"Invite {GUEST} to speak", exact=True)).to_be_visible(
        timeout=5_000
    )

    # 7. The host ends the room, confirming it, and reads the round-up.
    await host.get_by_role("region", name="Host controls").get_by_role("button", name="End room", exact=True).click()
    confirm = host.get_by_role("dialog", name="End the room for everyone?")
    await confirm.get_by_role("button", name="End room for everyone", exact=True).click()
    await expect(host.get_by_text("This room has ended.")).to_be_visible(timeout=5_000)
    await expect(guest.get_by_role("link", name="See the round-up", exact=True)).to_be_visible(timeout=5_000)
    await host.get_by_role("link", name="See the round-up", exact=True).click()
    await expect(host).to_have_url(re.compile(rf"/rooms/{re.escape(room_id)}/roundup$"))
    await expect(host.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    stage = host.get_by_role("list", name="On stage")
    await expect(stage.get_by_role("listitem").filter(has_text=f"{HOST} — ")).to_have_count(1)
    assert int(await host.locator("#unique").inner_text()) >= 1
    came = host.get_by_role("list", name="Who came to listen")
    await expect(came.get_by_role("listitem").filter(has_text=GUEST)).to_have_count(1)
    asked = host.get_by_role("list", name="Questions").get_by_role("listitem").filter(has_text=QUESTION)
    await expect(asked).to_contain_text(f"{votes} vote")
    await expect(asked).to_contain_text(f"asked by {GUEST}")
    await expect(asked).to_contain_text("not answered")
    await expect(host.get_by_label("Host notes", exact=True)).to_be_visible()
    await expect(host.get_by_role("link", name="Download Markdown", exact=True)).to_be_visible()
    await expect(host.get_by_role("link", name="Download JSON", exact=True)).to_be_visible()
