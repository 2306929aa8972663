"""End to end in Firefox ESR: Firefox listens to, speaks to, and switches slots with Chromium.

Firefox offers differently from Chromium (Opus as payload type 109, its own header-extension
ids and SDP), so it gets its own tests. Playwright cannot drive Debian's Firefox: each Firefox
person is a node process (tests/firefox/driver.mjs, puppeteer-core over WebDriver BiDi) that
launches /usr/bin/firefox-esr headless with a fake microphone (a tone) and takes one JSON
command a line. The Chromium people come from the usual Playwright fixtures. Firefox is driven
through accessible names and the page's ids, as the Chromium tests drive the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import runpy
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect
from slot_switching import (
    GUEST,
    HOST,
    LISTENER,
    POLL_S,
    alternate,
    assert_one_stream_without_loss,
    attach_ear,
    one_slot_room_with_two_speakers,
    watch_slots_script,
)
from test_stage_in_browser import stage_entry, start_room

from support import REPO, join

FIREFOX = "/usr/bin/firefox-esr"
DRIVER = REPO / "tests" / "firefox" / "driver.mjs"
NODE_MODULES = REPO / "tests" / "firefox" / "node_modules" / "puppeteer-core"
# The Chromium pages' init script (tests/e2e/conftest.py): every RTCPeerConnection in window.__pcs.
REMEMBER_PEER_CONNECTIONS = runpy.run_path(str(Path(__file__).with_name("conftest.py")))["REMEMBER_PEER_CONNECTIONS"]

MISSING = "Firefox tests need `apt-get install firefox-esr nodejs npm` and `npm ci --prefix tests/firefox`"


class DriverError(AssertionError):
    """A command the Firefox page could not carry out (an element that never showed up, ...)."""


def role(role: str, name: str) -> str:
    """The element a person finds by its role and accessible name (exactly)."""
    return f"::-p-aria([name={json.dumps(name)}][role={json.dumps(role)}])"


def text(words: str) -> str:
    """The innermost element whose text contains `words`."""
    return f"::-p-text({words})"


class FirefoxPage:
    """One person in Firefox ESR: a page of tests/firefox/driver.mjs, on the test server."""

    def __init__(self, process: asyncio.subprocess.Process, base_url: str, version: str) -> None:
        self._process = process
        self._base_url = base_url
        self.version = version
        self._ids = 0
        self._lock = asyncio.Lock()

    @classmethod
    async def launch(cls, base_url: str) -> FirefoxPage:
        if not (Path(FIREFOX).exists() and shutil.which("node") and NODE_MODULES.exists()):
            raise RuntimeError(MISSING)
        with tempfile.TemporaryFile() as stderr:  # the driver's own complaints, for a failed start
            process = await asyncio.create_subprocess_exec(
                "node", str(DRIVER), cwd=REPO, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=stderr, start_new_session=True,
            )
            assert process.stdout is not None
            try:
                line = await asyncio.wait_for(process.stdout.readline(), 60)
                ready = json.loads(line) if line else {}
            except (TimeoutError, ValueError):
                ready = {}
            if not ready.get("ready"):
                if process.returncode is None:
                    process.kill()
                await process.wait()
                stderr.seek(0)
                raise RuntimeError(f"Firefox did not start: {stderr.read().decode(errors='replace')[-2000:]}")
        page = cls(process, base_url, ready["browser"])
        await page.send("init_script", source=REMEMBER_PEER_CONNECTIONS)
        return page

    async def send(self, command: str, timeout_s: float = 15, **fields: Any) -> Any:
        """One command to the driver, and its answer's value (raises DriverError on a failure)."""
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        async with self._lock:
            self._ids += 1
            process.stdin.write(json.dumps({"id": self._ids, "do": command, **fields}).encode() + b"\n")
            await process.stdin.drain()
            line = await asyncio.wait_for(process.stdout.readline(), timeout_s)
        if not line:
            raise DriverError(f"the Firefox driver exited (status {process.returncode}) during {command}")
        reply = json.loads(line)
        assert reply["id"] == self._ids, f"answer out of order: {reply}"
        if not reply["ok"]:
            raise DriverError(reply["error"])
        return reply["value"]

    async def goto(self, path: str) -> None:
        await self.send("goto", url=self._base_url + path)

    async def click(self, selector: str, timeout_s: float = 10) -> None:
        await self.send("click", selector=selector, timeout_ms=int(timeout_s * 1000), timeout_s=timeout_s + 5)

    async def fill(self, selector: str, value: str, timeout_s: float = 10) -> None:
        await self.send("fill", selector=selector, value=value, timeout_ms=int(timeout_s * 1000),
                        timeout_s=timeout_s + 5)

    async def wait_for(self, selector: str, timeout_s: float = 10, hidden: bool = False) -> None:
        await self.send("wait", selector=selector, hidden=hidden, timeout_ms=int(timeout_s * 1000),
                        timeout_s=timeout_s + 5)

    async def is_visible(self, selector: str) -> bool:
        """Whether a person sees such an element now."""
        return bool(await self.send("visible", selector=selector))

    async def evaluate(self, function: str, *args: Any) -> Any:
        return await self.send("evaluate", function=function, args=list(args))

    async def add_init_script(self, source: str) -> None:
        """`source` runs in every document this page opens from the next navigation on."""
        await self.send("init_script", source=source)

    async def close(self) -> None:
        process = self._process
        if process.returncode is None:
            with contextlib.suppress(Exception):
                await self.send("close", timeout_s=10)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                # The driver's SIGTERM handler closes Firefox (started in its own process group).
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 10)
                except TimeoutError:
                    os.killpg(process.pid, signal.SIGKILL)
                    await process.wait()


