"""What a room script's refusal (a Lua error reply naming an error code) means to the member."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from redis.exceptions import ResponseError

from vocabulary.errors import DropinError, ErrorCode

_REFUSALS = {
    "room_not_found": (ErrorCode.ROOM_NOT_FOUND, "there is no such room"),
    "room_ended": (ErrorCode.ROOM_ENDED, "this room has ended"),
    "forbidden": (ErrorCode.FORBIDDEN, "only the room's host can do that"),
    "not_joined": (ErrorCode.NOT_JOINED, "you are not in this room"),
    "not_in_room": (ErrorCode.NOT_IN_ROOM, "that member is not in the room"),
    "hand_already_raised": (ErrorCode.HAND_ALREADY_RAISED, "your hand is already raised"),
    "no_hand": (ErrorCode.NO_HAND, "that hand is not raised"),
    "already_invited": (ErrorCode.ALREADY_INVITED, "there is already an invitation to the stage pending"),
    "no_invitation": (ErrorCode.NO_INVITATION, "there is no invitation to accept or decline"),
    "invitation_lapsed": (ErrorCode.INVITATION_LAPSED, "the invitation has lapsed"),
    "direct_stage_disabled": (
        ErrorCode.DIRECT_STAGE_DISABLED, "this room doesn't allow moving listeners straight to the stage; invite them"
    ),
    "unmute_not_allowed": (ErrorCode.UNMUTE_NOT_ALLOWED, "a moderator muted you, and this room doesn't let you unmute"),
    "not_invited": (ErrorCode.NOT_INVITED, "this room is for invited guests (or the club's members) only"),
    "question_not_found": (ErrorCode.QUESTION_NOT_FOUND, "there is no such question"),
    "already_voted": (ErrorCode.ALREADY_VOTED, "you have already upvoted that question"),
    "chat_off": (ErrorCode.CHAT_OFF, "a moderator has turned the room's chat off"),
    "message_not_found": (ErrorCode.MESSAGE_NOT_FOUND, "there is no such message in this room's chat"),
}



def refused(error: ResponseError) -> DropinError:
    """The refusal a room script replied with, in words; `code:argument` where it needs a time."""
    text = str(error)
    if text.startswith("not_open_yet:"):
        opens = datetime.fromtimestamp(float(text.split(":", 1)[1]), UTC).strftime("%H:%M UTC")
        return DropinError(ErrorCode.NOT_OPEN_YET, f"this room opens to everyone at {opens}")
    if text.startswith("banned:"):
        until = float(text.split(":", 1)[1])
        if until == 0:
            return DropinError(ErrorCode.BANNED, "you were removed from this room and can't rejoin it")
        when = datetime.fromtimestamp(until, UTC).strftime("%H:%M UTC")
        return DropinError(ErrorCode.BANNED, f"you were removed from this room and can rejoin after {when}")
    if text.startswith("chat_too_soon:"):
        wait = max(1, math.ceil(float(text.split(":", 1)[1])))
        return DropinError(ErrorCode.CHAT_TOO_SOON, f"too soon after your last message: you can post again in {wait} s")
    code, message = _REFUSALS.get(text, (ErrorCode.INTERNAL, text))
    return DropinError(code, message)


