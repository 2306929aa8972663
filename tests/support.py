"""Helpers shared by the tests (importable because tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from aiortc.rtp import RtpPacket
from playwright.async_api import Page, expect

from signaling import messages as m
from signaling.client import SignalingClient
from signaling.participant import Participant, ToneTrack
from signaling.view import RoomView

REPO = Path(__file__).resolve().parent.parent
CLUSTER_SECRET = "one secret for the whole cluster"  # DROPIN_SECRET of the tests' multi-node Dropins


def users_state(keys: list[bytes]) -> list[bytes]:
    """The keys that hold what users did, in order: not the nodes' heartbeats, which change by
    themselves every 2 s."""
    return sorted(key for key in keys if not key.startswith((b"dropin:node:", b"dropin:nodes")))


def self_signed_certificate(directory: Path, address: str) -> tuple[Path, Path]:
    """A self-signed certificate for the IP `address` (cert.pem) and its key (key.pem)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={address}",
         "-addext", f"subjectAltName=IP:{address}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, then SIGKILL if it hasn't exited within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    """A TCP port on loopback that nothing is listening on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_until(
    condition: Callable[[], Awaitable[bool]], timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> None:
    """Poll `condition` until it holds. After `timeout` seconds: TimeoutError, or, when `what`
    says what was awaited, an AssertionError that says it."""
    try:
        async with asyncio.timeout(timeout):
            while not await condition():
                await asyncio.sleep(interval)
    except TimeoutError:
        if not what:
            raise
        raise AssertionError(f"not within {timeout} s: {what}") from None


def hosted_room(server: RunningServer, name: str = "Host") -> tuple[str, Participant]:
    """A new room on `server` and its host, a Participant that has not joined yet. The caller
    closes the host."""
    host_token = server.identity(name)
    return server.create_room(host_token), Participant(server.ws_url, host_token)


async def host_and_listener(
    server: RunningServer, relay_only: bool = False, host_media: bool = True
) -> tuple[str, Participant, Participant]:
    """A new room whose host sends a tone (or, without `host_media`, has no audio connection),
    and one listener (on TURN alone with `relay_only`); both joined, the listener's audio
    connected. The caller closes them."""
    room_id, host = hosted_room(server)
    listener = Participant(server.ws_url, server.identity("Listener"))
    try:
        await host.join(room_id)
        await listener.join(room_id)
        if host_media:
            await host.connect_media(ToneTrack())
        await listener.connect_media(relay_only=relay_only)
    except BaseException:
        await asyncio.gather(host.close(), listener.close(), return_exceptions=True)
        raise
    return room_id, host, listener


class Member:
    """A room member driven over the websocket protocol, keeping a RoomView of what it was told."""

    def __init__(self, client: SignalingClient, welcome: m.Joined) -> None:
        self.client = client
        self.welcome = welcome
        self.view = RoomView.from_welcome(welcome)

    @property
    def id(self) -> str:
        return self.welcome.you.id

    @classmethod
    async def enter(cls, ws_url: str, room_id: str, token: str, last_seq: int | None = None) -> Member:
        client = await SignalingClient.connect(ws_url)
        fields = {"last_seq": last_seq} if last_seq is not None else {}
        return cls(client, await client.request("join", room=room_id, token=token, **fields))

    async def act(self, action: str, **fields: object) -> m.Message:
        """Take a room action; returns the reply (raises RequestFailed on an error)."""
        return await self.client.request(action, **fields)

    async def expect(self, event_type: str, timeout: float = 5.0) -> m.Message:
        """Wait for the next event of a type, applying every event on the way to the view."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self.client.events.get()
                self.view.apply(event)
                if event.type == event_type:
                    return event

    async def until(self, condition: Callable[[RoomView], bool], timeout: float = 5.0) -> None:
        """Apply events until the view satisfies `condition`."""
        async with asyncio.timeout(timeout):
            while not condition(self.view):
                self.view.apply(await self.client.events.get())

    async def settle(self, quiet_s: float = 0.3) -> None:
        """Apply events until none has come for `quiet_s`."""
        while True:
            try:
                event = await asyncio.wait_for(self.client.events.get(), quiet_s)
            except TimeoutError:
                return
            self.view.apply(event)


@dataclass
class RunningServer:
    base_url: str
    ws_url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    redis_url: str

    @property
    def log(self) -> str:
        """What the server has written to its log so far."""
        return (self.data_dir.parent / "server.log").read_text()

    def identity(self, name: str) -> str:
        """A fresh identity token for `name`."""
        response = httpx.post(f"{self.base_url}/api/identity", json={"name": name})
        response.raise_for_status()
        return response.json()["token"]

    def create_room(self, token: str, title: str = "Burning questions") -> str:
        response = httpx.post(
            f"{self.base_url}/api/rooms", json={"title": title}, headers={"Authorization": f"Bearer {token}"}
        )
        response.raise_for_status()
        return response.json()["id"]

    def room(self, room_id: str) -> dict:
        return httpx.get(f"{self.base_url}/api/rooms/{room_id}").json()


@contextlib.contextmanager
def serving(
    redis_url: str, tmp_path: Path, port: int | None = None, log_level: str = "warning", host: str = "127.0.0.1",
    **env: str,
) -> Iterator[RunningServer]:
    """`dropin serve` against `redis_url`, with short grace periods for tests and `env` on top;
    on `host` (loopback unless said) and `port` (a node coming back where it was), or a free one;
    logging at `log_level`. With
    DROPIN_TLS_CERT in `env`, over HTTPS and WSS (the certificate is checked as the server's own)."""
    port = port or free_port()
    tmp_path.mkdir(parents=True, exist_ok=True)
    log_path = tmp_path / "server.log"
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DROPIN_AUDIENCE_BATCH_S": "0.5",
        "DROPIN_RECONNECT_GRACE_S": "1",
        "DROPIN_HOST_GRACE_S": "2",
        "DROPIN_INVITE_TTL_S": "5",
        **env,
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--host", host, "--port", str(port),
             "--data-dir", str(tmp_path / "data"), "--log-level", log_level],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    cert = env.get("DROPIN_TLS_CERT")
    base_url = f"{'https' if cert else 'http'}://{host}:{port}"
    verify = ssl.create_default_context(cafile=cert) if cert else True
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"{base_url}/api/rooms", timeout=1, verify=verify).raise_for_status()
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"server did not start:\n{log_path.read_text()}") from None
            time.sleep(0.1)
    try:
        ws_url = f"{'wss' if cert else 'ws'}://{host}:{port}/ws"
        yield RunningServer(base_url, ws_url, process, tmp_path / "data", redis_url)
    finally:
        stop(process, timeout=20)  # a node drains for up to 10 s


