"""Bad input over the websocket gets an error with a stable code, leaves Redis as it was, and the
connection stays usable."""

from __future__ import annotations

import json
import re

import pytest

from signaling import messages as m
from signaling.client import SignalingClient

VALID_SDP_WITH_VIDEO = """v=0
o=- 1 1 IN IP4 127.0.0.1
s=-
t=0 0
m=video 9 UDP/TLS/RTP/SAVPF 96
c=IN IP4 0.0.0.0
a=mid:0
a=rtpmap:96 VP8/90000
a=sendrecv
"""


@pytest.fixture
async def room(server):
    """A live room with its host; yields (room id, a listener's token)."""
    return server.create_room(server.identity("Host")), server.identity("Listener")


@pytest.fixture
async def client(server):
    client = await SignalingClient.connect(server.ws_url)
    yield client
    await client.close()


async def expect_error(client: SignalingClient, raw: str | bytes, code: str, request_id: str | None = None) -> m.Error:
    reply = await client.send_raw(raw, request_id)
    assert isinstance(reply, m.Error), reply
    assert reply.code == code, reply
    assert reply.re == request_id
    assert reply.message
    return reply


async def assert_still_usable(client: SignalingClient) -> None:
    assert isinstance(await client.request("ping"), m.Pong)


BEFORE_JOINING = [
    ("{not json", "bad_json", None),
    (b"\xff\xfe", "bad_json", None),
    ("[1, 2]", "invalid_message", None),
    ('{"type": "dance", "id": "1"}', "unknown_type", "1"),
    ('{"id": "2"}', "unknown_type", "2"),
    ('{"type": "join", "id": "3"}', "invalid_message", "3"),
    ('{"type": "join", "id": "4", "room": "bad room!", "token": "t"}', "invalid_message", "4"),
    ('{"type": "offer", "id": "5", "sdp": "v=0"}', "not_joined", "5"),
    ('{"type": "candidate", "id": "6", "candidate": ""}', "not_joined", "6"),
    ('{"type": "leave", "id": "7"}', "not_joined", "7"),
    ('{"type": "ping", "id": "8", "extra": true}', "invalid_message", "8"),
    ('{"type": "join", "id": "9", "room": "r"}', "unauthorized", "9"),
    # Frames that used to close the socket without a word.
    ('{"type": "ping", "id": "\\ud800"}', "bad_json", None),
    ('{"type": "ask", "id": "10", "text": "a\\udfffb"}', "bad_json", None),
    ('{"type": {}, "id": "11"}', "unknown_type", "11"),
    ('{"type": [], "id": "12"}', "unknown_type", "12"),
    ('{"type": 7, "id": "13"}', "unknown_type", "13"),
    ('{"type": "ping", "id": "14", "x": ' + "[" * 1000 + "]" * 1000 + "}", "bad_json", None),
    ('{"type": "ping", "id": "15", "x": ' + '{"a":' * 990 + "1" + "}" * 990 + "}", "bad_json", None),
    ('{"type": "ping", "id": "16", "x": ' + "[" * 20 + "]" * 20 + "}", "invalid_message", "16"),
    ('{"type": "ping", "id": ' + "9" * 5000 + "}", "bad_json", None),
    ('{"type": "ping", "id": 1e999}', "invalid_message", None),
]


@pytest.mark.parametrize(("raw", "code", "request_id"), BEFORE_JOINING)
async def test_bad_messages_before_joining(server, client, redis_snapshot, room, raw, code, request_id) -> None:
    before = await redis_snapshot()
    await expect_error(client, raw, code, request_id)
    await assert_still_usable(client)
    assert await redis_snapshot() == before


@pytest.mark.parametrize(
    ("room_id", "token", "code"),
    [
        ("nosuchroom", None, "room_not_found"),
        (None, "forged.token.value", "unauthorized"),
        (None, None, "unsupported_version"),
    ],
)
async def test_refused_joins_change_nothing(server, client, redis_snapshot, room, room_id, token, code) -> None:
    live_room, listener_token = room
    fields = {"room": room_id or live_room, "token": token or listener_token}
    if code == "unsupported_version":
        fields["v"] = 99
    before = await redis_snapshot()
    await expect_error(client, json.dumps({"type": "join", "id": "j", **fields}), code, "j")
    await assert_still_usable(client)
    assert await redis_snapshot() == before


