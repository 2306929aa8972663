"""An impairing UDP relay for the tests: a bad network between one browser and coturn; and what
the end-to-end tests of bad networks share (a server handing out TURN credentials, the page's
relay-only switch, what its peer connection and its websocket say).

This kernel has no netem, so the impairment is done in user space: a UDP proxy on this machine's
address forwards datagrams between its clients and one upstream (coturn). A page whose TURN URL
names the proxy (`ImpairingRelay.urls`) reaches coturn only through it; coturn's relays then carry
that page's media, and only that page's, through the proxy. Each client gets its own upstream
socket, so coturn sees one 5-tuple per client as it would without the proxy.

Datagrams going the impaired way (`"down"`: from coturn to the client, what a listener hears;
`"up"`; or `"both"`) are dropped at random with probability `loss` and otherwise delayed by
`delay_ms` plus a uniform random `-jitter_ms..+jitter_ms` (never below zero), like netem's
`delay D J loss L`: delays are independent, so packets may overtake each other. `block(seconds)`
drops everything, both ways, for a while. The random draws come from one seeded generator.

The relay runs its own event loop in a thread, so a test that blocks its loop (starting a server
process, say) does not stall the network it stands in for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import redis
from playwright.async_api import Page

from support import RunningServer, go_live, join, serving

Direction = Literal["up", "down", "both"]


@dataclass
class Counts:
    """What the relay did with the datagrams going one way."""

    forwarded: int = 0
    dropped: int = 0  # by the random loss
    blocked: int = 0  # while blocked


@dataclass
class Impairment:
    loss: float = 0.0
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    direction: Direction = "down"
    seed: int = 12


class _Upstream(asyncio.DatagramProtocol):
    """One client's socket towards the upstream: what comes back goes to that client."""

    def __init__(self, relay: ImpairingRelay, client: tuple[str, int]) -> None:
        self.relay = relay
        self.client = client
        self.transport: asyncio.DatagramTransport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        listening = self.relay._listening
        if listening is not None:
            self.relay._pass("down", data, lambda: listening.sendto(data, self.client))


class _Listening(asyncio.DatagramProtocol):
    def __init__(self, relay: ImpairingRelay) -> None:
        self.relay = relay

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.relay._from_client(data, addr)


@dataclass
class ImpairingRelay:
    """A UDP proxy on `address` to `upstream`, impairing as `impairment` says."""

    address: str
    upstream: tuple[str, int]
    impairment: Impairment = field(default_factory=Impairment)
    port: int = 0
    up: Counts = field(default_factory=Counts)
    down: Counts = field(default_factory=Counts)

    def __post_init__(self) -> None:
        self._random = random.Random(self.impairment.seed)
        self._blocked_until = 0.0  # time.monotonic()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listening: asyncio.DatagramTransport | None = None
        self._clients: dict[tuple[str, int], _Upstream] = {}
        self._pending: dict[tuple[str, int], list[bytes]] = {}  # while a client's upstream socket opens

    def urls(self, transport: str = "udp") -> list[str]:
        """The TURN URL that reaches the upstream coturn through this relay."""
        return [f"turn:{self.address}:{self.port}?transport={transport}"]

    def block(self, seconds: float) -> None:
        """Drop every datagram, both ways, for `seconds` from now."""
        self._blocked_until = time.monotonic() + seconds

    def unblock(self) -> None:
        self._blocked_until = 0.0

    @property
    def blocked(self) -> bool:
        return time.monotonic() < self._blocked_until

    # -- inside the relay's loop --

    def _from_client(self, data: bytes, client: tuple[str, int]) -> None:
        upstream = self._clients.get(client)
        if upstream is None:
            if client in self._pending:
                self._pending[client].append(data)
            else:
                self._pending[client] = [data]
                assert self._loop is not None
                self._loop.create_task(self._open(client))
            return
        self._pass("up", data, lambda: upstream.transport.sendto(data))

    async def _open(self, client: tuple[str, int]) -> None:
        assert self._loop is not None
        transport, upstream = await self._loop.create_datagram_endpoint(
            lambda: _Upstream(self, client), local_addr=(self.address, 0), remote_addr=self.upstream
        )
        upstream.transport = transport
        self._clients[client] = upstream
        for data in self._pending.pop(client, []):
            self._from_client(data, client)

    def _pass(self, way: Literal["up", "down"], data: bytes, send) -> None:
        counts = self.up if way == "up" else self.down
        if self.blocked:
            counts.blocked += 1
            return
        impairment = self.impairment
        if impairment.direction not in (way, "both"):
            counts.forwarded += 1
            send()
            return
        if self._random.random() < impairment.loss:
            counts.dropped += 1
            return
        counts.forwarded += 1
        delay_ms = impairment.delay_ms + self._random.uniform(-impairment.jitter_ms, impairment.jitter_ms)
        if delay_ms <= 0:
            send()
        else:
            assert self._loop is not None
            self._loop.call_later(delay_ms / 1000, send)

    async def _serve(self, started: threading.Event, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._listening, _ = await self._loop.create_datagram_endpoint(
            lambda: _Listening(self), local_addr=(self.address, self.port)
        )
        self.port = self._listening.get_extra_info("sockname")[1]
        started.set()
        try:
            await stop.wait()
        finally:
            self._listening.close()
            for upstream in self._clients.values():
                upstream.transport.close()


@contextlib.contextmanager
def impairing_relay(address: str, upstream: tuple[str, int], impairment: Impairment | None = None,
                    port: int = 0) -> Iterator[ImpairingRelay]:
    """An ImpairingRelay running in a thread of its own until the block ends."""
    relay = ImpairingRelay(address, upstream, impairment or Impairment(), port)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            loop.run_until_complete(relay._serve(started, stop))
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            failed.append(exc)
            started.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="impairing-relay", daemon=True)
    thread.start()
    started.wait(10)
    if failed or not relay.port:
        raise RuntimeError(f"the impairing relay did not start: {failed}")
    try:
        yield relay
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(5)


