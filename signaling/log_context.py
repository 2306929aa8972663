"""Who a log line is about: the room, member and request being handled, as context variables.

The signalling session sets them around each request it handles, the REST middleware around
each HTTP request; the server's log formatter puts them on every line written meanwhile."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

room: ContextVar[str | None] = ContextVar("dropin_log_room", default=None)
member: ContextVar[str | None] = ContextVar("dropin_log_member", default=None)
request: ContextVar[str | None] = ContextVar("dropin_log_request", default=None)

FIELDS = {"room": room, "member": member, "request": request}


def current() -> dict[str, str]:
    """The ids known here, by name (`room`, `member`, `request`); unknown ones left out."""
    return {name: value for name, var in FIELDS.items() if (value := var.get()) is not None}


@contextlib.contextmanager
def bound(*, room_id: str | None = None, member_id: str | None = None, request_id: str | None = None) -> Iterator[None]:
    """Log lines written inside carry these ids (None: not known); each is as it was after,
    even if set again inside."""
    tokens = [(var, var.set(value)) for var, value in ((room, room_id), (member, member_id), (request, request_id))]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
