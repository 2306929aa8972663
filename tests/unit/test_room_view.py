"""RoomView: a snapshot plus later events, applied once each, in order."""

from __future__ import annotations

from signaling import messages as m
from signaling.view import RoomView

HOST = m.MemberView(id="h", name="Host", role="host")
SETTINGS = m.RoomSettings(allow_direct_stage=False, speakers_may_unmute=True, invite_ttl_s=60, slots=3)


def welcome(role: str = "listener", seq: int = 10) -> m.Welcome:
    return m.Welcome(
        room=m.RoomInfo(id="r", title="T", description="", host=m.Person(id="h", name="Host"), status="live",
                        created_at="2026-01-01T00:00:00+00:00", settings=SETTINGS),
        you=m.You(id="me", name="Me", role=role),
        stage=[HOST],
        audience=m.Audience(count=1),
        hands=[],
        slots=3,
        slot_holders=[],
        ice_servers=[],
        seq=seq,
    )


def test_events_in_the_snapshot_are_ignored_and_later_ones_applied() -> None:
    view = RoomView.from_welcome(welcome(seq=10))
    view.apply(m.MemberLeft(seq=10, id="h", role="host"))  # already reflected in the snapshot
    assert "h" in view.stage
    view.apply(m.Invited(seq=11, id="me", invitation=m.Invitation(by=m.Person(id="h", name="Host"), expires_at=5)))
    view.apply(m.InviteEnded(seq=12, id="me", outcome="accepted"))
    view.apply(m.MemberUpdated(seq=13, member=m.MemberView(id="me", name="Me", role="speaker")))
    assert view.you.role == "speaker" and view.you.invitation is None
    assert list(view.stage) == ["h", "me"]
    view.apply(m.MemberUpdated(seq=14, member=m.MemberView(id="me", name="Me", role="listener")))
    assert list(view.stage) == ["h"]
    assert view.seq == 14


def test_a_listener_keeps_only_their_own_hand_and_a_moderator_gets_the_queue() -> None:
    view = RoomView.from_welcome(welcome())
    view.apply(m.HandRaised(seq=11, hand=m.Hand(id="other", name="O", raised_at=1)))
    view.apply(m.HandRaised(seq=12, hand=m.Hand(id="me", name="Me", raised_at=2)))
    assert list(view.hands) == ["me"] and view.you.hand_raised
    view.apply(m.HandsEvent(hands=[m.Hand(id="other", name="O", raised_at=1)]))
    assert list(view.hands) == ["other"]


def test_removal_and_the_end() -> None:
    view = RoomView.from_welcome(welcome())
    view.apply(m.MemberRemoved(seq=11, id="me", role="listener", banned_for_room=True))
    assert view.removed
    view.apply(m.HostChanged(seq=12, host=m.Person(id="x", name="X")))
    assert view.host.name == "X"
    view.apply(m.RoomEnded(seq=13))
    assert view.ended
