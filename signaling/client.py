"""A Python client for the signalling protocol: requests with replies, and a queue of events."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import websockets

from signaling import messages as m
from vocabulary.errors import DropinError, ErrorCode


class RequestFailed(DropinError):
    """The server answered a request with an error."""


class SignalingClient:
    """One websocket to a Dropin server. Use `await SignalingClient.connect(url)`."""

    def __init__(self, websocket: websockets.ClientConnection) -> None:
        self._ws = websocket
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[m.Message]] = {}
        self.events: asyncio.Queue[m.ServerMessage] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, url: str) -> SignalingClient:
        return cls(await websockets.connect(url, max_size=None))

    async def request(self, type: str, timeout: float = 10.0, **fields: Any) -> m.Message:
        """Send a request and return its reply; raise RequestFailed on an error reply."""
        request_id = str(next(self._ids))
        reply = await self.send_raw(json.dumps({"type": type, "id": request_id, **fields}), request_id, timeout)
        if isinstance(reply, m.Error):
            raise RequestFailed(ErrorCode(reply.code), reply.message)
        return reply

    async def send_raw(self, text: str | bytes, request_id: str | None = None, timeout: float = 10.0) -> m.Message:
        """Send anything at all; return the reply to `request_id`, or the next id-less error."""
        future: asyncio.Future[m.Message] = asyncio.get_running_loop().create_future()
        self._pending[request_id or ""] = future
        try:
            await self._ws.send(text)
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id or "", None)

    async def next_event(self, type: str | None = None, timeout: float = 10.0) -> m.ServerMessage:
        """The next event (of `type`, skipping others)."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self.events.get()
                if type is None or event.type == type:
                    return event

    async def wait_closed(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._ws.wait_closed(), timeout)

    async def close(self) -> None:
        await self._ws.close()
        self._reader.cancel()

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                message = m.server_message_adapter.validate_json(raw)  # m.decode_server_message, typed
                re = getattr(message, "re", None)
                # Replies go to their request; an error with no id answers the pending raw send.
                is_answer = re is not None or isinstance(message, m.Error)
                future = self._pending.get(re or "") if is_answer else None
                if future is not None and not future.done():
                    future.set_result(message)
                elif re is None:
                    self.events.put_nowait(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("the server closed the connection"))
