"""The permission matrix: whether a member in one role may take an action on a member in another.

Actions on a question (ask, upvote, mark answered) count as actions on oneself or the room.

A pure function of (actor role, action, target role); room settings (direct stage moves, unmuting
after a moderator's mute) and the state of hands and invitations are checked by the transition
itself. Documented in docs/protocol.md; every cell is tested in tests/unit/test_permissions.py.
"""

from __future__ import annotations

from enum import StrEnum

from server.rules.roles import Role

HOST, MODERATOR, SPEAKER, LISTENER = Role.HOST, Role.MODERATOR, Role.SPEAKER, Role.LISTENER
MODERATING = frozenset({HOST, MODERATOR})


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


SELF_ACTIONS = frozenset({
    Action.RAISE_HAND, Action.LOWER_HAND, Action.ACCEPT_INVITE, Action.DECLINE_INVITE,
    Action.LEAVE_STAGE, Action.MUTE_SELF, Action.UNMUTE_SELF, Action.MUTE_ALL, Action.END_ROOM,
    Action.ASK, Action.UPVOTE, Action.MARK_ANSWERED,
})
EVERYONE = frozenset(Role)

# Who may act on their own account (or on the whole room): action -> roles.
_SELF: dict[Action, frozenset[Role]] = {
    Action.RAISE_HAND: frozenset({LISTENER}),
    Action.LOWER_HAND: frozenset({LISTENER}),
    Action.ACCEPT_INVITE: frozenset({LISTENER}),
    Action.DECLINE_INVITE: frozenset({LISTENER}),
    Action.LEAVE_STAGE: frozenset({MODERATOR, SPEAKER}),
    Action.MUTE_SELF: frozenset({HOST, MODERATOR, SPEAKER}),
    Action.UNMUTE_SELF: frozenset({HOST, MODERATOR, SPEAKER}),
    Action.MUTE_ALL: MODERATING,
    Action.END_ROOM: frozenset({HOST}),
    Action.ASK: EVERYONE,
    Action.UPVOTE: EVERYONE,
    Action.MARK_ANSWERED: MODERATING,
}

# Who may act on whom: action -> {actor role: target roles}.
_ON_OTHERS: dict[Action, dict[Role, frozenset[Role]]] = {
    Action.DISMISS_HAND: {HOST: frozenset({LISTENER}), MODERATOR: frozenset({LISTENER})},
    Action.INVITE: {HOST: frozenset({LISTENER}), MODERATOR: frozenset({LISTENER})},
    Action.MOVE_TO_STAGE: {HOST: frozenset({LISTENER}), MODERATOR: frozenset({LISTENER})},
    Action.MOVE_TO_AUDIENCE: {HOST: frozenset({MODERATOR, SPEAKER}), MODERATOR: frozenset({SPEAKER})},
    Action.MAKE_MODERATOR: {HOST: frozenset({SPEAKER, LISTENER}), MODERATOR: frozenset({SPEAKER, LISTENER})},
    Action.REMOVE_MODERATOR: {HOST: frozenset({MODERATOR}), MODERATOR: frozenset({MODERATOR})},
    Action.MUTE: {HOST: frozenset({MODERATOR, SPEAKER}), MODERATOR: frozenset({MODERATOR, SPEAKER})},
    Action.REMOVE: {HOST: frozenset({MODERATOR, SPEAKER, LISTENER}), MODERATOR: frozenset({SPEAKER, LISTENER})},
}


def permitted(actor: Role, action: Action, target: Role | None = None) -> bool:
    """Whether `actor` may take `action`; `target` is None for actions on oneself or the room.

    Nobody can act on the host; acting on yourself goes through the self actions only.
    """
    if action in SELF_ACTIONS:
        return target is None and actor in _SELF[action]
    if target is None:
        return False
    return target in _ON_OTHERS[action].get(actor, frozenset())
