"""Stable error codes shared by the websocket protocol and the REST API."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    BAD_JSON = "bad_json"
    INVALID_MESSAGE = "invalid_message"
    UNKNOWN_TYPE = "unknown_type"
    UNSUPPORTED_VERSION = "unsupported_version"
    MESSAGE_TOO_LARGE = "message_too_large"
    RATE_LIMITED = "rate_limited"
    NOT_JOINED = "not_joined"
    ALREADY_JOINED = "already_joined"
    NOT_FOUND = "not_found"
    ROOM_NOT_FOUND = "room_not_found"
    ROOM_ENDED = "room_ended"
    UNAUTHORIZED = "unauthorized"
    TOKEN_EXPIRED = "token_expired"
    FORBIDDEN = "forbidden"
    BAD_SDP = "bad_sdp"
    SDP_TOO_LARGE = "sdp_too_large"
    BAD_CANDIDATE = "bad_candidate"
    NO_OFFER = "no_offer"
    SESSION_REPLACED = "session_replaced"
    NOT_IN_ROOM = "not_in_room"
    CANNOT_TARGET_SELF = "cannot_target_self"
    HAND_ALREADY_RAISED = "hand_already_raised"
    NO_HAND = "no_hand"
    ALREADY_INVITED = "already_invited"
    NO_INVITATION = "no_invitation"
    INVITATION_LAPSED = "invitation_lapsed"
    DIRECT_STAGE_DISABLED = "direct_stage_disabled"
    UNMUTE_NOT_ALLOWED = "unmute_not_allowed"
    BANNED = "banned"
    CONFLICT = "conflict"
    INTERNAL = "internal"


class DropinError(Exception):
    """A refusal with a stable code and a message meant for people."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
