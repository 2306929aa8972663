"""Property: whatever frame a joined client sends, it gets exactly one answer with a documented
code (or a pong), the connection stays open, and nothing in Redis changes.

The frames come from Hypothesis: arbitrary JSON values, strings with unpaired surrogates and
control characters, deep nesting, huge numbers, raw text and bytes, and every request type with
a field of the wrong type or an unknown field. A synchronous websocket client keeps one
connection for all examples, so a frame that kills the socket fails every example after it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from signaling import messages as m
from support import RunningServer, serving, users_state
from vocabulary.errors import ErrorCode

EXAMPLES = 1000
# A valid value for every field of every request type; each frame gets at least one wrong.
FIELDS: dict[str, dict[str, object]] = {
    "join": {"v": 1, "room": "aRoom", "token": "t", "last_seq": 3},
    "offer": {"sdp": "v=0"},
    "candidate": {"candidate": "candidate:1 1 udp 1 192.0.2.1 9 typ host", "sdpMid": "0", "sdpMLineIndex": 0},
    "leave": {},
    "ping": {},
    "remove": {"target": "someone", "ban": "timed", "ban_minutes": 5},
    "ask": {"text": "Why?"},
    "upvote": {"question": "q1"},
    "mark_answered": {"question": "q1"},
    **{action: {} for action in m.SELF_ACTIONS},
    **{action: {"target": "someone"} for action in m.TARGET_ACTIONS},
}
ANSWER_CODES = {code.value for code in ErrorCode} - {ErrorCode.INTERNAL.value}

odd_text = st.text(st.characters(codec=None, categories=None, exclude_categories=()), max_size=20)
control_text = st.text(st.characters(max_codepoint=0x1F), min_size=1, max_size=5)
surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30), st.floats(allow_nan=False),
    odd_text, control_text, surrogates,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=12,
)


def wrong_for(value: object) -> st.SearchStrategy[object]:
    """A value of another JSON kind than `value`, which the strict message models never accept."""
    others = [
        st.integers(),
        st.lists(scalars, max_size=2),
        st.dictionaries(st.text(max_size=3), scalars, max_size=2),
        st.booleans(),
    ]
    if not isinstance(value, str):
        others.append(st.one_of(odd_text, surrogates))
    return st.one_of(*(s for s in others if not (isinstance(value, bool) and s is others[-1])))


@st.composite
def malformed_requests(draw: st.DrawFn) -> str:
    """A request type with its fields, one of them wrong (or an unknown one added)."""
    kind = draw(st.sampled_from(sorted(FIELDS)))
    fields: dict[str, object] = {"type": kind, "id": "r1", **FIELDS[kind]}
    name = draw(st.sampled_from([*sorted(fields.keys() - {"type"}), "unknown"]))
    fields[name] = draw(wrong_for(fields.get(name, "")) if name != "unknown" else json_values)
    return json.dumps(fields)


def nested(depth: int) -> str:
    return '{"type": "ping", "id": "deep", "x": ' + "[" * depth + "]" * depth + "}"


frames = st.one_of(
    json_values.map(json.dumps),
    malformed_requests(),
    st.integers(min_value=1, max_value=1500).map(nested),
    st.integers(min_value=4000, max_value=6000).map(lambda digits: '{"type": "ping", "id": ' + "7" * digits + "}"),
    st.text(max_size=50),
    st.binary(max_size=50),
)


@pytest.fixture
def node(redis_server, tmp_path: Path) -> Iterator[RunningServer]:
    """A server whose connection rate limit a fuzzer does not hit."""
    redis.Redis.from_url(redis_server.url).flushdb()
    # No host joins this room: it must not end for want of one while the fuzzer runs.
    rate = {"DROPIN_RATE_PER_S": "100000", "DROPIN_RATE_BURST": "100000", "DROPIN_HOST_GRACE_S": "3600"}
    with serving(redis_server.url, tmp_path, **rate) as running:
        yield running


def snapshot(client: redis.Redis) -> dict[bytes, bytes]:
    return {key: client.dump(key) for key in users_state(client.keys("*"))}


def answers_to(ws: ClientConnection, frame: str | bytes) -> list[dict]:
    """The answers (replies and errors, not room events) to `frame`: all that comes before the
    pong of a ping sent behind it."""
    ws.send(frame)
    ws.send(json.dumps({"type": "ping", "id": "sentinel"}))
    said = []
    while (reply := json.loads(ws.recv(timeout=10))).get("re") != "sentinel":
        if "re" in reply or reply["type"] == "error":
            said.append(reply)
    return said


def test_any_frame_gets_one_documented_answer_and_changes_nothing(node: RunningServer) -> None:
    host, listener = node.identity("Host"), node.identity("Listener")
    room_id = node.create_room(host)
    store = redis.Redis.from_url(node.redis_url)
    with connect(node.ws_url, max_size=None) as ws:
        ws.send(json.dumps({"type": "join", "id": "j", "room": room_id, "token": listener}))
        assert json.loads(ws.recv(timeout=10))["type"] == "joined"
        before = snapshot(store)

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
        @given(frames)
        def one_answer(frame: str | bytes) -> None:
            said = answers_to(ws, frame)
            assert len(said) == 1, (frame[:200], said)
            answer = said[0]
            assert answer["type"] == "pong" or (answer["type"] == "error" and answer["code"] in ANSWER_CODES), answer
            assert snapshot(store) == before

        one_answer()
    assert "Traceback" not in node.log
