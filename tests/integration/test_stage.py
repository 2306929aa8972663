"""Stage and audience over the websocket, against a real server and Redis: hands, invitations,
moderation, removal and bans, host hand-off, and reconnecting with the last sequence number."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from signaling.client import RequestFailed
from support import Member


def create_room(server, token: str, **settings: bool) -> str:
    reply = httpx.post(
        f"{server.base_url}/api/rooms",
        json={"title": "Burning questions", "settings": settings},
        headers={"Authorization": f"Bearer {token}"},
    )
    reply.raise_for_status()
    return reply.json()["id"]


@pytest.fixture
async def room(server):
    """A room with its host and two listeners, Ada and Bo."""
    host_token = server.identity("Host")
    room_id = create_room(server, host_token)
    host = await Member.enter(server.ws_url, room_id, host_token)
    ada = await Member.enter(server.ws_url, room_id, server.identity("Ada"))
    bo = await Member.enter(server.ws_url, room_id, server.identity("Bo"))
    yield room_id, host, ada, bo
    for member in (host, ada, bo):
        await member.client.close()


async def refused(member: Member, code: str, action: str, **fields: object) -> None:
    with pytest.raises(RequestFailed) as error:
        await member.act(action, **fields)
    assert error.value.code == code, error.value.message


async def test_hand_invite_accept_brings_a_listener_on_stage(room) -> None:
    room_id, host, ada, bo = room
    await ada.act("raise_hand")
    raised = await host.expect("hand_raised")
    assert raised.hand.name == "Ada"
    await ada.expect("hand_raised")
    await refused(ada, "hand_already_raised", "raise_hand")

    await host.act("invite", target=ada.id)
    assert (await ada.expect("invited")).invitation.by.name == "Host"
    assert ada.view.you.invitation is not None and not ada.view.you.hand_raised
    await ada.act("accept_invite")
    update = await bo.expect("member_updated")
    assert (update.member.name, update.member.role) == ("Ada", "speaker")
    assert update.member.muted, "an accepted invitation brings the speaker on stage muted"
    await ada.act("unmute_self")
    assert not (await bo.expect("member_updated")).member.muted
    await host.settle()
    await bo.settle()
    assert host.view.hands == {}
    assert [s.name for s in bo.view.stage.values()] == ["Host", "Ada"]
    # Bo never heard about the hand or the invitation: no fanfare for the audience.
    assert bo.view.hands == {}


async def test_declining_and_lapsing_invitations(room) -> None:
    room_id, host, ada, bo = room
    await host.act("invite", target=ada.id)
    await refused(host, "already_invited", "invite", target=ada.id)
    await ada.act("decline_invite")
    assert (await host.expect("invite_ended")).outcome == "declined"
    await refused(ada, "no_invitation", "accept_invite")

    await host.act("invite", target=bo.id)
    assert (await bo.expect("invite_ended", timeout=10)).outcome == "lapsed"  # invitations last 5 s in tests
    await refused(bo, "no_invitation", "accept_invite")


async def test_listeners_cannot_moderate_and_nothing_changes(room, redis_snapshot) -> None:
    room_id, host, ada, bo = room
    await ada.act("raise_hand")
    await host.settle()
    before = await redis_snapshot()
    await refused(bo, "forbidden", "dismiss_hand", target=ada.id)
    await refused(bo, "forbidden", "invite", target=ada.id)
    await refused(bo, "forbidden", "mute", target=host.id)
    await refused(bo, "forbidden", "remove", target=ada.id)
    await refused(bo, "forbidden", "mute_all")
    await refused(bo, "forbidden", "end_room")
    await refused(bo, "not_in_room", "invite", target="nobody")
    await refused(host, "cannot_target_self", "mute", target=host.id)
    await refused(host, "direct_stage_disabled", "move_to_stage", target=bo.id)
    assert await redis_snapshot() == before


async def test_moderators_mute_move_and_cannot_touch_the_host(server) -> None:
    host_token = server.identity("Host")
    room_id = create_room(server, host_token, allow_direct_stage=True, speakers_may_unmute=False)
    host = await Member.enter(server.ws_url, room_id, host_token)
    mo = await Member.enter(server.ws_url, room_id, server.identity("Mo"))
    ada = await Member.enter(server.ws_url, room_id, server.identity("Ada"))
    await host.act("make_moderator", target=mo.id)
    assert (await mo.expect("hands")).hands == []  # a new moderator gets the hand queue
    await mo.act("move_to_stage", target=ada.id)
    await ada.until(lambda view: view.you.role == "speaker")

    await refused(mo, "forbidden", "mute", target=host.id)
    await refused(mo, "forbidden", "move_to_audience", target=host.id)
    await refused(mo, "forbidden", "remove", target=host.id)

    await mo.act("mute", target=ada.id)
    await ada.until(lambda view: view.you.muted)
    assert ada.view.you.muted_by == "moderator"
    await refused(ada, "unmute_not_allowed", "unmute_self")

    await mo.act("mute_all")
    await host.settle()
    assert not host.view.stage[host.id].muted, "a moderator's 'mute all' spares the host"
    assert host.view.stage[mo.id].muted is False, "and the moderator themselves"

    await mo.act("move_to_audience", target=ada.id)
    await ada.until(lambda view: view.you.role == "listener")
    assert not ada.view.you.muted
    await mo.act("leave_stage")
    await host.settle()
    assert [s.name for s in host.view.stage.values()] == ["Host"]
    for member in (host, mo, ada):
        await member.client.close()


async def test_removed_and_banned_members_cannot_come_back(server, room) -> None:
    room_id, host, ada, bo = room
    ada_token = server.identity("Ada again")
    ada2 = await Member.enter(server.ws_url, room_id, ada_token)
    await host.act("remove", target=ada2.id, ban="room")
    removed = await ada2.expect("member_removed")
    assert removed.banned_for_room
    await ada2.client.wait_closed()
    with pytest.raises(RequestFailed) as error:
        await Member.enter(server.ws_url, room_id, ada_token)
    assert error.value.code == "banned"

    await host.act("remove", target=bo.id, ban="timed", ban_minutes=30)
    assert (await bo.expect("member_removed")).banned_until
    assert server.room(room_id)["listeners"] == 1  # only Ada is left


async def test_a_flood_of_hand_raises_is_refused_without_touching_anyone_else(room) -> None:
    room_id, host, ada, bo = room
    results = await asyncio.gather(
        *(ada.act("raise_hand" if i % 2 == 0 else "lower_hand") for i in range(30)), return_exceptions=True
    )
    codes = {r.code for r in results if isinstance(r, RequestFailed)}
    assert "rate_limited" in codes
    await host.settle()
    assert len([e for e in results if not isinstance(e, Exception)]) <= 11
    # Bo is unaffected: his own actions go through at once.
    await bo.act("raise_hand")
    assert (await host.expect("hand_raised")).hand.name == "Bo"


async def test_the_host_role_passes_to_the_longest_serving_moderator(server) -> None:
    host_token = server.identity("Host")
    room_id = create_room(server, host_token)
    host = await Member.enter(server.ws_url, room_id, host_token)
    first = await Member.enter(server.ws_url, room_id, server.identity("First"))
    second = await Member.enter(server.ws_url, room_id, server.identity("Second"))
    await host.act("make_moderator", target=first.id)
    await host.act("make_moderator", target=second.id)
    await host.act("leave")
    changed = await second.expect("host_changed")
    assert changed.host.name == "First"
    assert server.room(room_id)["host"]["name"] == "First"
    await first.until(lambda view: view.you.role == "host")
    await first.act("end_room")
    await second.expect("room_ended")
    for member in (first, second):
        await member.client.close()


async def test_a_room_whose_host_leaves_with_no_moderator_ends_after_a_grace(server) -> None:
    host_token = server.identity("Host")
    room_id = create_room(server, host_token)
    host = await Member.enter(server.ws_url, room_id, host_token)
    bo = await Member.enter(server.ws_url, room_id, server.identity("Bo"))
    await host.act("leave")
    await bo.expect("member_left")
    assert server.room(room_id)["status"] == "live"
    await bo.expect("room_ended", timeout=10)  # host grace is 2 s in tests
    assert server.room(room_id)["status"] == "ended"


async def test_a_reconnect_with_the_last_seq_ends_with_the_same_view(server, room) -> None:
    room_id, host, ada, bo = room
    bo_token = server.identity("Bo speaks")
    speaker = await Member.enter(server.ws_url, room_id, bo_token)
    await speaker.act("raise_hand")
    await host.act("invite", target=speaker.id)
    await speaker.act("accept_invite")
    await speaker.until(lambda view: view.you.role == "speaker")
    last_seq = speaker.view.seq

    await speaker.client.close()  # the network drops; the server keeps the place for a while
    await ada.act("raise_hand")
    await host.act("invite", target=ada.id)
    await ada.act("accept_invite")
    await host.act("mute", target=ada.id)
    await bo.settle()

    back = await Member.enter(server.ws_url, room_id, bo_token, last_seq=last_seq)
    assert back.welcome.resumed
    assert back.welcome.you.role == "speaker", "a reconnect keeps the member's role"
    resumed = speaker.view
    for event in back.welcome.missed:
        resumed.apply(event)
    assert resumed.seq == back.welcome.seq
    assert resumed.stage == back.view.stage
    assert resumed.stage == bo.view.stage, "the same view as a client that never dropped"
    assert [s.name for s in resumed.stage.values()] == ["Host", "Bo speaks", "Ada"]
    assert resumed.stage[ada.id].muted
    await back.client.close()


async def test_a_client_too_far_behind_gets_a_snapshot(server, room) -> None:
    room_id, host, ada, bo = room
    token = server.identity("Late")
    late = await Member.enter(server.ws_url, room_id, token)
    assert late.welcome.resumed is False
    again = await Member.enter(server.ws_url, room_id, token, last_seq=0)
    assert again.welcome.resumed is True  # the whole log is still there
    # only the host's arrival is visible to a listener
    assert [e.type for e in again.welcome.missed] == ["member_joined"]
    await again.client.close()


async def test_the_welcome_shows_the_stage_audience_and_to_moderators_the_hands(server, room) -> None:
    room_id, host, ada, bo = room
    cy_token, mo_token = server.identity("Cy"), server.identity("Mo")
    cy = await Member.enter(server.ws_url, room_id, cy_token)
    await cy.act("raise_hand")
    await host.expect("hand_raised")
    mo = await Member.enter(server.ws_url, room_id, mo_token)
    await host.act("make_moderator", target=mo.id)
    await mo.until(lambda view: view.you.role == "moderator")
    await mo.client.close()
    await cy.client.close()
    # Both come back: what the welcome alone tells each of them
    mo = await Member.enter(server.ws_url, room_id, mo_token)
    cy = await Member.enter(server.ws_url, room_id, cy_token)
    try:
        for welcome in (mo.welcome, cy.welcome):
            assert sorted(member.name for member in welcome.stage) == ["Host", "Mo"]
            assert welcome.audience.count == 3
            assert sorted(person.name for person in welcome.audience.names) == ["Ada", "Bo", "Cy"]
        assert [hand.name for hand in mo.welcome.hands] == ["Cy"], "a moderator's welcome has the hands"
        assert cy.welcome.hands == [], "a listener's has none"
        assert cy.welcome.you.hand_raised and not mo.welcome.you.hand_raised
    finally:
        for member in (mo, cy):
            await member.client.close()
