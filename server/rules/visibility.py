"""Who sees which room event. Pure: no I/O.

Listeners drop in and out without an event; hands and invitations are for moderators and the
member concerned; a removal is public only if the member was on stage.
"""

from __future__ import annotations

from server.rules.roles import Role, is_on_stage
from signaling import messages as m


def visible_to(event: m.Message, viewer_id: str, viewer_role: Role) -> bool:
    moderating = viewer_role in (Role.HOST, Role.MODERATOR)
    if isinstance(event, m.MemberJoined):
        return is_on_stage(Role(event.member.role))
    if isinstance(event, m.MemberLeft):
        return is_on_stage(Role(event.role))
    if isinstance(event, m.HandRaised):
        return moderating or event.hand.id == viewer_id
    if isinstance(event, (m.HandLowered, m.Invited, m.InviteEnded)):
        return moderating or event.id == viewer_id
    if isinstance(event, m.MemberRemoved):
        return moderating or event.id == viewer_id or is_on_stage(Role(event.role))
    return True  # member_updated, host_changed, room_ended
