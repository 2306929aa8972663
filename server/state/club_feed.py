"""Following clubs' spaces live: one tail per club that someone on this node follows.

Each tail blocks on the club's change stream (server/state/club_space.py) with the feed client,
as room feeds do, and hands each change to every subscriber's queue. A subscriber catches up
from Redis itself first (`ClubSpaceStore.changes_after`), having subscribed before it read, and
skips what it already sent, so it misses nothing between the two. Because the tail reads Redis,
a change made through any node reaches the pages open on every node.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, cast

from redis.asyncio import Redis

from server.state import keys
from server.state.log import BLOCK_MS, RETRY_S
from server.state.storage import TRANSIENT

log = logging.getLogger(__name__)

QUEUE_MAX = 1000  # changes waiting for one slow subscriber; past that it is told to start over
Change = tuple[str, dict[str, Any]]  # (stream id, change), or ("", {"type": "reset" | "closing"})
RESET: Change = ("", {"type": "reset"})  # changes were dropped: read the space anew
CLOSING: Change = ("", {"type": "closing"})  # the node is draining: end the stream


def _tell(queue: asyncio.Queue[Change], change: Change) -> None:
    """Queue `change`; a full queue (a subscriber that stopped reading) is emptied and told RESET."""
    if queue.full():
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(RESET)
    queue.put_nowait(change)


class _Tail:
    def __init__(self, redis: Redis, club_id: str, after: str) -> None:
        self.subscribers: set[asyncio.Queue[Change]] = set()
        self._redis, self._club_id, self._position = redis, club_id, after
        self.task = asyncio.create_task(self._run(), name=f"club feed {club_id}")

    async def _run(self) -> None:
        stream = keys.space_changes(self._club_id)
        task = asyncio.current_task()
        assert task is not None
        unreachable = False
        while not task.cancelling():
            try:
                read = await self._redis.xread({stream: self._position}, block=BLOCK_MS, count=100)
            except Exception as exc:
                # redis-py turns a cancellation during a read into its own TimeoutError.
                if task.cancelling():
                    raise asyncio.CancelledError from None
                if not isinstance(exc, TRANSIENT):
                    log.exception("reading club %s's changes", self._club_id)
                elif not unreachable:
                    log.warning("club %s: Redis unreachable (%s); its feed resumes when it is back", self._club_id, exc)
                unreachable = True
                await asyncio.sleep(RETRY_S)
                continue
            unreachable = False
            for _, entries in cast(list[tuple[str, list[tuple[str, dict[str, str]]]]], read):
                for entry_id, fields in entries:
                    self._position = entry_id
                    change = (entry_id, json.loads(fields["change"]))
                    for queue in self.subscribers:
                        _tell(queue, change)


class ClubFeeds:
    """This node's tails of club spaces, shared by the pages that follow them."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._tails: dict[str, _Tail] = {}
        self.closing = asyncio.Event()
        """Set when the node drains: open streams end, and the pages reconnect to another node."""

    @contextlib.asynccontextmanager
    async def subscribe(self, club_id: str) -> AsyncIterator[asyncio.Queue[Change]]:
        """A queue of the club's changes from now on, while the context lasts."""
        tail = self._tails.get(club_id)
        if tail is None:
            found = cast(list[tuple[str, Any]], await self._redis.xrevrange(keys.space_changes(club_id), count=1))
            tail = self._tails.get(club_id)  # another subscriber may have started it meanwhile
            if tail is None:
                tail = self._tails[club_id] = _Tail(self._redis, club_id, found[0][0] if found else "0-0")
        queue: asyncio.Queue[Change] = asyncio.Queue(QUEUE_MAX)
        tail.subscribers.add(queue)
        if self.closing.is_set():
            _tell(queue, CLOSING)
        try:
            yield queue
        finally:
            tail.subscribers.discard(queue)
            if not tail.subscribers and self._tails.get(club_id) is tail:
                del self._tails[club_id]
                tail.task.cancel()

    def end_streams(self) -> None:
        """The node drains: every open stream ends (its page reconnects, to another node), and so
        does any opened from now on."""
        self.closing.set()
        for tail in self._tails.values():
            for queue in tail.subscribers:
                _tell(queue, CLOSING)

    async def close(self) -> None:
        self.end_streams()
        tails, self._tails = list(self._tails.values()), {}
        for tail in tails:
            tail.task.cancel()
        await asyncio.gather(*(tail.task for tail in tails), return_exceptions=True)
