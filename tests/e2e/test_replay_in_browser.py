"""End to end: the host records a room from its controls; everyone in it sees that it is being
recorded, and so does someone about to join; after the room ends, its round-up page plays the
recording back (the audio elements' played time advances) and shows who was on stage."""

from __future__ import annotations

from playwright.async_api import Page, expect

from support import go_live, join, packets_on

NOTICE = "This room is being recorded."


def notice(page: Page):
    return page.get_by_text(NOTICE)


async def played_seconds(page: Page) -> list[float]:
    return await page.evaluate(
        "[...document.querySelectorAll('#recording-list audio')].map((a) => a.played.length ? a.played.end(0) : 0)"
    )


async def test_a_recorded_room_plays_back_on_its_round_up_page(server, open_page) -> None:
    host = await open_page()
    room_url = await go_live(host)
    bo = await open_page()
    await join(bo, room_url, "Listener Bo")
    assert await packets_on(bo, 50, within_s=10) > 50, "Bo hears the host"
    await expect(notice(bo)).to_be_hidden()

    controls = host.get_by_role("region", name="Host controls")
    await controls.get_by_role("button", name="Start recording", exact=True).click()
    await expect(notice(bo)).to_be_visible(timeout=10_000)
    await expect(notice(host)).to_be_visible()
    cy = await open_page()
    await cy.goto(room_url)
    await expect(notice(cy)).to_be_visible(timeout=10_000)  # told before joining
    await expect(cy.get_by_role("button", name="Join room", exact=True)).to_be_visible()

    await bo.wait_for_timeout(4_000)  # the host's fake microphone beeps into the recording
    await controls.get_by_role("button", name="Stop recording", exact=True).click()
    await expect(notice(bo)).to_be_hidden(timeout=10_000)
    await controls.get_by_role("button", name="End room", exact=True).click()
    await host.get_by_role("dialog", name="End the room for everyone?").get_by_role(
        "button", name="End room for everyone", exact=True).click()

    await bo.get_by_role("link", name="See the round-up", exact=True).click()
    replay = bo.get_by_role("region", name="Replay")
    await expect(replay.get_by_role("heading", name="Recording 1", exact=True)).to_be_visible(timeout=15_000)
    await expect(replay.get_by_role("button", name="Delete recording 1", exact=True)).to_have_count(0)
    await replay.get_by_role("button", name="Play recording 1", exact=True).click()
    await expect(replay.get_by_role("button", name="Pause recording 1", exact=True)).to_be_visible(timeout=5_000)
    await expect(replay.get_by_text("On stage: Host Ada")).to_be_visible(timeout=10_000)
    await bo.wait_for_timeout(2_000)
    played = await played_seconds(bo)
    assert len(played) == 3 and min(played) > 1.0, f"every slot plays, in step: {played}"

    await host.goto(f"{room_url}/roundup")
    delete = host.get_by_role("region", name="Replay").get_by_role("button", name="Delete recording 1", exact=True)
    await delete.click(timeout=15_000)
    await expect(host.get_by_role("region", name="Replay")).to_be_hidden(timeout=10_000)