# -- The end-to-end tests' side --


@contextlib.contextmanager
def serving_with_turn(redis_url: str, tmp_path: Path, turn_urls: list[str], secret: str) -> Iterator[RunningServer]:
    """A Dropin server (Redis flushed) that hands each member credentials for these TURN URLs,
    made with `secret`."""
    redis.Redis.from_url(redis_url).flushdb()
    with serving(
        redis_url, tmp_path / "node",
        DROPIN_TURN_URLS=",".join(turn_urls), DROPIN_TURN_SECRET=secret, DROPIN_TURN_TTL_S="600",
    ) as running:
        yield running


async def live_host_and_relayed_listener(open_page: Callable[[], Awaitable[Page]]) -> tuple[Page, Page]:
    """Two pages from the `open_page` fixture: on one Host Ada goes live, on the other Listener Bo,
    forced to relay (`RELAY_ONLY`), joins her room."""
    host, listener = await open_page(), await open_page()
    await listener.add_init_script(RELAY_ONLY)
    await join(listener, await go_live(host), "Listener Bo")
    return host, listener


class Frames:
    """What a page's websockets carry, decoded: opened sockets, messages received and sent."""

    def __init__(self, page: Page) -> None:
        self.sockets = 0
        self.closed = 0
        self.received: list[dict] = []
        self.sent: list[dict] = []
        page.on("websocket", self._opened)

    def _opened(self, ws) -> None:
        self.sockets += 1
        ws.on("framereceived", lambda payload: self._decode(payload, self.received))
        ws.on("framesent", lambda payload: self._decode(payload, self.sent))
        ws.on("close", lambda _: setattr(self, "closed", self.closed + 1))

    @staticmethod
    def _decode(payload: str | bytes, into: list[dict]) -> None:
        with contextlib.suppress(ValueError):
            into.append(json.loads(payload))

    def of_type(self, kind: str) -> list[dict]:
        return [message for message in self.received if message.get("type") == kind]

    def my_id(self) -> str | None:
        return next((message["you"]["id"] for message in self.of_type("joined")), None)

    def levels(self) -> dict[str, str]:
        """Each member's latest announced connection quality level."""
        levels: dict[str, str] = {}
        for message in self.received:
            if message.get("type") == "joined":
                levels.update({id: quality["level"] for id, quality in (message.get("quality") or {}).items()})
            elif message.get("type") == "quality_changed":
                levels[message["id"]] = message["quality"]["level"]
        return levels

    def quality_of(self, member: str) -> list[dict]:
        return [message["quality"] for message in self.of_type("quality_changed") if message["id"] == member]


# What a page's peer connection says (tests/e2e/conftest.py keeps them in `window.__pcs`).

RELAY_ONLY = "localStorage.setItem('dropin.iceTransportPolicy', 'relay');"
"""An init script for a page that must reach the server through TURN alone (the page's test switch)."""

AUDIO_STATS = """
async () => {
  const totals = {pcs: window.__pcs.length, state: null, packets: 0, concealed: 0, samples: 0, level: 0, jitter: 0,
                  local: null, remote: null};
  const pc = window.__pcs.filter((pc) => pc.connectionState !== 'closed').at(-1);
  if (!pc) return totals;
  totals.state = pc.connectionState;
  const stats = await pc.getStats();
  stats.forEach((stat) => {
    if (stat.type === 'inbound-rtp' && stat.kind === 'audio') {
      totals.packets += stat.packetsReceived ?? 0;
      totals.concealed += stat.concealedSamples ?? 0;
      totals.samples += stat.totalSamplesReceived ?? 0;
      totals.level = Math.max(totals.level, stat.audioLevel ?? 0);
      totals.jitter = Math.max(totals.jitter, stat.jitter ?? 0);
    }
    if (stat.type === 'transport' && stat.selectedCandidatePairId) {
      const pair = stats.get(stat.selectedCandidatePairId);
      const describe = (candidate) => candidate && {
        type: candidate.candidateType, protocol: candidate.protocol, relayProtocol: candidate.relayProtocol ?? null,
        address: candidate.address, port: candidate.port,
      };
      totals.local = describe(pair && stats.get(pair.localCandidateId));
      totals.remote = describe(pair && stats.get(pair.remoteCandidateId));
    }
  });
  return totals;
}
"""
"""The page's latest open peer connection: its state, its inbound audio (packets, concealed and
received samples, loudest level, worst jitter in seconds) and its selected candidate pair."""


async def audio_stats(page: Page) -> dict:
    return await page.evaluate(AUDIO_STATS)


async def until_hearing(page: Page, packets: int, within_s: float, level: bool = False) -> dict:
    """The page's audio stats once it has received more than `packets` (with sound in them if
    `level`), or when `within_s` is up."""
    deadline = time.monotonic() + within_s
    while True:
        stats = await audio_stats(page)
        if (stats["packets"] > packets and (stats["level"] > 0 or not level)) or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.25)
