"""Who sees which room event. Pure: no I/O.

Listeners drop in and out without an event; hands, invitations and connection quality are for
moderators and the member concerned; a removal is public only if the member was on stage.
"""

from __future__ import annotations

from server.domain import events as e
from server.domain.room import Role
from server.rules.permissions import MODERATING
from server.rules.roles import is_on_stage


def visible_to(event: e.RoomEvent, viewer_id: str, viewer_role: Role) -> bool:
    moderating = viewer_role in MODERATING
    match event:
        case e.MemberJoined(member=member):
            return is_on_stage(member.role)
        case e.MemberLeft(role=role):
            return is_on_stage(role)
        case e.HandRaised(hand=hand):
            return moderating or hand.id == viewer_id
        case e.HandLowered(id=id) | e.Invited(id=id) | e.InviteEnded(id=id) | e.QualityChanged(id=id):
            return moderating or id == viewer_id
        case e.MemberRemoved(id=id, role=role):
            return moderating or id == viewer_id or is_on_stage(role)
    return True  # member_updated, questions, host_changed, room_ended
