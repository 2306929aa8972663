"""The permission matrix: whether a member in one role may take an action on a member in another.

Actions on a question (ask, upvote, mark answered) or on the chat (post, delete a message, turn it
off or slow it down) count as actions on oneself or the room: every
action not about another member (vocabulary/actions.py) is in `_SELF`, every one that is in
`_ON_OTHERS` (tests/unit/test_actions.py checks both).

A pure function of (actor role, action, target role); room settings (direct stage moves, unmuting
after a moderator's mute) and the state of hands and invitations are checked by the transition
itself. Documented in docs/protocol.md; every cell is tested in tests/unit/test_permissions.py.
"""

from __future__ import annotations

import json

from server.domain.room import Role
from vocabulary.actions import SUBJECTS, Action, Subject

HOST, MODERATOR, SPEAKER, LISTENER = Role.HOST, Role.MODERATOR, Role.SPEAKER, Role.LISTENER
MODERATING = frozenset({HOST, MODERATOR})

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
    Action.CHAT: EVERYONE,
    Action.DELETE_MESSAGE: MODERATING,
    Action.SET_CHAT: MODERATING,
    Action.SET_RECORDING: frozenset({HOST}),
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
    if SUBJECTS[action] is not Subject.MEMBER:
        return target is None and actor in _SELF[action]
    if target is None:
        return False
    return target in _ON_OTHERS[action].get(actor, frozenset())


def matrix() -> dict[str, dict[str, object]]:
    """The whole matrix as plain data (for the page: web/js/matrix.js is made from it).

    `self`: action -> roles that may take it; `on_others`: action -> {actor role: target roles}.
    """
    return {
        "self": {action.value: sorted(roles) for action, roles in _SELF.items()},
        "on_others": {
            action.value: {actor.value: sorted(targets) for actor, targets in by_actor.items()}
            for action, by_actor in _ON_OTHERS.items()
        },
    }


def page_module() -> str:
    """web/js/matrix.js: the matrix as an ES module the page imports (`make matrix` writes it)."""
    return (
        "// Generated from server/rules/permissions.py by `make matrix`; do not edit.\n"
        "// tests/unit/test_actions.py fails when this file and the server's matrix differ.\n"
        f"export const MATRIX = {json.dumps(matrix(), indent=2, sort_keys=True)};\n"
    )


if __name__ == "__main__":
    print(page_module(), end="")
