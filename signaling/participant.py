"""A Participant: an aiortc peer that joins a Dropin room the way the browser client does.

Used by the integration tests and the benchmarks as a listener or speaker bot.
"""

from __future__ import annotations

import asyncio
import fractions
import math
from array import array
from collections.abc import Callable

import av
from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack

from signaling import messages as m
from signaling.client import SignalingClient


class ToneTrack(AudioStreamTrack):
    """A sine tone, paced in real time like a microphone (20 ms frames, 48 kHz mono)."""

    RATE = 48_000
    SAMPLES = 960

    def __init__(self, frequency: float = 440.0, amplitude: float = 0.3) -> None:
        super().__init__()
        self._frequency = frequency
        self._amplitude = amplitude
        self._started_at: float | None = None  # not `_start`: AudioStreamTrack's own, a float
        self._pts = 0

    async def recv(self) -> av.AudioFrame:
        loop = asyncio.get_running_loop()
        if self._started_at is None:
            self._started_at = loop.time()
        wait = self._started_at + self._pts / self.RATE - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        step = 2 * math.pi * self._frequency / self.RATE
        peak = self._amplitude * 32767
        samples = array("h", (int(peak * math.sin(step * (self._pts + i))) for i in range(self.SAMPLES)))
        frame = av.AudioFrame(format="s16", layout="mono", samples=self.SAMPLES)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate = self.RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, self.RATE)
        self._pts += self.SAMPLES
        return frame


class Participant:
    """Joins a room over signalling, then connects one microphone transceiver and `slots` slots."""

    def __init__(self, ws_url: str, token: str) -> None:
        self.ws_url = ws_url
        self.token = token
        self.client: SignalingClient | None = None
        self.pc: RTCPeerConnection | None = None
        self.welcome: m.Joined | None = None
        self._drains: list[asyncio.Task[None]] = []

    async def join(self, room_id: str) -> m.Joined:
        self.client = await SignalingClient.connect(self.ws_url)
        reply = await self.client.request("join", room=room_id, token=self.token, v=m.PROTOCOL_VERSION)
        assert isinstance(reply, m.Joined), f"a join is answered `joined`, not {reply!r}"
        self.welcome = reply
        return reply

    async def connect_media(
        self,
        microphone: MediaStreamTrack | None = None,
        before_offer: Callable[[RTCPeerConnection], None] | None = None,
        relay_only: bool = False,
    ) -> None:
        """Offer the microphone (sending `microphone` if given) and the room's slots; wait until
        connected. `before_offer` may adjust the peer connection first (the benchmark's bots do).
        The ICE servers are the welcome's, as a browser's are; `relay_only` uses TURN alone."""
        assert self.client is not None and self.welcome is not None, "join first"
        ice_servers = [RTCIceServer(s.urls, s.username, s.credential) for s in self.welcome.ice_servers]
        policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
        self.pc = pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers, iceTransportPolicy=policy))
        pc.addTransceiver(microphone or "audio", direction="sendonly")
        for _ in range(self.welcome.slots):
            pc.addTransceiver("audio", direction="recvonly")
        if before_offer is not None:
            before_offer(pc)
        pc.on("track", self._drain)
        connected = asyncio.Event()

        @pc.on("connectionstatechange")
        def _on_state() -> None:
            if pc.connectionState == "connected":
                connected.set()

        await pc.setLocalDescription(await pc.createOffer())
        answer = await self.client.request("offer", sdp=pc.localDescription.sdp)
        assert isinstance(answer, m.Answer), f"an offer is answered `answer`, not {answer!r}"
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
        await asyncio.wait_for(connected.wait(), 15)

    def replace_microphone(self, track: MediaStreamTrack | None) -> None:
        """What the browser does when it goes on stage or off: no renegotiation."""
        assert self.pc is not None
        self.pc.getTransceivers()[0].sender.replaceTrack(track)

    async def packets_received(self) -> int:
        """RTP packets received on all slots so far."""
        return sum(await self.packets_per_slot())

    async def packets_per_slot(self) -> list[int]:
        """RTP packets received so far on each receive slot, in slot order."""
        if self.pc is None:
            return []
        counts = []
        for transceiver in self.pc.getTransceivers()[1:]:
            report = await transceiver.receiver.getStats()
            counts.append(sum(s.packetsReceived for s in report.values() if s.type == "inbound-rtp"))
        return counts

    async def packets_sent(self) -> int:
        """RTP packets sent from the microphone so far."""
        if self.pc is None:
            return 0
        report = await self.pc.getTransceivers()[0].sender.getStats()
        return sum(s.packetsSent for s in report.values() if s.type == "outbound-rtp")

    async def leave(self) -> None:
        if self.client is not None:
            await self.client.request("leave")
        await self.close()

    async def close(self) -> None:
        for task in self._drains:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()
        if self.client is not None:
            await self.client.close()


    def _drain(self, track: MediaStreamTrack) -> None:
        """Consume received audio so aiortc's track queue doesn't grow."""

        async def drain() -> None:
            try:
                while True:
                    await track.recv()
            except MediaStreamError:
                pass

        self._drains.append(asyncio.create_task(drain()))
