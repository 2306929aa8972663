"""The log formatter: JSON lines with the ids in context, tracebacks in one field, secrets out."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime

from server.logs import REDACTED, JsonFormatter, TextFormatter, line, redact
from signaling import log_context

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhYmMifQ.c2lnbmF0dXJl"


def record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = sys.exc_info() if exc else None
    return logging.LogRecord("server.test", logging.WARNING, __file__, 1, message, args, exc_info)


def test_a_json_line_has_the_fields_and_the_ids_in_context() -> None:
    formatter = JsonFormatter()
    with log_context.bound(room_id="r1", member_id="m1", request_id="raise_hand:7"):
        line_ = json.loads(formatter.format(record("room %s: %d things", "r1", 3)))
    assert line_["message"] == "room r1: 3 things"
    assert line_["level"] == "warning" and line_["logger"] == "server.test"
    assert datetime.fromisoformat(line_["time"]).utcoffset().total_seconds() == 0
    assert (line_["room"], line_["member"], line_["request"]) == ("r1", "m1", "raise_hand:7")
    assert "room" not in json.loads(formatter.format(record("outside")))


def test_the_ids_are_as_they_were_after_a_block_that_set_them_again() -> None:
    with log_context.bound(room_id="outer"):
        with log_context.bound(request_id="x"):
            log_context.room.set("inner")
        assert log_context.current() == {"room": "outer"}
    assert log_context.current() == {}


def test_a_traceback_is_one_string_field_of_one_line() -> None:
    try:
        raise ValueError(f"bad token {JWT}")
    except ValueError:
        text = JsonFormatter().format(record("failed", exc=True))
    assert "\n" not in text
    line_ = json.loads(text)
    assert "Traceback" in line_["exc"] and "ValueError" in line_["exc"]
    assert JWT not in text


def test_tokens_and_secrets_are_scrubbed_from_every_format() -> None:
    message = f'GET /api/rooms/x?token=abc&n=1 Bearer {JWT} redis://:hunter2@db:6379/0 "turn-s3cret" {JWT}'
    for formatter in (JsonFormatter(secrets=["turn-s3cret"]), TextFormatter(secrets=["turn-s3cret"])):
        text = formatter.format(record("%s", message))
        for leak in (JWT, "abc", "hunter2", "turn-s3cret"):
            assert leak not in text
        assert "n=1" in text and "db:6379" in text and REDACTED in text
    assert redact("nothing to hide") == "nothing to hide"
    assert json.loads(line("json", f"banner {JWT}"))["message"] == f"banner {REDACTED}"
    assert line("text", "banner") == "banner"
