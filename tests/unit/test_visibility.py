"""Who sees which room event: no fanfare for the audience, hands for moderators and their owner."""

from __future__ import annotations

import pytest

from server.domain import events as e
from server.domain.room import Hand, Identity, Invitation, Member, Role
from server.rules.visibility import visible_to

H, M, S, L = Role.HOST, Role.MODERATOR, Role.SPEAKER, Role.LISTENER


def member(role: Role, id: str = "x") -> Member:
    return Member(id=id, name="X", role=role)


HAND = Hand(id="x", name="X", raised_at=0)
INVITATION = Invitation(by=Identity(id="h", name="H"), expires_at=0)

CASES = [
    # (event, viewer id, viewer role, visible)
    (e.MemberJoined(seq=1, member=member(L)), "y", H, False),
    (e.MemberJoined(seq=1, member=member(S)), "y", L, True),
    (e.MemberLeft(seq=1, id="x", role=L), "y", M, False),
    (e.MemberLeft(seq=1, id="x", role=M), "y", L, True),
    (e.MemberUpdated(seq=1, member=member(S)), "y", L, True),
    (e.HandRaised(seq=1, hand=HAND), "y", L, False),
    (e.HandRaised(seq=1, hand=HAND), "y", S, False),
    (e.HandRaised(seq=1, hand=HAND), "x", L, True),
    (e.HandRaised(seq=1, hand=HAND), "y", M, True),
    (e.HandLowered(seq=1, id="x", reason="dismissed"), "x", L, True),
    (e.HandLowered(seq=1, id="x", reason="dismissed"), "y", L, False),
    (e.Invited(seq=1, id="x", invitation=INVITATION), "y", H, True),
    (e.Invited(seq=1, id="x", invitation=INVITATION), "y", S, False),
    (e.InviteEnded(seq=1, id="x", outcome="lapsed"), "x", L, True),
    (e.MemberRemoved(seq=1, id="x", role=L), "y", L, False),
    (e.MemberRemoved(seq=1, id="x", role=L), "x", L, True),
    (e.MemberRemoved(seq=1, id="x", role=L), "y", M, True),
    (e.MemberRemoved(seq=1, id="x", role=S), "y", L, True),
    (e.HostChanged(seq=1, host=Identity(id="x", name="X")), "y", L, True),
    (e.RoomEnded(seq=1), "y", L, True),
]


@pytest.mark.parametrize(("event", "viewer", "role", "visible"), CASES)
def test_visibility(event: e.RoomEvent, viewer: str, role: Role, visible: bool) -> None:
    assert visible_to(event, viewer, role) is visible
