"""Media bots for the fan-out benchmark: aiortc sets up ICE and DTLS, then packets go raw.

A `RawSpeaker` sends pre-encoded Opus (signaling.voice) with the audio-level and mid header
extensions, paced every 20 ms, straight through its connection's SRTP session and socket. A
`RawListener` takes datagrams off its connection's socket before aiortc sees them, every few
milliseconds rather than woken by each one: RTP is unprotected (not decoded) and counted, with the
payload's CRC and the kernel's arrival time for latency; STUN, DTLS and RTCP go on to aiortc as
usual. Like a browser receiving audio, each listener sends a receiver report about every 5 s;
aiortc's own RTCP loops are silenced in every bot. So the bots cost little CPU beside the server,
and every server under test (Dropin, Janus, the MediaRelay baseline) is measured the same way.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
import struct
import time
import zlib
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc import RTCPeerConnection, RTCRtpTransceiver
from aiortc.rtp import RtcpReceiverInfo, RtcpRrPacket

from server.media.aiortc_adapter import park_streams
from server.media.link import MediaLink, is_rtp
from signaling.voice import VoicePacket

AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
RTP_FIXED = struct.Struct("!BBHII")
PACKET_S = 0.020
REPORT_S = 5.0  # browsers' RTCP interval for audio
READ_EVERY_S = 0.005  # how often listeners read their sockets
SO_TIMESTAMPNS = 35  # Linux's socket option (and control message) for receive times in ns
TIMESTAMP_SPACE = socket.CMSG_SPACE(16)


def quiet(pc: RTCPeerConnection) -> None:
    """Park aiortc's per-stream loops on a bot's peer connection (before it connects)."""
    for transceiver in pc.getTransceivers():
        park_streams(transceiver)


def extmap_id(sdp: str, uri: str) -> int | None:
    """The id the answer gave a header extension, if it kept it."""
    found = re.search(rf"^a=extmap:(\d+)(?:/\w+)? {re.escape(uri)}\s*$", sdp, re.MULTILINE)
    return int(found.group(1)) if found else None


def opus_payload_type(sdp: str) -> int:
    found = re.search(r"^a=rtpmap:(\d+) opus/48000", sdp, re.MULTILINE | re.IGNORECASE)
    if found is None:
        raise ValueError("no Opus in the negotiated SDP")
    return int(found.group(1))


def payload_of(packet: bytes) -> bytes:
    """The payload of a plain RTP packet (after CSRCs and header extensions, before padding)."""
    start = 12 + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10:
        start += 4 + 4 * int.from_bytes(packet[start + 2 : start + 4], "big")
    end = len(packet) - (packet[-1] if packet[0] & 0x20 else 0)
    return packet[start:end]


def received_at(ancillary: list[tuple[int, int, bytes]]) -> int:
    """The kernel's receive time (wall clock, ns) from a datagram's control messages."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanoseconds = struct.unpack("qq", data[:16])
            return seconds * 1_000_000_000 + nanoseconds
    return time.time_ns()


async def drain(listeners: list[RawListener], every: float = READ_EVERY_S) -> None:
    """Let every listener (including ones attached later) read its sockets every `every` seconds."""
    while True:
        await asyncio.sleep(every)
        for listener in listeners:
            listener.drain()


async def connected(pc: RTCPeerConnection, timeout: float = 30.0) -> None:
    """Wait until the peer connection is connected."""
    async with asyncio.timeout(timeout):
        while pc.connectionState != "connected":
            if pc.connectionState in ("failed", "closed"):
                raise ConnectionError(f"peer connection {pc.connectionState}")
            await asyncio.sleep(0.02)


