"""The node's log lines: plain text or one JSON object a line (`--log-format json`), each
carrying the room, member and request it is about (signaling.log_context) and never a token
or secret: a scrub on every line takes out identity tokens (JWTs), the configured secrets and
credentials in URLs, whichever logger wrote it (uvicorn's access log included)."""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signaling import log_context

REDACTED = "[redacted]"
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

_PATTERNS = (
    # a JWT (identity tokens): base64url of '{"' starts every header and payload with eyJ
    (re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*"), REDACTED),
    # Authorization: Bearer ...
    (re.compile(r"(?i)(bearer\s+)[^\s\"',;]+"), rf"\1{REDACTED}"),
    # ?token=..., &secret=..., password=... in query strings and settings
    (re.compile(r"(?i)\b((?:access_)?token|secret|password|credential)=[^&\s\"',;]+"), rf"\1={REDACTED}"),
    # redis://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+@"), rf"\1{REDACTED}@"),
)


def redact(text: str, secrets_: Iterable[str] = ()) -> str:
    """`text` without anything that looks like a token or credential, nor any of `secrets_`."""
    for secret in secrets_:
        if secret:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class _Scrubbing(logging.Formatter):
    def __init__(self, fmt: str | None = None, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self.secrets = [secret for secret in secrets if secret]

    def scrub(self, text: str) -> str:
        return redact(text, self.secrets)


class TextFormatter(_Scrubbing):
    """The classic line (`time level logger: message`), scrubbed."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__(TEXT_FORMAT, secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self.scrub(super().format(record))


class JsonFormatter(_Scrubbing):
    """One JSON object a line: time (ISO 8601, UTC), level, logger, message; room, member and
    request when known; exc, the traceback as one string, when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.scrub(record.getMessage()),
        }
        line.update({name: self.scrub(value) for name, value in log_context.current().items()})
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = self.scrub(record.exc_text)
        if record.stack_info:
            line["stack"] = self.scrub(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False)


def formatter(log_format: str, secrets: Iterable[str] = ()) -> logging.Formatter:
    return JsonFormatter(secrets=secrets) if log_format == "json" else TextFormatter(secrets)


def setup(log_format: str, level: str, secrets: Iterable[str] = ()) -> None:
    """Send every logger's lines, uvicorn's included, to stderr in `log_format`. Run uvicorn with
    `log_config=None` after this, so that it keeps them."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format, secrets))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        for old in logger.handlers[:]:
            logger.removeHandler(old)
        logger.propagate = True
        logger.setLevel(level.upper())


def line(log_format: str, message: str, secrets: Iterable[str] = ()) -> str:
    """`message` as a line of the log (for what is printed whatever the level, e.g. the banner)."""
    if log_format != "json":
        return redact(message, secrets)
    record = logging.LogRecord("dropin", logging.INFO, __file__, 0, message, None, None)
    return JsonFormatter(secrets=secrets).format(record)


REQUEST_ID_HEADER = "X-Request-Id"
_ROOM_PATH = re.compile(r"^/api/rooms/([A-Za-z0-9_-]{1,64})(?:/|$)")


class RequestIds:
    """ASGI middleware: each HTTP request gets a short random id, on its log lines and in its
    response's X-Request-Id header; a /api/rooms/{id}... request's lines carry the room too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(6)
        room = _ROOM_PATH.match(scope.get("path", ""))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with log_context.bound(room_id=room.group(1) if room else None, request_id=request_id):
            await self.app(scope, receive, send_with_id)