async def test_expired_token_is_refused(server, client, redis_snapshot, room) -> None:
    import datetime as dt

    import jwt

    secret = (server.data_dir / "secret").read_text().strip()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    expired = jwt.encode({"sub": "x", "name": "Old", "iss": "dropin", "iat": past, "exp": past}, secret, "HS256")
    before = await redis_snapshot()
    expired_join = json.dumps({"type": "join", "id": "j", "room": room[0], "token": expired})
    await expect_error(client, expired_join, "token_expired", "j")
    assert await redis_snapshot() == before


async def test_ended_room_cannot_be_joined(server, client, redis_snapshot) -> None:
    import httpx

    host = server.identity("Host")
    room_id = server.create_room(host)
    httpx.post(
        f"{server.base_url}/api/rooms/{room_id}/end", headers={"Authorization": f"Bearer {host}"}
    ).raise_for_status()
    before = await redis_snapshot()
    join_ended_room = json.dumps({"type": "join", "id": "j", "room": room_id, "token": host})
    await expect_error(client, join_ended_room, "room_ended", "j")
    assert await redis_snapshot() == before


AFTER_JOINING = [
    ({"type": "offer", "sdp": "this is not sdp"}, "bad_sdp"),
    ({"type": "offer", "sdp": VALID_SDP_WITH_VIDEO}, "bad_sdp"),
    ({"type": "offer", "sdp": "v=0\n" + "a=x\n" * 10_000}, "sdp_too_large"),
    ({"type": "candidate", "candidate": "candidate:1 1 udp 1 192.0.2.9 9 typ host"}, "no_offer"),
    ({"type": "join", "room": "whatever", "token": "t"}, "already_joined"),
]


@pytest.mark.parametrize(("fields", "code"), AFTER_JOINING)
async def test_bad_requests_in_a_room(server, client, redis_snapshot, room, fields, code) -> None:
    room_id, token = room
    await client.request("join", room=room_id, token=token)
    before = await redis_snapshot()
    await expect_error(client, json.dumps({"id": "x", **fields}), code, "x")
    await assert_still_usable(client)
    assert await redis_snapshot() == before


async def test_oversized_message(server, client, redis_snapshot, room) -> None:
    before = await redis_snapshot()
    await expect_error(client, json.dumps({"type": "ping", "id": "big", "pad": "x" * 70_000}), "message_too_large")
    await assert_still_usable(client)
    assert await redis_snapshot() == before


async def test_a_flood_is_rate_limited_and_the_connection_recovers(server, client, room) -> None:
    import asyncio

    for i in range(200):
        await client._ws.send(json.dumps({"type": "ping", "id": f"f{i}"}))
    limited = await client.next_event("error")
    assert limited.code == "rate_limited"
    await asyncio.sleep(1.0)
    await assert_still_usable(client)


async def test_a_sustained_flood_hears_rate_limited_about_once_a_second(server, client) -> None:
    import asyncio

    for i in range(300):  # 100 a second for 3 s: far past the burst, some let through as tokens refill
        await client._ws.send(json.dumps({"type": "ping", "id": f"f{i}"}))
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)
    reports = []
    while not client.events.empty():
        event = client.events.get_nowait()
        if isinstance(event, m.Error):
            reports.append(event.code)
    assert set(reports) == {"rate_limited"} and 2 <= len(reports) <= 4, reports


async def _offer_sdp() -> str:
    """An offer as a client makes it: one microphone, then three receive-only slots."""
    from aiortc import RTCConfiguration, RTCPeerConnection

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("audio", direction="sendonly")
    for _ in range(3):
        pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


def _without_section(sdp: str, index: int) -> str:
    head, *sections = re.split(r"(?=^m=)", sdp, flags=re.M)
    del sections[index]
    return head + "".join(sections)


async def test_what_aiortc_refuses_is_the_clients_bad_input(server, client, redis_snapshot, room) -> None:
    room_id, token = room
    await client.request("join", room=room_id, token=token)
    sdp = await _offer_sdp()
    before = await redis_snapshot()
    offer_missing_section = json.dumps({"type": "offer", "id": "o1", "sdp": _without_section(sdp, 0)})
    await expect_error(client, offer_missing_section, "bad_sdp", "o1")
    await assert_still_usable(client)
    assert isinstance(await client.request("offer", sdp=sdp), m.Answer)
    candidate = "candidate:1 1 udp 2130706431 192.0.2.9 9 typ host"
    bad_candidate = json.dumps({"type": "candidate", "id": "c1", "candidate": candidate})
    await expect_error(client, bad_candidate, "bad_candidate", "c1")
    await assert_still_usable(client)
    assert await redis_snapshot() == before
    assert "Traceback" not in server.log
