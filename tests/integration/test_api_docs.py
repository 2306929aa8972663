"""The API's documentation: /docs and /redoc load everything from this server (no CDN), and the
OpenAPI document gives every REST route a summary, a typed answer and the error codes it answers."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from server.api.errors import status_of
from vocabulary.errors import ErrorCode

ASSET = re.compile(r"""<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
CODE = re.compile(r"`([a-z_]+)`")
NEVER_FAILS = {("get", "/api/media"), ("get", "/healthz")}  # in-memory figures: nothing to refuse


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_their_scripts_and_styles_from_this_server(server, page: str) -> None:
    api = httpx.Client(base_url=server.base_url)
    reply = api.get(page)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
    assets = ASSET.findall(reply.text)
    assert any(a.endswith(".js") for a in assets), assets
    origin = urlsplit(server.base_url).netloc
    for asset in assets:
        url = urljoin(server.base_url + page, asset)
        assert urlsplit(url).netloc == origin, f"{page} loads {asset} from elsewhere"
        fetched = api.get(url)
        assert fetched.status_code == 200, url
        if asset.endswith((".js", ".css")):
            kind = "javascript" if asset.endswith(".js") else "css"
            assert kind in fetched.headers["content-type"] and len(fetched.content) > 10_000, url
    assert "fonts.googleapis.com" not in reply.text and "cdn.jsdelivr.net" not in reply.text
    if page == "/redoc":  # its "API docs by Redocly" logo is on a CDN: the browser is told not to fetch it
        assert reply.headers["content-security-policy"] == "img-src 'self' data: blob:"


def test_every_operation_has_a_summary_a_typed_answer_and_its_errors(server) -> None:
    spec = httpx.get(f"{server.base_url}/openapi.json").json()
    ops = operations(spec)
    assert len(ops) > 30
    assert "ErrorBody" in spec["components"]["schemas"]
    for method, path, op in ops:
        where = f"{method.upper()} {path}"
        assert op.get("summary"), where
        ok = [r for status, r in op["responses"].items() if status.startswith("2")]
        assert ok and all(any(c.get("schema") for c in r.get("content", {}).values()) for r in ok), where
        failures = {status: r for status, r in op["responses"].items() if status[0] in "45"}
        if path.startswith("/api/") and (method, path) not in NEVER_FAILS:
            assert failures, f"{where} documents no error"
        for status, response in failures.items():
            if not path.startswith("/api/"):
                continue  # /healthz, /readyz, /metrics: theirs are not the REST error body
            assert list(response["content"]) == ["application/json"], where
            assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
            codes = CODE.findall(response["description"])
            assert codes, f"{where} {status} names no code"
            for code in codes:
                assert status_of(ErrorCode(code)) == int(status), f"{where}: {code} is not a {status}"
    assert "HTTPValidationError" not in str(spec["paths"]), "validation errors answer the REST error body"


def test_routes_that_take_a_token_document_unauthorized(server) -> None:
    spec = httpx.get(f"{server.base_url}/openapi.json").json()
    for method, path, op in operations(spec):
        takes_token = any(p["name"].lower() == "authorization" for p in op.get("parameters", []))
        if takes_token:
            assert "`unauthorized`" in op["responses"].get("401", {}).get("description", ""), f"{method} {path}"


FAILURES = [  # (method, path as documented, path asked, body, token?, the code it answers)
    ("get", "/api/me", "/api/me", None, False, ErrorCode.UNAUTHORIZED),
    ("post", "/api/rooms", "/api/rooms", b"{not json", True, ErrorCode.BAD_JSON),
    ("post", "/api/rooms", "/api/rooms", b'{"title": ""}', True, ErrorCode.INVALID_MESSAGE),
    ("get", "/api/rooms/{room_id}", "/api/rooms/nope", None, False, ErrorCode.ROOM_NOT_FOUND),
    ("get", "/api/rooms/{room_id}", "/api/rooms/n%21pe", None, False, ErrorCode.INVALID_MESSAGE),
    ("get", "/api/rooms/{room_id}/roundup.md", "/api/rooms/nope/roundup.md", None, False, ErrorCode.ROOM_NOT_FOUND),
    ("post", "/api/rooms/{room_id}/end", "/api/rooms/nope/end", None, True, ErrorCode.ROOM_NOT_FOUND),
    ("get", "/api/clubs/{club_id}", "/api/clubs/nope", None, False, ErrorCode.CLUB_NOT_FOUND),
    ("get", "/api/clubs/{club_id}/calendar.ics", "/api/clubs/nope/calendar.ics", None, False,
     ErrorCode.CLUB_NOT_FOUND),
    ("get", "/api/events/{event_id}", "/api/events/nope", None, False, ErrorCode.EVENT_NOT_FOUND),
    ("post", "/api/events", "/api/events", b'{"title": "x", "timezone": "Mars/Base", "start": "2030-01-01T10:00", '
     b'"duration_minutes": 30}', True, ErrorCode.INVALID_TIMEZONE),
    ("get", "/api/invites/{token}", "/api/invites/nope", None, False, ErrorCode.INVITE_NOT_FOUND),
    ("post", "/api/invites/{token}/accept", "/api/invites/nope/accept", None, True, ErrorCode.INVITE_NOT_FOUND),
]


def test_the_errors_routes_answer_are_the_ones_they_document(server) -> None:
    spec = httpx.get(f"{server.base_url}/openapi.json").json()
    api = httpx.Client(base_url=server.base_url)
    token = server.identity("Ada")
    for method, documented, asked, body, signed_in, code in FAILURES:
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if signed_in else {})
        reply = api.request(method, asked, content=body, headers=headers)
        assert reply.json()["error"]["code"] == code.value, (asked, reply.text)
        response = spec["paths"][documented][method]["responses"].get(str(reply.status_code))
        assert response and f"`{code.value}`" in response["description"], (asked, reply.status_code, code)
        assert HTTPStatus(reply.status_code).phrase in response["description"]
