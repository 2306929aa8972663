"""The one translator from the room's domain types (server/domain/) to the protocol's messages
(signaling/messages.py). Nothing else builds a wire message out of a stored room, so the
protocol can change here without touching what Redis holds."""

from __future__ import annotations

from dataclasses import asdict

from server.domain import events as e
from server.domain.room import (
    ChatMessage,
    ChatState,
    Hand,
    Identity,
    Invitation,
    Member,
    Question,
    Room,
    RoomSettings,
    Snapshot,
)
from signaling import messages as m


def person(identity: Identity) -> m.Person:
    return m.Person(id=identity.id, name=identity.name)


def member_view(member: Member) -> m.MemberView:
    return m.MemberView(id=member.id, name=member.name, role=member.role.value, muted=member.muted,
                        muted_by=member.muted_by)


def hand(raised: Hand) -> m.Hand:
    return m.Hand(id=raised.id, name=raised.name, raised_at=m.timestamp(raised.raised_at))


def invitation(invited: Invitation) -> m.Invitation:
    return m.Invitation(by=person(invited.by), expires_at=m.timestamp(invited.expires_at))


def question(asked: Question) -> m.Question:
    return m.Question(id=asked.id, by=person(asked.by), text=asked.text, votes=asked.votes,
                      answered=asked.answered, asked_at=m.timestamp(asked.asked_at))


def chat_message(posted: ChatMessage) -> m.ChatMessage:
    return m.ChatMessage(id=posted.id, by=person(posted.by), text=posted.text, at=m.timestamp(posted.at))


def chat_state(state: ChatState) -> m.ChatState:
    return m.ChatState(enabled=state.enabled, slow_s=state.slow_s)


def settings(room: RoomSettings) -> m.RoomSettings:
    return m.RoomSettings(**asdict(room))


def event_ref(room: Room) -> m.EventRef | None:
    """The scheduled event and occurrence the room was opened for, if any."""
    return m.EventRef(id=room.event_id, date=room.occurrence) if room.event_id else None


def room_info(room: Room) -> m.RoomInfo:
    return m.RoomInfo(
        id=room.id,
        title=room.title,
        description=room.description,
        host=person(room.host),
        status=room.status,
        created_at=m.timestamp(room.created_at),
        ended_at=m.timestamp(room.ended_at) if room.ended_at is not None else None,
        settings=settings(room.settings),
        visibility=room.visibility,
        club_id=room.club_id,
        event=event_ref(room),
        recording=room.recording,
    )


def you(snapshot: Snapshot) -> m.You:
    return m.You(
        **dict(member_view(snapshot.you)),
        hand_raised=snapshot.hand_raised,
        invitation=invitation(snapshot.invitation) if snapshot.invitation else None,
    )


def link(measured: e.Link) -> m.Link:
    return m.Link(**asdict(measured))


def quality(measured: e.Quality) -> m.Quality:
    return m.Quality(
        level=measured.level,
        down=link(measured.down) if measured.down is not None else None,
        up=link(measured.up) if measured.up is not None else None,
        rtt_ms=measured.rtt_ms,
    )


def event(logged: e.RoomEvent) -> m.RoomEvent:
    """The room event as members are sent it."""
    match logged:
        case e.MemberJoined(seq=seq, member=member):
            return m.MemberJoined(seq=seq, member=member_view(member))
        case e.MemberLeft(seq=seq, id=id, role=role):
            return m.MemberLeft(seq=seq, id=id, role=role.value)
        case e.MemberUpdated(seq=seq, member=member):
            return m.MemberUpdated(seq=seq, member=member_view(member))
        case e.HandRaised(seq=seq, hand=raised):
            return m.HandRaised(seq=seq, hand=hand(raised))
        case e.HandLowered(seq=seq, id=id, reason=reason):
            return m.HandLowered(seq=seq, id=id, reason=reason)
        case e.Invited(seq=seq, id=id, invitation=invited):
            return m.Invited(seq=seq, id=id, invitation=invitation(invited))
        case e.InviteEnded(seq=seq, id=id, outcome=outcome):
            return m.InviteEnded(seq=seq, id=id, outcome=outcome)
        case e.MemberRemoved(seq=seq, id=id, role=role, banned_until=until, banned_for_room=for_room):
            return m.MemberRemoved(seq=seq, id=id, role=role.value, banned_for_room=for_room,
                                   banned_until=m.timestamp(until) if until is not None else None)
        case e.QuestionAsked(seq=seq, question=asked):
            return m.QuestionAsked(seq=seq, question=question(asked))
        case e.QuestionUpdated(seq=seq, question=asked):
            return m.QuestionUpdated(seq=seq, question=question(asked))
        case e.ChatPosted(seq=seq, message=posted):
            return m.ChatPosted(seq=seq, message=chat_message(posted))
        case e.ChatDeleted(seq=seq, id=id, by=by):
            return m.ChatDeleted(seq=seq, id=id, by=person(by))
        case e.ChatHidden(seq=seq, id=id, by=by):
            return m.ChatHidden(seq=seq, id=id, by=person(by))
        case e.ChatChanged(seq=seq, chat=state):
            return m.ChatChanged(seq=seq, chat=chat_state(state))
        case e.RecordingChanged(seq=seq, recording=recording):
            return m.RecordingChanged(seq=seq, recording=recording)
        case e.Reactions(seq=seq, counts=counts):
            return m.Reactions(seq=seq, counts=counts)  # type: ignore[arg-type]  # the kinds were checked on the way in
        case e.HostChanged(seq=seq, host=host):
            return m.HostChanged(seq=seq, host=person(host))
        case e.RoomEnded(seq=seq):
            return m.RoomEnded(seq=seq)
        case e.QualityChanged(seq=seq, id=id, quality=measured):
            return m.QualityChanged(seq=seq, id=id, quality=quality(measured))
    raise AssertionError(f"no wire form for {logged!r}")
