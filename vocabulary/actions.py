"""The room actions a member may request, each named once, with what each is about.

Everything else that lists actions is checked against this table (tests/unit/test_actions.py):
the permission matrix (server/rules/permissions.py), the request messages
(signaling/messages.py), the Lua dispatch (server/state/lua/act.lua) and the page's copy of the
matrix (web/js/matrix.js, generated from it).
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    RAISE_HAND = "raise_hand"
    LOWER_HAND = "lower_hand"
    ACCEPT_INVITE = "accept_invite"
    DECLINE_INVITE = "decline_invite"
    LEAVE_STAGE = "leave_stage"
    MUTE_SELF = "mute_self"
    UNMUTE_SELF = "unmute_self"
    MUTE_ALL = "mute_all"
    END_ROOM = "end_room"
    DISMISS_HAND = "dismiss_hand"
    INVITE = "invite"
    MOVE_TO_STAGE = "move_to_stage"
    MOVE_TO_AUDIENCE = "move_to_audience"
    MAKE_MODERATOR = "make_moderator"
    REMOVE_MODERATOR = "remove_moderator"
    MUTE = "mute"
    REMOVE = "remove"
    ASK = "ask"
    UPVOTE = "upvote"
    MARK_ANSWERED = "mark_answered"
    CHAT = "chat"
    DELETE_MESSAGE = "delete_message"
    SET_CHAT = "set_chat"
    SET_RECORDING = "set_recording"


class Subject(StrEnum):
    """What an action is about, and so what its request names besides its type."""

    ROOM = "room"  # the member who asks, or the whole room: nothing more
    MEMBER = "member"  # another member: `target`
    QUESTION = "question"  # a question on the list: `question`
    TEXT = "text"  # something the member writes: `text`
    MESSAGE = "message"  # a message in the room's chat: `message`
    CHAT = "chat"  # the room's chat: `enabled` and `slow_s`
    RECORDING = "recording"  # recording the room: `on`


SUBJECTS: dict[Action, Subject] = {
    Action.RAISE_HAND: Subject.ROOM,
    Action.LOWER_HAND: Subject.ROOM,
    Action.ACCEPT_INVITE: Subject.ROOM,
    Action.DECLINE_INVITE: Subject.ROOM,
    Action.LEAVE_STAGE: Subject.ROOM,
    Action.MUTE_SELF: Subject.ROOM,
    Action.UNMUTE_SELF: Subject.ROOM,
    Action.MUTE_ALL: Subject.ROOM,
    Action.END_ROOM: Subject.ROOM,
    Action.DISMISS_HAND: Subject.MEMBER,
    Action.INVITE: Subject.MEMBER,
    Action.MOVE_TO_STAGE: Subject.MEMBER,
    Action.MOVE_TO_AUDIENCE: Subject.MEMBER,
    Action.MAKE_MODERATOR: Subject.MEMBER,
    Action.REMOVE_MODERATOR: Subject.MEMBER,
    Action.MUTE: Subject.MEMBER,
    Action.REMOVE: Subject.MEMBER,
    Action.ASK: Subject.TEXT,
    Action.UPVOTE: Subject.QUESTION,
    Action.MARK_ANSWERED: Subject.QUESTION,
    Action.CHAT: Subject.TEXT,
    Action.DELETE_MESSAGE: Subject.MESSAGE,
    Action.SET_CHAT: Subject.CHAT,
    Action.SET_RECORDING: Subject.RECORDING,
}


def about(subject: Subject) -> tuple[str, ...]:
    """The names of the actions about `subject`, in table order."""
    return tuple(action.value for action, of in SUBJECTS.items() if of is subject)
