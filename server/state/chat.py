"""Reading a room's chat: messages are numbered `c1`, `c2`, ... in the order posted and kept by
id in one hash (server/state/keys.py `chat`), so a page is one HMGET of the ids before a number.
The room script posts, deletes and sets the chat (server/state/lua/act.lua)."""

from __future__ import annotations

import json

from server.domain.room import ChatMessage, ChatState, Identity

PAGE = 50  # messages a joiner is sent, and each page further back
STATE_FIELDS = ("chat_off", "chat_slow_s", "chat_posted")  # in the room's hash


def state(off: str | None, slow_s: str | None) -> ChatState:
    """The chat's state from the room hash's fields."""
    return ChatState(enabled=off != "1", slow_s=int(slow_s or 0))


def page_ids(before: int, limit: int = PAGE) -> list[str]:
    """The ids of the `limit` messages before number `before`, oldest first."""
    return [f"c{n}" for n in range(max(1, before - limit), before)]


def earlier(ids: list[str]) -> bool:
    """Whether messages were posted before the page of `ids`."""
    return bool(ids) and ids[0] != "c1"


def page(raws: list[str | None]) -> list[ChatMessage]:
    """The messages among `raws` (as stored), leaving out deleted ones."""
    messages = []
    for raw in raws:
        if raw is None:
            continue
        stored = json.loads(raw)
        if not stored.get("deleted"):
            by = stored["by"]
            messages.append(ChatMessage(id=stored["id"], by=Identity(by["id"], by["name"]), text=stored["text"],
                                        at=float(stored["at"])))
    return messages
