"""Who sees which room event: no fanfare for the audience, hands for moderators and their owner."""

from __future__ import annotations

import pytest

from server.rules.roles import Role
from server.rules.visibility import visible_to
from signaling import messages as m

H, M, S, L = Role.HOST, Role.MODERATOR, Role.SPEAKER, Role.LISTENER


def member(role: str, id: str = "x") -> m.MemberView:
    return m.MemberView(id=id, name="X", role=role)


HAND = m.Hand(id="x", name="X", raised_at=0)
INVITATION = m.Invitation(by=m.Person(id="h", name="H"), expires_at=0)

CASES = [
    # (event, viewer id, viewer role, visible)
    (m.MemberJoined(seq=1, member=member("listener")), "y", H, False),
    (m.MemberJoined(seq=1, member=member("speaker")), "y", L, True),
    (m.MemberLeft(seq=1, id="x", role="listener"), "y", M, False),
    (m.MemberLeft(seq=1, id="x", role="moderator"), "y", L, True),
    (m.MemberUpdated(seq=1, member=member("speaker")), "y", L, True),
    (m.HandRaised(seq=1, hand=HAND), "y", L, False),
    (m.HandRaised(seq=1, hand=HAND), "y", S, False),
    (m.HandRaised(seq=1, hand=HAND), "x", L, True),
    (m.HandRaised(seq=1, hand=HAND), "y", M, True),
    (m.HandLowered(seq=1, id="x", reason="dismissed"), "x", L, True),
    (m.HandLowered(seq=1, id="x", reason="dismissed"), "y", L, False),
    (m.Invited(seq=1, id="x", invitation=INVITATION), "y", H, True),
    (m.Invited(seq=1, id="x", invitation=INVITATION), "y", S, False),
    (m.InviteEnded(seq=1, id="x", outcome="lapsed"), "x", L, True),
    (m.MemberRemoved(seq=1, id="x", role="listener"), "y", L, False),
    (m.MemberRemoved(seq=1, id="x", role="listener"), "x", L, True),
    (m.MemberRemoved(seq=1, id="x", role="listener"), "y", M, True),
    (m.MemberRemoved(seq=1, id="x", role="speaker"), "y", L, True),
    (m.HostChanged(seq=1, host=m.Person(id="x", name="X")), "y", L, True),
    (m.RoomEnded(seq=1), "y", L, True),
]


@pytest.mark.parametrize(("event", "viewer", "role", "visible"), CASES)
def test_visibility(event: m.Message, viewer: str, role: Role, visible: bool) -> None:
    assert visible_to(event, viewer, role) is visible