@dataclass
class RawListener:
    """Counts (and, while recording, timestamps) the RTP packets reaching one peer connection.

    Nothing waits on its sockets: `drain` (called every few milliseconds for all of a process's
    listeners) reads what has arrived, and each packet's arrival time is the kernel's receive
    timestamp. A server's send to a listener waiting in epoll would also pay for waking that
    listener's process, which over a real network is the listener's machine's work; so the server
    under test pays for its send only, and the bots' scheduling does not show in the latency."""

    pc: RTCPeerConnection
    packets: int = 0
    undecryptable: int = 0
    recording: bool = False
    arrivals: list[tuple[int, int]] = field(default_factory=list)  # (payload CRC-32, wall-clock ns)
    # Set to a dict to record, while recording, each stream's (SSRC's) kernel arrival times (ns) instead
    # of `arrivals`: for gaps between consecutive packets (bench/churn.py).
    stream_times: dict[int, array[int]] | None = None
    _socks: list[tuple[socket.socket, asyncio.DatagramProtocol]] = field(default_factory=list, repr=False)
    _streams: dict[int, list[int]] = field(default_factory=dict, repr=False)  # SSRC: [packets, highest seq]
    _unprotect: Callable[[bytes], bytes] | None = field(default=None, repr=False)
    _reports: asyncio.Task[None] | None = field(default=None, repr=False)

    def attach(self) -> None:
        """Take over the connection's sockets (all of them: with aggressive nomination the server
        may have settled on another pair than ours); call once it is connected."""
        dtls = self.pc.getTransceivers()[0].receiver.transport
        self._unprotect = dtls._rx_srtp.unprotect
        for protocol in dtls.transport._connection._protocols:
            transport = protocol.transport
            theirs = transport.get_extra_info("socket") if transport is not None else None
            if theirs is None:
                continue
            sock = socket.socket(theirs.family, theirs.type, fileno=os.dup(theirs.fileno()))
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            transport.pause_reading()
            self._socks.append((sock, protocol))
        self._reports = asyncio.create_task(self._report(dtls))

    def drain(self) -> None:
        """Read everything waiting on the sockets: RTP is counted, the rest goes to aiortc."""
        for sock, protocol in self._socks:
            while True:
                try:
                    data, ancillary, _, addr = sock.recvmsg(2048, TIMESTAMP_SPACE)
                except OSError:  # nothing more waiting (or the socket is gone)
                    break
                if not is_rtp(data):
                    protocol.datagram_received(data, addr)  # STUN, DTLS, RTCP
                    continue
                try:
                    plain = self._unprotect(data)
                except Exception:
                    self.undecryptable += 1
                    continue
                self.packets += 1
                stream = self._streams.get(ssrc := int.from_bytes(plain[8:12], "big"))
                if stream is None:
                    stream = self._streams[ssrc] = [0, 0]
                stream[0] += 1
                stream[1] = (plain[2] << 8) | plain[3]
                if self.recording:
                    if self.stream_times is None:
                        self.arrivals.append((zlib.crc32(payload_of(plain)), received_at(ancillary)))
                    elif (times := self.stream_times.get(ssrc)) is None:
                        self.stream_times[ssrc] = array("q", (received_at(ancillary),))
                    else:
                        times.append(received_at(ancillary))

    async def _report(self, dtls: object) -> None:
        writer = MediaLink.of(dtls)
        own_ssrc = self.pc.getTransceivers()[0].sender._ssrc
        while True:
            await asyncio.sleep(REPORT_S * (0.5 + random.random()))
            reports = [
                RtcpReceiverInfo(
                    ssrc=ssrc, fraction_lost=0, packets_lost=0, highest_sequence=seq, jitter=0, lsr=0, dlsr=0
                )
                for ssrc, (_, seq) in self._streams.items()
            ]
            if reports:
                writer.write_rtcp(bytes(RtcpRrPacket(ssrc=own_ssrc, reports=reports)))

    def detach(self) -> None:
        """Give the sockets back before the connection closes."""
        if self._reports is not None:
            self._reports.cancel()
        for sock, _ in self._socks:
            sock.close()
        self._socks.clear()

    def start_recording(self) -> None:
        self.packets = 0
        self.arrivals.clear()
        if self.stream_times is not None:
            self.stream_times.clear()
        self.recording = True

    def stop_recording(self) -> None:
        self.recording = False


class RawSpeaker:
    """Sends a voice's packets on the connection's (first) sending transceiver, every 20 ms."""

    def __init__(self, pc: RTCPeerConnection, voice: list[VoicePacket]) -> None:
        self.pc = pc
        self.voice = voice
        self.sent: list[tuple[int, int]] = []  # (payload CRC-32, wall-clock ns)
        self._crcs = [zlib.crc32(packet.payload) for packet in voice]

    def _transceiver(self) -> RTCRtpTransceiver:
        return next(t for t in self.pc.getTransceivers() if t.direction in ("sendonly", "sendrecv"))

    async def send(self, seconds: float) -> None:
        """Send for `seconds`, from the start of the voice, on a steady 20 ms clock."""
        transceiver = self._transceiver()
        sdp = self.pc.remoteDescription.sdp
        payload_type = opus_payload_type(sdp)
        level_id, mid_id = extmap_id(sdp, AUDIO_LEVEL_URI), extmap_id(sdp, MID_URI)
        mid = (transceiver.mid or "0").encode()
        writer = MediaLink.of(transceiver.sender.transport)
        ssrc = transceiver.sender._ssrc
        loop = asyncio.get_running_loop()
        start = loop.time()
        count = round(seconds / PACKET_S)
        for i in range(count):
            delay = start + i * PACKET_S - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            index = i % len(self.voice)
            packet = self.voice[index]
            extensions = b""
            if level_id is not None:
                extensions += bytes(((level_id << 4), packet.level & 0x7F))
            if mid_id is not None:
                extensions += bytes(((mid_id << 4) | (len(mid) - 1),)) + mid
            if extensions:
                extensions += b"\0" * (-len(extensions) % 4)
                extensions = b"\xbe\xde" + (len(extensions) // 4).to_bytes(2, "big") + extensions
            first = 0x90 if extensions else 0x80
            header = RTP_FIXED.pack(first, payload_type, i & 0xFFFF, (960 * i) & 0xFFFFFFFF, ssrc)
            self.sent.append((self._crcs[index], time.time_ns()))  # before: it may arrive at once
            writer.write(header + extensions + packet.payload)
