"""`--log-format json`: every line an object, carrying the room, member and request it is about,
and no token or secret anywhere in the log."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import redis

from server.state.redis_server import RedisServer
from signaling.client import RequestFailed
from support import Member, serving, wait_until

TURN_SECRET = "turn-secret-that-must-not-show"


def log_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "the server logged nothing"
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}")
        assert isinstance(parsed[-1], dict), line
        assert {"time", "level", "logger", "message"} <= parsed[-1].keys(), line
    return parsed


async def test_json_lines_carry_the_room_member_and_request_and_no_secret(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    redis.Redis.from_url(redis_server.url).flushdb()
    env = {
        "DROPIN_LOG_FORMAT": "json",
        "DROPIN_TURN_URLS": "turn:127.0.0.1:3478?transport=udp",
        "DROPIN_TURN_SECRET": TURN_SECRET,
    }
    with serving(redis_server.url, tmp_path, log_level="info", **env) as server:
        token = server.identity("Host")
        room_id = server.create_room(token)
        host = await Member.enter(server.ws_url, room_id, token)
        listener_token = server.identity("Listener")
        listener = await Member.enter(server.ws_url, room_id, listener_token)
        try:
            await listener.act("raise_hand")
            with pytest.raises(RequestFailed):
                await listener.act("raise_hand")  # hand_already_raised
            # a bad message with a token in it: refused, and the token not logged
            await listener.client.send_raw(json.dumps({"type": "join", "id": "bad", "token": listener_token}), "bad")
            await listener.client.send_raw(json.dumps({"type": listener_token, "id": "odd"}), "odd")
        finally:
            await host.client.close()
            await listener.client.close()
        response = httpx.get(
            f"{server.base_url}/api/rooms/{room_id}?token={token}", headers={"Authorization": f"Bearer {token}"}
        )
        response.raise_for_status()
        request_id = response.headers["X-Request-Id"]
        await wait_until(lambda: _has(server, request_id), what="the REST request's access line")
    log = server.log
    lines = log_lines(log)

    refused = [line for line in lines if line["message"] == "refused: hand_already_raised"]
    assert len(refused) == 1, log
    assert refused[0]["room"] == room_id
    assert refused[0]["member"] == listener.id
    assert refused[0]["request"].startswith("raise_hand:")
    joined = [line for line in lines if line["message"] == "joined" and line.get("member") == host.id]
    assert joined and joined[0]["room"] == room_id and joined[0]["request"].startswith("join:")
    assert any(line.get("request") == "join:bad" and line["message"].startswith("refused") for line in lines), log

    rest = [line for line in lines if line.get("request") == request_id]
    assert rest and all(line["room"] == room_id for line in rest), log
    assert any(line["logger"] == "uvicorn.access" for line in rest), log
    assert any(line["logger"] == "uvicorn.error" for line in lines), "uvicorn's own lines are JSON too"

    for secret in (token, listener_token, TURN_SECRET):
        assert secret not in log
    assert "eyJ" not in log


async def _has(server, request_id: str) -> bool:
    return request_id in server.log
