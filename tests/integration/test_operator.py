"""The operator's commands (`dropin rooms`, `ban`, `token`) against a running node's Redis and secret."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from server import operator
from server.state.redis_server import RedisServer, private_socket
from signaling.client import RequestFailed
from support import Member


@pytest.fixture
def dropin(server, monkeypatch, capsys):
    """`dropin ARGS...` run in-process against the server's Redis and data directory; returns
    (exit status, stdout, stderr). A coroutine: the command runs its own event loop in a thread."""
    monkeypatch.setenv("REDIS_URL", server.redis_url)
    monkeypatch.delenv("DROPIN_SECRET", raising=False)
    monkeypatch.setenv("DROPIN_HOST_GRACE_S", "2")  # as the server's (support.serving)

    async def run(*args: str, data_dir: Path = server.data_dir) -> tuple[int, str, str]:
        command, *rest = args
        status = await asyncio.to_thread(operator.main, [command, "--data-dir", str(data_dir), *rest])
        out, err = capsys.readouterr()
        return status, out, err

    return run


@pytest.fixture
async def room(server):
    """A live room with its host and a listener, Ada, both connected."""
    host_token = server.identity("Host")
    room_id = server.create_room(host_token, title="Night shift")
    host = await Member.enter(server.ws_url, room_id, host_token)
    ada_token = server.identity("Ada")
    ada = await Member.enter(server.ws_url, room_id, ada_token)
    yield room_id, host, ada, ada_token
    for member in (host, ada):
        await member.client.close()


async def test_rooms_lists_the_live_rooms_with_their_members_by_role(dropin, room) -> None:
    room_id, host, ada, _ = room
    status, out, err = await dropin("rooms")
    assert status == 0 and not err
    header, line = out.splitlines()
    assert header.split() == ["ID", "TITLE", "HOST", "MEMBERS", "STARTED"]
    assert line.startswith(room_id) and "Night shift" in line and f"Host ({host.id})" in line
    assert "1 host, 1 listener" in line

    status, out, _ = await dropin("rooms", "list", "--json")
    [listed] = json.loads(out)
    assert status == 0 and listed["id"] == room_id and listed["title"] == "Night shift"
    assert listed["host"] == {"id": host.id, "name": "Host"}
    assert listed["members"] == {"host": 1, "moderator": 0, "speaker": 0, "listener": 1}


async def test_rooms_end_ends_the_room_for_everyone(server, dropin, room) -> None:
    room_id, host, ada, _ = room
    status, out, _ = await dropin("rooms", "end", room_id)
    assert status == 0 and out.strip() == f"ended {room_id} (Night shift)"
    await ada.expect("room_ended")
    await host.expect("room_ended")
    assert server.room(room_id)["status"] == "ended"
    assert (await dropin("rooms"))[1].strip() == "no live rooms"

    status, out, err = await dropin("rooms", "end", room_id)
    assert (status, out, err) == (2, "", f"dropin: room {room_id} has ended\n")


async def test_ban_removes_a_listener_and_keeps_them_out(server, dropin, room) -> None:
    room_id, host, ada, ada_token = room
    status, out, _ = await dropin("ban", room_id, ada.id)
    assert status == 0 and out.strip() == f"removed and banned {ada.id} for the rest of the room"
    removed = await ada.expect("member_removed")
    assert removed.id == ada.id and removed.banned_for_room
    assert (await host.expect("member_removed")).id == ada.id
    with pytest.raises(RequestFailed) as refused:
        await Member.enter(server.ws_url, room_id, ada_token)
    assert refused.value.code == "banned"

    bo_token = server.identity("Bo")
    bo_id = httpx.get(f"{server.base_url}/api/me", headers={"Authorization": f"Bearer {bo_token}"}).json()["id"]
    status, out, _ = await dropin("ban", room_id, bo_id, "--minutes", "30")
    assert status == 0 and out.strip() == f"banned {bo_id} for 30 minutes"  # not in the room: kept out
    with pytest.raises(RequestFailed) as refused:
        await Member.enter(server.ws_url, room_id, bo_token)
    assert refused.value.code == "banned" and "can rejoin after" in refused.value.message


async def test_token_is_accepted_by_the_server(server, dropin) -> None:
    status, out, err = await dropin("token", "Release bot", "--ttl", "600")
    token = out.strip()
    assert status == 0 and out == token + "\n" and token.count(".") == 2
    me = httpx.get(f"{server.base_url}/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["name"] == "Release bot" and err.startswith(f"identity {me['id']} (Release bot)")
    room_id = server.create_room(token, title="Built by a bot")
    bot = await Member.enter(server.ws_url, room_id, token)
    assert bot.welcome.you.role == "host"
    await bot.client.close()


async def test_errors_are_one_line_and_exit_2(server, dropin, monkeypatch, tmp_path) -> None:
    for args, message in [
        (("rooms", "end", "nope"), "no room nope"),
        (("ban", "nope", "someone"), "no room nope"),
        (("rooms", "end", "--", "-older"), "no room -older"),  # an id from before ids stopped starting with '-'
        (("ban", "--", "-older", "someone"), "no room -older"),
        (("rooms", "end"), "`dropin rooms end` needs a ROOM_ID"),
        (("token", "  "), "invalid NAME: String should have at least 1 character"),
    ]:
        assert await dropin(*args) == (2, "", f"dropin: {message}\n")

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    assert await dropin("rooms") == (2, "", "dropin: no Redis at redis://127.0.0.1:1/0; "
                                     "start `dropin serve` or set REDIS_URL\n")
    monkeypatch.delenv("REDIS_URL")
    socket = tmp_path / "elsewhere" / "redis" / "redis.sock"
    assert await dropin("rooms", data_dir=tmp_path / "elsewhere") == (
        2, "", f"dropin: no Redis at unix://{socket}; start `dropin serve` or set REDIS_URL\n"
    )
    assert await dropin("token", "Bot", data_dir=tmp_path) == (
        2, "", f"dropin: no secret in {tmp_path}: set DROPIN_SECRET, or --data-dir to the nodes'\n"
    )


async def test_banning_the_host_hands_the_room_on_as_their_leaving_would(dropin, room) -> None:
    room_id, host, ada, _ = room
    status, out, _ = await dropin("ban", room_id, host.id, "--minutes", "5")
    assert status == 0 and out.strip() == f"removed and banned {host.id} for 5 minutes"
    removed = await ada.expect("member_removed")
    assert removed.id == host.id and removed.role == "host" and removed.banned_until
    await ada.expect("room_ended", timeout=10)  # no moderator to hand on to; host grace is 2 s in tests


async def test_without_redis_url_the_data_directorys_own_redis_is_used(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("DROPIN_REDIS_URL", raising=False)
    with RedisServer(private_socket(tmp_path).parent):
        assert await asyncio.to_thread(operator.main, ["rooms", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr() == ("no live rooms\n", "")
