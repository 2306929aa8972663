"""The per-connection Session: validates each websocket message, dispatches it to the room
gateway it was handed, and sends replies and events back in order.

It knows the wire only. Whatever stands behind `RoomGateway` (Redis, aiortc) is the server's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Protocol, assert_never

from pydantic import ValidationError

from signaling import log_context
from signaling import messages as m
from signaling.frames import decode_frame
from signaling.ratelimit import TokenBucket
from vocabulary.errors import DropinError, ErrorCode

log = logging.getLogger(__name__)

OUTBOX_LIMIT = 1024
CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
RATE_LIMIT_REPORT_S = 1.0  # a flood hears `rate_limited` at most this often


class Transport(Protocol):
    """The websocket as the session sees it. `receive` returns None when the peer has gone."""

    async def receive(self) -> str | bytes | None: ...
    async def send(self, text: str) -> None: ...
    async def close(self, code: int) -> None: ...


class RoomGateway(Protocol):
    """What a session asks of the server. Each call may raise DropinError."""

    async def join(self, session: Session, room_id: str, token: str, last_seq: int | None) -> m.Welcome: ...
    async def negotiate(self, session: Session, sdp: str) -> str: ...
    async def add_candidate(
        self, session: Session, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None: ...
    async def act(self, session: Session, request: m.Message) -> int: ...
    async def echo(self, session: Session, seconds: int) -> int: ...
    async def chat_history(self, session: Session, before: str) -> tuple[list[m.ChatMessage], bool]: ...
    async def react(self, session: Session, kind: str) -> None: ...
    async def leave(self, session: Session) -> None: ...
    async def disconnected(self, session: Session) -> None: ...


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int = 64 * 1024
    max_sdp_bytes: int = 32 * 1024
    rate_per_s: float = 20.0
    rate_burst: int = 60
    action_rate_per_s: float = 2.0
    action_burst: int = 10
    reaction_rate_per_s: float = 4.0
    reaction_burst: int = 8


Action = (
    m.SelfAction | m.TargetAction | m.Remove | m.Ask | m.QuestionAction | m.Chat | m.MessageAction | m.SetChat
    | m.SetRecording
)
"""The requests that are room actions (m.ACTION_TYPES), all handed to `RoomGateway.act`."""


@dataclass(frozen=True)
class _Close:
    """Queued after the last message to send: close the websocket with `code`."""

    code: int


class Session:
    """One participant's websocket, from connect to disconnect (which leaves the room quietly)."""

    def __init__(self, transport: Transport, gateway: RoomGateway, limits: Limits = Limits()) -> None:
        self.transport = transport
        self.gateway = gateway
        self.limits = limits
        self.room_id: str | None = None  # from the `joined` reply: the room and who we are in it
        self.member_id: str | None = None
        self.seq = 0
        self._held: list[tuple[int, str]] | None = None  # (seq, encoded event)
        self._bucket = TokenBucket(limits.rate_per_s, limits.rate_burst)
        self._actions = TokenBucket(limits.action_rate_per_s, limits.action_burst)
        self._reactions = TokenBucket(limits.reaction_rate_per_s, limits.reaction_burst)
        self._limited_reported_at = -RATE_LIMIT_REPORT_S
        self._outbox: asyncio.Queue[str | _Close] = asyncio.Queue()
        self._closing = False
        self._handling = False
        self._close_after_reply: int | None = None

    @property
    def joined(self) -> bool:
        return self.member_id is not None

    # Outbound: replies and events go through one queue, so a slow client never blocks a broadcast.

    def send(self, message: m.Message) -> None:
        """Queue a message for this client; a client that stops reading is disconnected."""
        self.send_encoded(m.encode(message))

    def send_encoded(self, text: str) -> None:
        """Queue an already encoded message (one encoding for a whole room's broadcast)."""
        if self._closing:
            return
        if self._outbox.qsize() >= OUTBOX_LIMIT:
            log.warning("closing session of %s: %d messages unread", self.member_id, OUTBOX_LIMIT)
            self.close(CLOSE_POLICY)
            return
        self._outbox.put_nowait(text)

    def close(self, code: int = CLOSE_NORMAL) -> None:
        """Close the websocket once everything queued before, and the reply to a request being
        handled, has been sent."""
        if self._handling:
            self._close_after_reply = code
        elif not self._closing:
            self._closing = True
            self._outbox.put_nowait(_Close(code))

    def deliver(self, seq: int, text: str) -> None:
        """Send room event `seq`, already encoded as `text` (once for the whole room), unless this
        client already has it (it is in the snapshot it joined with).

        While a join is in flight, events are held and sent after the `joined` reply.
        """
        if self._held is not None:
            self._held.append((seq, text))
        elif seq > self.seq:
            self.seq = seq
            self.send_encoded(text)

    def error(self, re: str | None, code: ErrorCode, message: str) -> None:
        self.send(m.Error(re=re, code=code.value, message=message))

    def _refuse(self, re: str | None, code: ErrorCode, message: str) -> None:
        """Answer a request of this client's with an error, and log the refusal (its code only:
        the message may repeat what the client sent)."""
        log.info("refused: %s", code.value)
        self.error(re, code, message)

    async def run(self) -> None:
        """Serve the connection until the client or the server closes it."""
        writer = asyncio.create_task(self._write())
        reader = asyncio.create_task(self._read())
        try:
            await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, writer):
                task.cancel()
            await asyncio.gather(reader, writer, return_exceptions=True)
            if self.joined:
                await self.gateway.disconnected(self)

    async def _read(self) -> None:
        while True:
            raw = await self.transport.receive()
            if raw is None:
                return
            self._handling = True
            try:
                await self.handle(raw)
            except Exception:  # a fault of ours must not cost the member their connection
                log.exception("handling a message from %s", self.member_id)
                self.error(None, ErrorCode.INTERNAL, "something went wrong on the server")
            finally:
                self._handling = False
            if self._close_after_reply is not None:
                self.close(self._close_after_reply)

    async def _write(self) -> None:
        while True:
            item = await self._outbox.get()
            if isinstance(item, _Close):
                await self.transport.close(item.code)
                return
            await self.transport.send(item)

    # Inbound

    async def handle(self, raw: str | bytes) -> None:
        """Validate and act on one message; anything wrong is answered with an error. Log lines
        written meanwhile carry the room, member and request (see signaling.log_context)."""
        with log_context.bound(room_id=self.room_id, member_id=self.member_id, request_id=None):
            await self._handle(raw)

    async def _handle(self, raw: str | bytes) -> None:
        if len(raw) > self.limits.max_message_bytes:
            self._refuse(
                None, ErrorCode.MESSAGE_TOO_LARGE, f"messages are limited to {self.limits.max_message_bytes} bytes"
            )
            return
        if not self._bucket.take():
            now = time.monotonic()
            if now - self._limited_reported_at >= RATE_LIMIT_REPORT_S:
                self._limited_reported_at = now
                self._refuse(None, ErrorCode.RATE_LIMITED, "too many messages; slow down")
            return
        try:
            data = decode_frame(raw)
        except DropinError as exc:
            self._refuse(None, exc.code, exc.message)
            return
        if not isinstance(data, dict):
            self._refuse(None, ErrorCode.INVALID_MESSAGE, "a message is a JSON object")
            return
        request_id = data.get("id") if isinstance(data.get("id"), str) and 1 <= len(data["id"]) <= 64 else None
        kind = data.get("type")
        known = kind if isinstance(kind, str) and kind in m.REQUEST_TYPES else "?"  # not what a client made up
        log_context.request.set(f"{known}:{request_id or '-'}")
        if not isinstance(kind, str) or kind not in m.REQUEST_TYPES:
            self._refuse(request_id, ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind!r}")
            return
        sdp = data.get("sdp")
        if kind == "offer" and isinstance(sdp, str) and len(sdp) > self.limits.max_sdp_bytes:
            self._refuse(request_id, ErrorCode.SDP_TOO_LARGE, f"SDP is limited to {self.limits.max_sdp_bytes} bytes")
            return
        try:
            request = m.request_adapter.validate_python(data)
        except ValidationError as exc:
            self._refuse(request_id, ErrorCode.INVALID_MESSAGE, _describe(exc))
            return
        try:
            reply = await self._dispatch(request)
        except DropinError as exc:
            self._refuse(request.id, exc.code, exc.message)
            return
        except Exception:
            log.exception("handling %s from %s", kind, self.member_id)
            self._refuse(request.id, ErrorCode.INTERNAL, "something went wrong on the server")
            return
        self.send(reply)
        if kind == "join":
            log_context.room.set(self.room_id)
            log_context.member.set(self.member_id)
            log.info("joined")
            held, self._held = self._held or [], None
            for seq, text in held:
                self.deliver(seq, text)
        if kind == "leave":
            self.close()

    async def _dispatch(self, request: m.Request) -> m.Message:
        match request:
            case m.Join():
                return await self._join(request)
            case m.Offer():
                return await self._offer(request)
            case m.Candidate():
                return await self._candidate(request)
            case m.Leave():
                return await self._leave(request)
            case m.Ping():
                return await self._ping(request)
            case m.Echo():
                return await self._echo(request)
            case m.ChatHistory():
                return await self._chat_history(request)
            case m.React():
                return await self._react(request)
            case (m.SelfAction() | m.TargetAction() | m.Remove() | m.Ask() | m.QuestionAction() | m.Chat()
                  | m.MessageAction() | m.SetChat() | m.SetRecording()):
                return await self._act(request)
            case _:
                assert_never(request)

    def _require_joined(self) -> None:
        if not self.joined:
            raise DropinError(ErrorCode.NOT_JOINED, "join a room first")

    async def _join(self, request: m.Join) -> m.Message:
        if self.joined:
            raise DropinError(ErrorCode.ALREADY_JOINED, "this connection is already in a room")
        if request.v != m.PROTOCOL_VERSION:
            raise DropinError(
                ErrorCode.UNSUPPORTED_VERSION,
                f"protocol version {request.v} is not supported; this server speaks {m.PROTOCOL_VERSION}",
            )
        self._held = []
        log_context.room.set(request.room)
        try:
            welcome = await self.gateway.join(self, request.room, request.token, request.last_seq)
        except BaseException:
            self._held = None
            raise
        self.seq = welcome.seq
        self.room_id, self.member_id = welcome.room.id, welcome.you.id
        return m.Joined(re=request.id, **dict(welcome))

    async def _offer(self, request: m.Offer) -> m.Message:
        self._require_joined()
        return m.Answer(re=request.id, sdp=await self.gateway.negotiate(self, request.sdp))

    async def _candidate(self, request: m.Candidate) -> m.Message:
        self._require_joined()
        await self.gateway.add_candidate(self, request.candidate, request.sdpMid, request.sdpMLineIndex)
        return m.Ok(re=request.id)

    async def _leave(self, request: m.Leave) -> m.Message:
        self._require_joined()
        await self.gateway.leave(self)
        self.room_id = self.member_id = None
        return m.Ok(re=request.id)

    async def _act(self, request: Action) -> m.Message:
        self._require_joined()
        if not self._actions.take():
            raise DropinError(ErrorCode.RATE_LIMITED, "too many room actions; wait a moment")
        return m.Ok(re=request.id, seq=await self.gateway.act(self, request))

    async def _echo(self, request: m.Echo) -> m.Message:
        self._require_joined()
        slot = await self.gateway.echo(self, request.seconds)
        return m.Ok(re=request.id, slot=slot, seconds=request.seconds)

    async def _chat_history(self, request: m.ChatHistory) -> m.Message:
        self._require_joined()
        messages, more = await self.gateway.chat_history(self, request.before)
        return m.ChatPage(re=request.id, messages=messages, more=more)

    async def _react(self, request: m.React) -> m.Message:
        self._require_joined()
        if not self._reactions.take():
            raise DropinError(ErrorCode.RATE_LIMITED, "too many reactions; wait a moment")
        await self.gateway.react(self, request.kind)
        return m.Ok(re=request.id)

    async def _ping(self, request: m.Ping) -> m.Message:
        return m.Pong(re=request.id)


def _describe(exc: ValidationError) -> str:
    """A short, readable summary of what is wrong with a message."""
    problems = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error["loc"][1:]) or "message"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)
