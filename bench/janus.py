"""Janus (Debian package `janus`) as a comparison point for the fan-out benchmark.

`JanusServer` runs Janus in the foreground on a private copy of /etc/janus; `VideoRoom` drives its
VideoRoom plugin over the HTTP API for aiortc peers created by the caller (with
`RTCConfiguration(iceServers=[])`: Janus and aiortc meet on the machine's LAN address).

Exercised by `bench/fanout.py` (for a quick check: `--listeners 3 --relay "" --seconds 2 --no-write`).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

import httpx
from aiortc import RTCPeerConnection, RTCSessionDescription

CONFIG = Path("/etc/janus")
LIBRARY = Path("/usr/lib/x86_64-linux-gnu/janus")
PLUGIN = "janus.plugin.videoroom"
REPLY_TIMEOUT_S = 10.0
WEBRTCUP_TIMEOUT_S = 15.0
START_TIMEOUT_S = 15.0


def janus_available() -> bool:
    """Whether the janus binary is on PATH."""
    return shutil.which("janus") is not None


def _jcfg_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _configure(text: str, section: str, settings: dict[str, str | int | bool | None]) -> str:
    """Set keys in the top-level `section: { ... }` of a .jcfg file; None comments a key out.

    An existing line for the key (commented or not) is replaced in place, further ones are
    commented out (an uncommented line is preferred over a commented example); a key with no
    line yet is added at the top of the section.
    """
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"{section}\s*:\s*\{{", line))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("}"))
    for key, value in settings.items():
        pattern = re.compile(rf"\s*#?\s*{key}\s*=")
        matches = [i for i in range(start + 1, end) if pattern.match(lines[i])]
        matches.sort(key=lambda i: lines[i].lstrip().startswith("#"))
        for i in matches:
            if value is not None and i == matches[0]:
                lines[i] = f"\t{key} = {_jcfg_value(value)}"
            elif not lines[i].lstrip().startswith("#"):
                lines[i] = "#" + lines[i]
        if value is not None and not matches:
            lines.insert(start + 1, f"\t{key} = {_jcfg_value(value)}")
            end += 1
    return "\n".join(lines) + "\n"


def _others(folder: Path, keep: str = "") -> str:
    """The comma-separated .so names in `folder`, all but `keep`: a `disable` list."""
    return ",".join(sorted(p.name for p in folder.glob("*.so") if p.name != keep))


class JanusError(RuntimeError):
    """Janus answered a request with an error."""


class JanusServer:
    """Janus in the foreground on a private copy of /etc/janus: VideoRoom plugin and HTTP transport only."""

    def __init__(self, port: int = 8088, event_loops: int = 2) -> None:
        self.port = port
        self.event_loops = event_loops
        self.url = f"http://127.0.0.1:{port}/janus"
        self.pid = 0
        self._process: asyncio.subprocess.Process | None = None
        self._dir: Path | None = None

    async def __aenter__(self) -> JanusServer:
        self._dir = Path(tempfile.mkdtemp(prefix="janus-"))
        confdir = self._dir / "conf"
        shutil.copytree(CONFIG, confdir)
        self._write_config(confdir)
        log = self._dir / "janus.log"
        with log.open("wb") as output:
            self._process = await asyncio.create_subprocess_exec(
                "janus", "-F", str(confdir), "-C", str(confdir / "janus.jcfg"),
                stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=asyncio.subprocess.STDOUT,
            )
        self.pid = self._process.pid
        try:
            await self._wait_ready(log)
        except BaseException:
            await self.__aexit__()
            raise
        return self

    def _write_config(self, confdir: Path) -> None:
        core = confdir / "janus.jcfg"
        text = _configure(core.read_text(), "general", {
            "configs_folder": str(confdir),
            "debug_level": 3,
            "debug_colors": False,
            "event_loops": self.event_loops,
        })
        text = _configure(text, "nat", {"stun_server": None, "stun_port": None, "ice_ignore_list": "vmnet"})
        text = _configure(text, "plugins", {"disable": _others(LIBRARY / "plugins", keep="libjanus_videoroom.so")})
        text = _configure(text, "transports", {"disable": _others(LIBRARY / "transports", keep="libjanus_http.so")})
        text = _configure(text, "loggers", {"disable": _others(LIBRARY / "loggers") or None})
        text = _configure(text, "events", {"broadcast": False})
        core.write_text(text)
        http = confdir / "janus.transport.http.jcfg"
        text = _configure(http.read_text(), "general", {
            "json": "plain", "base_path": "/janus", "http": True, "port": self.port,
            "interface": None, "ip": "127.0.0.1", "https": False,
        })
        http.write_text(_configure(text, "admin", {"admin_http": False, "admin_https": False}))

    async def _wait_ready(self, log: Path) -> None:
        assert self._process is not None
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT_S
        async with httpx.AsyncClient(timeout=1) as client:
            while asyncio.get_running_loop().time() < deadline and self._process.returncode is None:
                try:
                    (await client.get(f"{self.url}/info")).raise_for_status()
                    return
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        state = f"exited with {self._process.returncode}" if self._process.returncode is not None else "did not answer"
        raise RuntimeError(f"janus {state} within {START_TIMEOUT_S:.0f} s; log tail:\n{tail}")

    async def __aexit__(self, *exc: object) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._process.wait(), 5)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        self._process = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


class VideoRoom:
    """One Janus session driving the VideoRoom plugin: one handle per publisher or subscriber.

    Asynchronous replies (those that carry a jsep) and `webrtcup` arrive on the session's long-poll
    GET, which also keeps the session alive; replies are matched to requests by transaction. Both
    sides put all their candidates (and end-of-candidates) in the SDP, so there is no trickling.
    """

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._session_url = ""
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._webrtcup: dict[int, asyncio.Future[None]] = {}
        self._poller: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str) -> VideoRoom:
        """Create a session on the Janus at `url` (".../janus") and start its long poll."""
        room = cls(httpx.AsyncClient(timeout=httpx.Timeout(REPLY_TIMEOUT_S, read=60)))
        try:
            session = await room._request(url, {"janus": "create"})
        except BaseException:
            await room._http.aclose()
            raise
        room._session_url = f"{url}/{session['data']['id']}"
        room._poller = asyncio.create_task(room._poll())
        return room

    async def create_room(self, publishers: int) -> int:
        """An audio-only room (opus, audio-level extension) for up to `publishers` publishers; its id."""
        handle = await self._attach()
        data, _ = await self._message(handle, {
            "request": "create", "publishers": publishers, "audiocodec": "opus", "audiolevel_ext": True,
        })
        await self._request(f"{self._session_url}/{handle}", {"janus": "detach"})
        return int(data["room"])

    async def publish(self, room: int, pc: RTCPeerConnection, display: str) -> int:
        """Publish `pc`'s offer (the caller has added a sendonly audio transceiver); its feed id.

        Returns once Janus reports the PeerConnection up (`webrtcup`), so the feed can be subscribed to.
        """
        handle = await self._attach()
        join_request = {"request": "join", "ptype": "publisher", "room": room, "display": display}
        joined, _ = await self._message(handle, join_request)
        await pc.setLocalDescription(await pc.createOffer())
        up = self._expect_webrtcup(handle)
        _, answer = await self._message(handle, {"request": "publish"}, self._jsep(pc))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type=answer["type"]))
        await self._until_up(handle, up)
        return int(joined["id"])

    async def subscribe(self, room: int, pc: RTCPeerConnection, feeds: list[int]) -> None:
        """Subscribe `pc` to `feeds` through one handle: Janus offers one audio m-line per feed.

        Returns once Janus reports the PeerConnection up (`webrtcup`).
        """
        handle = await self._attach()
        streams = [{"feed": feed} for feed in feeds]
        join_request = {"request": "join", "ptype": "subscriber", "room": room, "streams": streams}
        _, offer = await self._message(handle, join_request)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type=offer["type"]))
        await pc.setLocalDescription(await pc.createAnswer())
        up = self._expect_webrtcup(handle)
        await self._message(handle, {"request": "start"}, self._jsep(pc))
        await self._until_up(handle, up)

    async def close(self) -> None:
        """Stop the long poll and destroy the session (and so its handles)."""
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        try:
            await self._request(self._session_url, {"janus": "destroy"})
        finally:
            await self._http.aclose()

    @staticmethod
    def _jsep(pc: RTCPeerConnection) -> dict[str, str]:
        return {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp}

    async def _attach(self) -> int:
        reply = await self._request(self._session_url, {"janus": "attach", "plugin": PLUGIN})
        return int(reply["data"]["id"])

    async def _message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, str] | None = None
    ) -> tuple[dict[str, Any], dict[str, str] | None]:
        """Send a plugin request; the plugin's data and the jsep, if any, of its (sync or async) reply."""
        message: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            message["jsep"] = jsep
        reply = await self._request(f"{self._session_url}/{handle}", message)
        data = reply["plugindata"]["data"]
        if "error" in data:
            raise JanusError(f"{body['request']}: {data['error']} ({data.get('error_code')})")
        return data, reply.get("jsep")

    async def _request(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST `body`; the reply, or for an `ack` the event with the same transaction from the long poll."""
        transaction = secrets.token_hex(8)
        reply_future = asyncio.get_running_loop().create_future()
        self._replies[transaction] = reply_future
        try:
            response = await self._http.post(url, json={**body, "transaction": transaction})
            response.raise_for_status()
            reply = response.json()
            if reply["janus"] == "ack":
                reply = await asyncio.wait_for(reply_future, REPLY_TIMEOUT_S)
        finally:
            del self._replies[transaction]
        if reply["janus"] == "error":
            raise JanusError(f"{body['janus']}: {reply['error']['reason']} ({reply['error']['code']})")
        return reply

    def _expect_webrtcup(self, handle: int) -> asyncio.Future[None]:
        up = asyncio.get_running_loop().create_future()
        self._webrtcup[handle] = up
        return up

    async def _until_up(self, handle: int, up: asyncio.Future[None]) -> None:
        try:
            await asyncio.wait_for(up, WEBRTCUP_TIMEOUT_S)
        finally:
            del self._webrtcup[handle]

    async def _poll(self) -> None:
        try:
            while True:
                response = await self._http.get(self._session_url, params={"maxev": 10})
                response.raise_for_status()
                events = response.json()
                if isinstance(events, dict) and events["janus"] == "error":
                    raise JanusError(f"long poll: {events['error']['reason']}")
                for event in events if isinstance(events, list) else [events]:
                    self._dispatch(event)
        except Exception as error:
            for future in [*self._replies.values(), *self._webrtcup.values()]:
                if not future.done():
                    future.set_exception(JanusError(f"long poll failed: {error!r}"))
            raise

    def _dispatch(self, event: dict[str, Any]) -> None:
        reply = self._replies.get(event.get("transaction", ""))
        if reply is not None and not reply.done():
            reply.set_result(event)
        elif event["janus"] in ("webrtcup", "hangup"):
            up = self._webrtcup.get(event["sender"])
            if up is not None and not up.done():
                if event["janus"] == "webrtcup":
                    up.set_result(None)
                else:
                    up.set_exception(JanusError(f"hangup: {event.get('reason')}"))