OpenFirefox = Callable[[], Awaitable[FirefoxPage]]
OpenPage = Callable[[], Awaitable[Page]]  # the `open_page` fixture (tests/e2e/conftest.py)


@pytest.fixture
async def open_firefox(server) -> AsyncIterator[OpenFirefox]:
    """Opens a Firefox ESR page (one person, in their own browser) on the test server."""
    pages: list[FirefoxPage] = []

    async def open_one() -> FirefoxPage:
        page = await FirefoxPage.launch(server.base_url)
        pages.append(page)
        return page

    try:
        yield open_one
        # The app threw nothing uncaught in Firefox (an API it lacks, say).
        errors = [error for page in pages for error in await page.send("page_errors")]
        assert not errors, f"uncaught errors in the Firefox pages: {errors}"
    finally:
        await asyncio.gather(*(page.close() for page in pages))


# Audio reaching the page, from getStats() `inbound-rtp` over its open peer connections: packets
# received, and the energy of what was decoded from them (totalAudioEnergy, which silence leaves
# at 0), by receive slot (mid) and in all.
INBOUND_AUDIO = """
async () => {
  const byMid = {};
  for (const pc of window.__pcs.filter((pc) => pc.connectionState !== 'closed')) {
    (await pc.getStats()).forEach((stat) => {
      if (stat.type !== 'inbound-rtp' || stat.kind !== 'audio') return;
      const mid = String(stat.mid);
      const seen = byMid[mid] ?? { packets: 0, energy: 0 };
      seen.packets += stat.packetsReceived ?? 0;
      seen.energy += stat.totalAudioEnergy ?? 0;
      byMid[mid] = seen;
    });
  }
  return byMid;
}
"""

Inbound = dict[str, dict[str, float]]  # {mid: {packets, energy}}


async def inbound_audio(page: Page | FirefoxPage) -> Inbound:
    return await page.evaluate(INBOUND_AUDIO)  # type: ignore[no-any-return]


async def hears(page: Page | FirefoxPage, *, other_than: set[str], within_s: float) -> tuple[str, dict[str, float]]:
    """The first receive slot (mid) not in `other_than` with over 100 packets (2 s of Opus) and
    sound in them; fails with what the page received if none comes within `within_s`."""
    deadline = time.monotonic() + within_s
    seen: Inbound = {}
    while time.monotonic() < deadline:
        seen = await inbound_audio(page)
        for mid, stream in seen.items():
            if mid not in other_than and stream["packets"] > 100 and stream["energy"] > 0:
                return mid, stream
        await asyncio.sleep(0.25)
    raise AssertionError(f"no receive slot besides {sorted(other_than)} carried sound within {within_s} s: {seen}")


