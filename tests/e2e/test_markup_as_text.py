"""End to end: markup and script typed into names, titles, descriptions, a club, a question, the
chat, and a club's posts, replies and topic proposals show as the text they are, everywhere they
appear, and nothing in them runs.

Every payload pushes onto `window.__ran` if it ever runs (an event handler, a script element, a
`javascript:` link followed); the pages must leave it empty, show the payload literally and hold
no element or link made from it.
"""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

NAME = "<img src=x onerror=__ran.push('name')>"
TITLE = "<script>__ran.push('title')</script> Q&A"
DESCRIPTION = "javascript:__ran.push('description') <b onmouseover=__ran.push('b')>bold</b>"
LISTENER = "<svg onload=__ran.push('listener')>"
QUESTION = "<img src=x onerror=__ran.push('question')> <a href=\"javascript:__ran.push('a')\">see</a>"
CHAT = "<img src=x onerror=__ran.push('chat')> javascript:__ran.push('chat-link') see https://example.org/notes"
CLUB = "<iframe src=javascript:__ran.push('club')>"
CLUB_ABOUT = "<style>body{display:none}</style><marquee>club</marquee>"
POST = "<img src=x onerror=__ran.push('post')> javascript:__ran.push('post-link') see https://example.org/post"
REPLY = "<a href=\"javascript:__ran.push('reply')\">reply</a> <svg onload=__ran.push('reply-svg')>"
PROPOSAL = "<iframe src=javascript:__ran.push('proposal')></iframe> <b onmouseover=__ran.push('p')>topic</b>"

WATCH = "window.__ran = [];"
MADE_FROM_TEXT = "img[src='x'], svg, iframe, marquee, b, style:not(head style), a[href^='javascript:']"


async def watched(page: Page) -> Page:
    await page.context.add_init_script(WATCH)
    return page


async def submit_from_hallway(page: Page, fields: dict[str, str], button: str, lands_on: str) -> None:
    """Fill the hallway's fields (by label), press `button` and wait for the page it leads to."""
    await page.goto("/")
    for label, value in fields.items():
        await page.get_by_label(label, exact=True).fill(value)
    await page.get_by_role("button", name=button, exact=True).click()
    await expect(page).to_have_url(re.compile(lands_on))


async def nothing_ran(page: Page) -> None:
    """No payload ran on `page`, and none became an element or a link."""
    assert await page.evaluate("window.__ran") == []
    assert await page.locator(f"body :is({MADE_FROM_TEXT})").count() == 0


async def test_markup_in_names_titles_clubs_questions_chat_and_club_posts_stays_text(server, open_page) -> None:
    host = await watched(await open_page())
    room_form = {"Your name": NAME, "Title": TITLE, "Description (optional)": DESCRIPTION}
    await submit_from_hallway(host, room_form, "Create room", r"/rooms/[^/]+$")
    await host.get_by_role("button", name="Join room", exact=True).click()
    await expect(host.get_by_text("Live — you're on stage")).to_be_visible(timeout=10_000)
    await expect(host.get_by_role("heading", name=TITLE, exact=True)).to_be_visible()
    await expect(host.get_by_text(DESCRIPTION, exact=True)).to_be_visible()
    stage = host.get_by_role("region", name="Stage")
    await expect(stage.get_by_text(NAME)).to_be_visible()

    listener = await watched(await open_page())
    await listener.goto("/")
    await listener.get_by_label("Your name", exact=True).fill(LISTENER)
    card = listener.get_by_role("list", name="Live now").get_by_role("listitem").filter(has_text=TITLE)
    await expect(card.get_by_text(f"Hosted by {NAME}", exact=True)).to_be_visible(timeout=10_000)
    await nothing_ran(listener)
    await listener.get_by_role("button", name=f"Join {TITLE}", exact=True).click()
    await listener.get_by_role("button", name="Join room", exact=True).click()
    await expect(listener.get_by_role("button", name="Raise hand", exact=True)).to_be_visible(timeout=10_000)
    await listener.get_by_label("Your question", exact=True).fill(QUESTION)
    await listener.get_by_role("button", name="Ask", exact=True).click()

    await listener.get_by_label("Message", exact=True).fill(CHAT)
    await listener.get_by_role("button", name="Send", exact=True).click()

    for page in (listener, host):
        questions = page.get_by_role("list", name="Questions")
        await expect(questions.get_by_text(QUESTION)).to_be_visible(timeout=10_000)
        chat = page.get_by_role("list", name="Chat")
        await expect(chat.get_by_text(CHAT)).to_be_visible(timeout=10_000)
        await expect(chat.get_by_role("link")).to_have_count(1)  # the https one alone
        await expect(page.get_by_role("region", name="Stage").get_by_text(NAME)).to_be_visible()
        await nothing_ran(page)
    await expect(host.get_by_role("list", name="Chat").get_by_text(LISTENER)).to_be_visible()  # the author's name

    club_page = await watched(await open_page())
    club_form = {"Your name": NAME, "Club name": CLUB, "Club description (optional)": CLUB_ABOUT}
    await submit_from_hallway(club_page, club_form, "Create club", r"/clubs/[^/]+$")
    await expect(club_page.get_by_role("heading", name=CLUB, level=1)).to_be_visible()
    await expect(club_page.get_by_text(CLUB_ABOUT, exact=True)).to_be_visible()
    await nothing_ran(club_page)

    await club_page.get_by_label("Write a post", exact=True).fill(POST)
    await club_page.get_by_role("button", name="Post", exact=True).click()
    posts = club_page.get_by_role("list", name="Posts", exact=True)
    await expect(posts.get_by_text(POST)).to_be_visible(timeout=10_000)
    await posts.get_by_label(f"Reply to {NAME}'s post", exact=True).fill(REPLY)
    await posts.get_by_role("button", name="Reply", exact=True).click()
    await club_page.get_by_label("Propose a topic", exact=True).fill(PROPOSAL)
    await club_page.get_by_role("button", name="Propose", exact=True).click()
    reader = await watched(await open_page())
    await reader.goto(club_page.url)
    for page in (club_page, reader):
        posts = page.get_by_role("list", name="Posts", exact=True)
        await expect(posts.get_by_text(POST, exact=True)).to_be_visible(timeout=10_000)
        await expect(posts.get_by_text(REPLY, exact=True)).to_be_visible(timeout=10_000)
        await expect(posts.get_by_text(NAME, exact=True).first).to_be_visible()  # the author's name
        await expect(posts.get_by_role("link")).to_have_count(1)  # the https one alone
        topics = page.get_by_role("list", name="Proposed topics")
        await expect(topics.get_by_text(PROPOSAL, exact=True)).to_be_visible(timeout=10_000)
        await nothing_ran(page)
    await club_page.goto("/")
    clubs = club_page.get_by_role("list", name="Clubs")
    await expect(clubs.get_by_text(CLUB, exact=True)).to_be_visible(timeout=10_000)
    await nothing_ran(club_page)
