"""Reading one websocket frame as a JSON object, refusing what the rest of the server can't hold.

Python's `json` accepts some text that is JSON on paper but not a string anyone can store or send
back: escaped unpaired surrogates (`"\\ud800"`) cannot be encoded as UTF-8, nesting a thousand
levels deep exhausts the parser's recursion, and integers of thousands of digits are refused by
`int`. Each of these is answered `bad_json` instead of failing later.
"""

from __future__ import annotations

import json
from typing import Any

from vocabulary.errors import DropinError, ErrorCode

MAX_DEPTH = 32  # no message of the protocol nests more than a few levels


def decode_frame(raw: str | bytes) -> Any:
    """The frame's JSON value; raises DropinError(BAD_JSON) for anything it cannot faithfully hold."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise DropinError(ErrorCode.BAD_JSON, f"the message nests deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError):  # ValueError also covers integers beyond Python's limit
        raise DropinError(ErrorCode.BAD_JSON, "the message is not valid JSON") from None
    _check(value)
    return value


def _check(value: Any) -> None:
    """Refuse nesting beyond MAX_DEPTH and strings with unpaired surrogates (walked without recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _check_text(item)
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise DropinError(ErrorCode.BAD_JSON, f"the message nests deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            for key in item:
                _check_text(key)
            pending.extend((child, depth + 1) for child in item.values())
        else:
            pending.extend((child, depth + 1) for child in item)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise DropinError(ErrorCode.BAD_JSON, "the message holds an unpaired surrogate (\\ud800-\\udfff)") from None