async def join_in_firefox(page: FirefoxPage, name: str, room_id: str) -> None:
    """A person opens the room's link in Firefox, gives a name and joins as a listener."""
    await page.goto(f"/rooms/{room_id}")
    await page.fill(role("textbox", "Your name"), name)
    await page.click(role("button", "Join room"))
    await page.wait_for(role("button", "Raise hand"))


async def test_firefox_listener_hears_a_chromium_host(server, open_page: OpenPage, open_firefox: OpenFirefox) -> None:
    host, listener = await asyncio.gather(open_page(), open_firefox())

    # Ada opens a room in Chromium; Bo joins it in Firefox and is counted.
    room_id = await start_room(host)
    await join_in_firefox(listener, "Fox Bo", room_id)
    await expect(host.get_by_text("1 listening")).to_be_visible(timeout=10_000)

    # Ada's Opus (payload type 111 from Chromium) reaches Bo's Firefox (109) and decodes to sound.
    await hears(listener, other_than=set(), within_s=10)
    assert len(await inbound_audio(listener)) == 1, "one receive slot carries audio: Ada's"

    # Bo leaves; Ada sees the count drop.
    await listener.click(role("button", "Leave quietly"))
    await listener.wait_for(text("You left the room."))
    await expect(host.get_by_text("0 listening")).to_be_visible(timeout=10_000)


async def come_on_stage_in_firefox(host: Page, guest: FirefoxPage, name: str) -> float:
    """The Firefox guest raises a hand, the Chromium host invites them, the guest accepts and,
    if they come on stage muted, unmutes; returns when they accepted (monotonic seconds)."""
    await guest.click(role("button", "Raise hand"))
    await guest.wait_for(role("button", "Lower hand"), timeout_s=5)
    hands = host.get_by_role("region", name="Raised hands")
    await expect(hands.get_by_text(name, exact=True)).to_be_visible(timeout=5_000)
    await hands.get_by_role("button", name=f"Invite {name} to speak", exact=True).click()

    await guest.wait_for(role("dialog", "Join the stage?"), timeout_s=5)
    await guest.wait_for(text("Host Ada invited you to speak."))
    await guest.click(role("button", "Accept"))
    accepted_at = time.monotonic()
    await guest.wait_for(role("dialog", "Join the stage?"), hidden=True, timeout_s=5)
    await guest.wait_for(text("Live — you're on stage"), timeout_s=10)
    # An accepted invitation may bring a member on stage with the microphone off: a person who
    # wants to be heard then unmutes.
    await guest.wait_for("#mute-button", timeout_s=5)
    if await guest.is_visible(role("button", "Unmute microphone")):
        await guest.click(role("button", "Unmute microphone"))
    await guest.wait_for(role("button", "Mute microphone"), timeout_s=5)
    return accepted_at


async def test_firefox_speaker_brought_on_stage_is_heard_in_chromium(
    server, open_page: OpenPage, open_firefox: OpenFirefox
) -> None:
    host, listener, guest = await asyncio.gather(open_page(), open_page(), open_firefox())

    # 1. Ada opens a room in Chromium; Ana joins in Firefox, Ben in Chromium, and Ben hears Ada.
    room_id = await start_room(host)
    await join_in_firefox(guest, "Fox Ana", room_id)
    await join(listener, f"/rooms/{room_id}", "Ben")
    host_mid, _ = await hears(listener, other_than=set(), within_s=10)

    # 2. Ana raises her hand, Ada invites her, Ana accepts and talks (Firefox's fake microphone,
    # a tone, offered as Opus payload type 109).
    accepted_at = await come_on_stage_in_firefox(host, guest, "Fox Ana")
    await expect(stage_entry(listener, "Fox Ana").get_by_text("mic on", exact=True)).to_be_visible(timeout=5_000)
    await expect(stage_entry(host, "Fox Ana").get_by_text("mic on", exact=True)).to_be_visible(timeout=5_000)

    # 3. Ben hears Ana in Chromium on a second slot within 10 s of her accepting.
    remaining = accepted_at + 10 - time.monotonic()
    ana_mid, _ = await hears(listener, other_than={host_mid}, within_s=remaining)
    # ... her tone rings her name (the server reads her audio level from Firefox's
    # ssrc-audio-level header extension, at Firefox's extension id) ...
    await expect(stage_entry(listener, "Fox Ana")).to_have_attribute("data-speaking", "true", timeout=5_000)
    # ... and Ana, now on stage, still hears Ada.
    await hears(guest, other_than=set(), within_s=5)

    # 4. Ana mutes herself: her slot on Ben's page stops.
    await guest.click(role("button", "Mute microphone"))
    await expect(stage_entry(listener, "Fox Ana").get_by_text("muted", exact=True)).to_be_visible(timeout=5_000)
    await asyncio.sleep(0.5)
    before = (await inbound_audio(listener))[ana_mid]["packets"]
    await asyncio.sleep(1.5)
    after = (await inbound_audio(listener))[ana_mid]["packets"]
    assert after - before <= 3, f"Ana's slot (mid {ana_mid}) got {after - before} packets in 1.5 s after she muted"


