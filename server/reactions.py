"""Reactions (applause, +1, ...): counted on each node per room and sent to the room log at most
every half second as one `reactions` event, so that a thousand people clapping is a couple of
events per member a second, not a thousand. Every node's events reach the whole room through the
log, so a room spread over nodes sees everyone's."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict

from server.state.rooms import RoomStore
from server.state.storage import TRANSIENT
from vocabulary.errors import DropinError

log = logging.getLogger(__name__)

FLUSH_S = 0.5


class Reactions:
    """This node's reactions not yet sent, by room."""

    def __init__(self, store: RoomStore, flush_s: float = FLUSH_S) -> None:
        self._store = store
        self._flush_s = flush_s
        self._pending: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def add(self, room_id: str, kind: str) -> None:
        self._pending[room_id][kind] += 1

    async def run(self) -> None:
        """Send what has been counted every `flush_s`; until cancelled."""
        while True:
            await asyncio.sleep(self._flush_s)
            await self.flush()

    async def flush(self) -> None:
        pending, self._pending = self._pending, defaultdict(Counter)
        for room_id, counts in pending.items():
            try:
                await self._store.react(room_id, dict(counts))
            except TRANSIENT:
                self._pending[room_id].update(counts)  # sent with the next, once Redis answers
            except DropinError:
                log.info("reactions for room %s dropped: it is gone", room_id)
