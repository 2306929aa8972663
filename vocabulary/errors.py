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
    NOT_OPEN_YET = "not_open_yet"
    NOT_INVITED = "not_invited"
    QUESTION_NOT_FOUND = "question_not_found"
    ALREADY_VOTED = "already_voted"
    CHAT_OFF = "chat_off"
    CHAT_TOO_SOON = "chat_too_soon"
    MESSAGE_NOT_FOUND = "message_not_found"
    BUSY = "busy"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"
    CLUB_NOT_FOUND = "club_not_found"
    EVENT_NOT_FOUND = "event_not_found"
    INVALID_TIMEZONE = "invalid_timezone"
    UNBOUNDED_RECURRENCE = "unbounded_recurrence"
    TOO_MANY_OCCURRENCES = "too_many_occurrences"
    END_BEFORE_START = "end_before_start"
    NOT_AN_OCCURRENCE = "not_an_occurrence"
    OCCURRENCE_OVER = "occurrence_over"
    INVITE_NOT_FOUND = "invite_not_found"
    INVITE_EXPIRED = "invite_expired"
    INVITE_REVOKED = "invite_revoked"
    INVITE_USED_UP = "invite_used_up"
    WEBHOOK_NOT_FOUND = "webhook_not_found"
    TOO_MANY_WEBHOOKS = "too_many_webhooks"
    RECORDING_NOT_FOUND = "recording_not_found"


class DropinError(Exception):
    """A refusal with a stable code and a message meant for people."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