# Which stage members' entries show the speaking ring on the page: {name: true/false}.
RINGS = """
() => Object.fromEntries([...document.querySelectorAll('#stage-list > li')].map((row) => [
  row.querySelector('.name').textContent.replace(/ \\(you\\)$/, ''),
  row.dataset.speaking === 'true' && !row.querySelector('.speaking-words').hidden,
]))
"""


async def ring_on(page: FirefoxPage, speaker: str, silent: str, within_s: float) -> None:
    """On the Firefox page, `speaker`'s stage entry shows the speaking ring and `silent`'s does not."""
    deadline = time.monotonic() + within_s
    rings: dict[str, bool] = {}
    while time.monotonic() < deadline:
        rings = await page.evaluate(RINGS)
        if rings.get(speaker) is True and rings.get(silent) is False:
            return
        await asyncio.sleep(POLL_S)
    raise AssertionError(f"the ring is not on {speaker} alone within {within_s} s: {rings}")


async def unmute_if_muted(page: Page) -> None:
    """A Chromium member just brought on stage turns the microphone on if it came on muted."""
    unmute = page.get_by_role("button", name="Unmute microphone", exact=True)
    await expect(page.get_by_role("button", name=re.compile(r"^(Un)?[mM]ute microphone$"))).to_be_visible()
    if await unmute.is_visible():
        await unmute.click()
    await expect(page.get_by_role("button", name="Mute microphone", exact=True)).to_be_visible(timeout=5_000)


async def test_firefox_listener_keeps_hearing_as_the_slot_switches(
    server, open_page: OpenPage, open_firefox: OpenFirefox
) -> None:
    """test_slot_switch.py's room, heard in Firefox: one receive slot, two Chromium speakers with
    tones the test turns up and down (Ada 440 Hz, Ben 1000 Hz), three switches; the Firefox
    listener's slot follows whoever talks, as one continuous RTP stream with next to no loss.
    Headless Firefox has no audio device, so a realtime AudioContext never runs there: the slot's
    RTP watch decodes the Opus itself and hears the tones in it (slot_switching.py). What it hears
    is what the server sent on the slot; Firefox's own decoding of it shows in getStats()
    (totalAudioEnergy, concealment)."""
    host, guest, listener = await asyncio.gather(open_page(), open_page(), open_firefox())
    await listener.add_init_script(watch_slots_script(decode=True))

    # 1. Ada opens a one-slot room; Ben comes on stage; Cy listens in Firefox.
    room_id = await one_slot_room_with_two_speakers(server, host, guest)
    await unmute_if_muted(guest)
    await join_in_firefox(listener, LISTENER, room_id)
    await listener.wait_for(f"#stage-list {text(GUEST)}", timeout_s=5)
    ear = await attach_ear(listener, by_analyser=False)  # type: ignore[arg-type]  # answers as Page.evaluate does

    # 2. Ada talks, Ben is silent: Cy hears Ada, and her name rings.
    # 3. Three times, the one talking falls silent and the other talks.
    first, switches = await alternate(ear, {HOST: host, GUEST: guest}, functools.partial(ring_on, listener))

    # One stream for the slot throughout, carrying on at each switch, with next to nothing lost,
    # and no burst of concealment at a switch.
    await assert_one_stream_without_loss(ear, first, switches)
