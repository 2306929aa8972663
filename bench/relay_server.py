"""The "stock aiortc" baseline for the fan-out benchmark: an SFU built the way aiortc's examples do it.

Each speaker's incoming track is decoded once by aiortc's receiver and fanned out with
`aiortc.contrib.media.MediaRelay`; every listener gets `relay.subscribe(track)` proxies on its own
peer connection, so each listener's RTCRtpSender re-encodes Opus separately. That per-listener
decode/re-encode cost is what the benchmark measures against; it is deliberately not optimised.

    .venv/bin/python -m bench.relay_server --host 127.0.0.1 --port 8090   # prints "ready"

HTTP API (the body of every request and response is `{"sdp": ..., "type": ...}`):
    POST /publish    a speaker's offer with one sendonly audio m-line; answered recvonly.
    POST /subscribe  a listener's offer with K recvonly audio m-lines; m-line i is fed the i-th
                     speaker to have published (m-lines beyond the speakers are answered inactive).
    GET  /health

The harness uses `RelayServer` (runs this module as a subprocess) and the `publish` / `subscribe`
client helpers.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Literal

import httpx
import uvicorn
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaBlackhole, MediaRelay
from aiortc.mediastreams import MediaStreamTrack
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

REPO = Path(__file__).resolve().parent.parent


class Offer(BaseModel):
    """A peer's offer, as POSTed."""

    sdp: str
    type: Literal["offer"]


class Answer(BaseModel):
    """The relay's answer, with all its candidates."""

    sdp: str
    type: Literal["answer"] = "answer"


class Relay:
    """The server's state: the speakers' tracks in arrival order, and every peer connection."""

    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.speakers: list[MediaStreamTrack] = []
        self.peers: set[RTCPeerConnection] = set()
        # Consumes each speaker's track from publish on, as the examples' MediaBlackhole does, so
        # frames decoded before the first listener subscribes don't pile up and then burst out.
        self._sink = MediaBlackhole()

    def _peer(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.peers.add(pc)

        @pc.on("connectionstatechange")
        async def _on_state() -> None:
            if pc.connectionState == "failed":
                await pc.close()
            elif pc.connectionState == "closed":
                self.peers.discard(pc)
                for transceiver in pc.getTransceivers():
                    if transceiver.receiver.track in self.speakers:
                        self.speakers.remove(transceiver.receiver.track)

        return pc

    async def publish(self, offer: Offer) -> Answer:
        """Answer a speaker and keep its incoming audio track."""
        pc = self._peer()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type=offer.type))
        tracks = [t.receiver.track for t in pc.getTransceivers() if t.kind == "audio" and t.receiver.track]
        if not tracks:
            await pc.close()
            raise HTTPException(400, "the offer sends no audio")
        self.speakers.append(tracks[0])
        self._sink.addTrack(self.relay.subscribe(tracks[0], buffered=False))
        await self._sink.start()
        await pc.setLocalDescription(await pc.createAnswer())
        return Answer(sdp=pc.localDescription.sdp)

    async def subscribe(self, offer: Offer) -> Answer:
        """Answer a listener, feeding its i-th audio m-line a relay proxy of the i-th speaker."""
        pc = self._peer()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type=offer.type))
        receiving = [t for t in pc.getTransceivers() if t.kind == "audio"]
        for transceiver, speaker in zip(receiving, self.speakers):
            transceiver.sender.replaceTrack(self.relay.subscribe(speaker))
            transceiver.direction = "sendonly"
        await pc.setLocalDescription(await pc.createAnswer())
        return Answer(sdp=pc.localDescription.sdp)

    async def close(self) -> None:
        """Close every peer connection."""
        await self._sink.stop()
        await asyncio.gather(*(pc.close() for pc in list(self.peers)))
        self.peers.clear()
        self.speakers.clear()


def create_app() -> FastAPI:
    """The relay's HTTP app; its peers are closed when the app shuts down."""
    relay = Relay()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await relay.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, int]:
        return {"speakers": len(relay.speakers), "peers": len(relay.peers)}

    @app.post("/publish")
    async def publish_(offer: Offer) -> Answer:
        return await relay.publish(offer)

    @app.post("/subscribe")
    async def subscribe_(offer: Offer) -> Answer:
        return await relay.subscribe(offer)

    return app


async def serve(host: str, port: int) -> None:
    """Serve until SIGTERM / SIGINT, printing "ready" once listening."""
    server = uvicorn.Server(uvicorn.Config(create_app(), host=host, port=port, log_level="warning", access_log=False))
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.02)
    if server.started:
        print("ready", flush=True)
    await serving


async def _negotiate(url: str, pc: RTCPeerConnection) -> None:
    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(url, json={"sdp": pc.localDescription.sdp, "type": "offer"})
    response.raise_for_status()
    answer = response.json()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type=answer["type"]))


async def publish(base_url: str, pc: RTCPeerConnection) -> None:
    """Publish `pc`'s sendonly audio transceiver (added by the caller) to the relay."""
    await _negotiate(f"{base_url}/publish", pc)


async def subscribe(base_url: str, pc: RTCPeerConnection) -> None:
    """Subscribe `pc`'s recvonly audio transceivers (added by the caller) to the first speakers."""
    await _negotiate(f"{base_url}/subscribe", pc)


class RelayServer:
    """`async with RelayServer(port) as server:` runs the relay as a subprocess (`.pid`, `.url`)."""

    def __init__(self, port: int, host: str = "127.0.0.1", ready_timeout: float = 20.0) -> None:
        self.url = f"http://{host}:{port}"
        self._args = [sys.executable, "-m", "bench.relay_server", "--host", host, "--port", str(port)]
        self._ready_timeout = ready_timeout
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "not started"
        return self._process.pid

    async def __aenter__(self) -> RelayServer:
        self._process = await asyncio.create_subprocess_exec(*self._args, cwd=REPO, stdout=subprocess.PIPE)
        assert self._process.stdout is not None
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), self._ready_timeout)
            if line.strip() != b"ready":
                raise RuntimeError(f"the relay server did not start (it printed {line!r})")
        except BaseException:
            await self._stop()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stop()

    async def _stop(self) -> None:
        assert self._process is not None
        if self._process.returncode is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), 10)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
