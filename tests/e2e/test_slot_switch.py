"""End to end: two speakers alternate and a listener's slot switches without loss bursts.

A room with one receive slot (Ada picks "Voices heard at once: 1" in the hallway), three people in
isolated browser contexts: Ada (host) and Ben (brought on stage) each have a microphone the test
controls, a WebAudio tone (Ada 440 Hz, Ben 1000 Hz) behind a gain that the test turns up (talking)
or down to 0 (silent); Cy listens. Ada talks, then Ben, then Ada, then Ben: three switches of
Cy's only slot.

On Cy's page the test checks that:
- the speaking ring follows whoever talks (their stage entry has `data-speaking="true"` and the
  word "speaking" for screen readers; the silent one's has neither);
- the sound in the slot switches: the received track's loudest frequency, read with a WebAudio
  AnalyserNode, moves from one speaker's tone to the other's within a couple of seconds, and
  stays there while they talk;
- the slot is one continuous RTP stream: a receive transform on the slot (RTCRtpScriptTransform,
  the only place a page sees RTP headers) notes every packet's SSRC, sequence number and
  timestamp, so a new SSRC, a sequence number that jumps, or a timestamp that jumps or restarts
  at a switch fails the test, even where Chrome's jitter buffer would take it in its stride;
- nothing audible is lost: getStats() `inbound-rtp` for the slot shows next to no packets lost
  and no burst of concealment around the switches.

The scenario and its measurements are in slot_switching.py; test_firefox.py runs them with a
Firefox listener.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from playwright.async_api import Page, expect
from slot_switching import (
    GUEST,
    HOST,
    LISTENER,
    SWITCHES,
    alternate,
    assert_one_stream_without_loss,
    attach_ear,
    one_slot_room_with_two_speakers,
    watch_slots,
)
from test_stage_in_browser import join_from_hallway, stage_entry

OpenPage = Callable[[], Awaitable[Page]]  # the `open_page` fixture (tests/e2e/conftest.py)


async def expect_ring_on(page: Page, speaker: str, silent: str, within_s: float) -> None:
    """On `page`, `speaker`'s stage entry shows the speaking ring and `silent`'s does not."""
    talking, quiet = stage_entry(page, speaker), stage_entry(page, silent)
    await expect(talking).to_have_attribute("data-speaking", "true", timeout=within_s * 1000)
    await expect(talking.get_by_text("speaking", exact=True)).to_be_visible()
    await expect(quiet).to_have_attribute("data-speaking", "false", timeout=within_s * 1000)
    await expect(quiet.get_by_text("speaking", exact=True)).to_be_hidden()


async def test_two_speakers_alternate_and_the_slot_switches_without_loss(server, open_page: OpenPage) -> None:
    host = await open_page()
    guest = await open_page()
    listener = await open_page()
    await watch_slots(listener)

    # 1. Ada opens a one-slot room; Ben comes on stage; Cy listens.
    room_id = await one_slot_room_with_two_speakers(server, host, guest)
    await join_from_hallway(listener, LISTENER, room_id)
    await expect(listener.get_by_role("button", name="Raise hand", exact=True)).to_be_visible(timeout=10_000)
    await expect(stage_entry(listener, GUEST)).to_be_visible(timeout=5_000)
    ear = await attach_ear(listener, by_analyser=True)
    assert await listener.locator("#remote-audio audio").count() == 1

    # 2. Ada talks, Ben is silent: Cy hears Ada in the slot, and her name rings.
    # 3. Three times, the one talking falls silent and the other talks.
    first, switches = await alternate(ear, {HOST: host, GUEST: guest}, functools.partial(expect_ring_on, listener))

    # One RTP stream for the slot throughout, carrying on at each switch, next to nothing lost and
    # no burst of concealment around any switch; and the stream steps (SSRC, sequence number or
    # timestamp) no more often than the slot switched, but for a packet lost on the way.
    rtp, report = await assert_one_stream_without_loss(ear, first, switches)
    missing = sum(step["seqStep"] - 1 for step in rtp["steps"])
    assert len(rtp["steps"]) <= SWITCHES + missing, f"the stream stepped more often than the slot switched: {report}"