# Audio packets received on a page's open peer connections (tests/e2e/conftest.py remembers
# them in `window.__pcs`; a closed one has no stats).
PACKETS_RECEIVED = """
async () => {
  let total = 0;
  for (const pc of window.__pcs.filter((pc) => pc.connectionState !== 'closed')) {
    (await pc.getStats()).forEach((stat) => {
      if (stat.type === 'inbound-rtp' && stat.kind === 'audio') total += stat.packetsReceived ?? 0;
    });
  }
  return total;
}
"""


async def packets_on(page: Page, more_than: int, within_s: float) -> int:
    """The audio packets the page has received, once they pass `more_than` or `within_s` is up."""
    deadline = time.monotonic() + within_s
    received = 0
    while time.monotonic() < deadline:
        received = await page.evaluate(PACKETS_RECEIVED)
        if received > more_than:
            break
        await asyncio.sleep(0.25)
    return received


async def go_live(host: Page) -> str:
    """Through the buttons: Host Ada opens a room ("Burning questions") from the hallway and goes
    live on its stage; returns the room's URL."""
    await host.goto("/")
    await host.get_by_label("Your name", exact=True).fill("Host Ada")
    await host.get_by_label("Title", exact=True).fill("Burning questions")
    await host.get_by_role("button", name="Create room", exact=True).click()
    await expect(host).to_have_url(re.compile(r"/rooms/[^/]+$"))
    await host.get_by_role("button", name="Join room", exact=True).click()
    await expect(host.get_by_text("Live — you're on stage")).to_be_visible(timeout=10_000)
    return host.url


async def join(page: Page, room_url: str, name: str) -> None:
    """A person opens the room's link (a URL or a path on the server), gives `name` and joins."""
    await page.goto(room_url)
    await page.get_by_label("Your name", exact=True).fill(name)
    await page.get_by_role("button", name="Join room", exact=True).click()


async def host_and_listener_pages(host: Page, listener: Page) -> str:
    """Through the buttons: Ada opens a room and goes live from one page, Bo joins it from the
    other and hears her. Returns the room's id."""
    room_id = (await go_live(host)).rstrip("/").rsplit("/", 1)[-1]
    await join(listener, f"/rooms/{room_id}", "Listener Bo")
    assert await packets_on(listener, 100, within_s=10) > 100, "the listener hears the host"
    return room_id


def media(node: RunningServer) -> dict:
    """The node's media figures (GET /api/media)."""
    return httpx.get(f"{node.base_url}/api/media").json()


def node_entry(node: RunningServer) -> dict:
    """The node's own entry in GET /api/nodes."""
    return next(n for n in httpx.get(f"{node.base_url}/api/nodes").json()["nodes"] if n["you"])


@contextlib.asynccontextmanager
async def busy(redis, node: RunningServer) -> AsyncIterator[str]:
    """Make `node` look loaded to placement (as its heartbeat would say if it were), meanwhile."""
    node_id = node_entry(node)["id"]

    async def keep_busy() -> None:
        while True:
            await redis.hset(f"dropin:node:{node_id}", "cpu", 0.95)
            await asyncio.sleep(0.005)

    task = asyncio.create_task(keep_busy())
    try:
        yield node_id
    finally:
        task.cancel()


def offer_with_red(sdp: str, opus: int = 96, red: int = 63) -> str:
    """`sdp` as a Chromium offer would have it: audio/red (`red`) after Opus in every section."""
    lines = []
    for line in sdp.split("\r\n"):
        lines.append(f"{line} {red}" if line.startswith("m=audio") else line)
        if line.startswith(f"a=rtpmap:{opus} "):
            lines += [f"a=rtpmap:{red} red/48000/2", f"a=fmtp:{red} {opus}/{opus}"]
    return "\r\n".join(lines)


class RecordingSocket:
    """Stands in for a listener's SRTP socket: keeps what would have been sent."""

    def __init__(self, connected: bool = True) -> None:
        self.connected = connected
        self.packets: list[RtpPacket] = []

    def write(self, packet: bytes) -> bool:
        if self.connected:
            self.packets.append(RtpPacket.parse(packet))
        return self.connected

    def ready(self) -> bool:
        return self.connected

    def socket_target(self) -> None:
        return None  # the Python path; tests/unit/test_fastpath.py covers the C loop
