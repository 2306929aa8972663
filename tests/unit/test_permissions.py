"""Every cell of the permission matrix: each action, for each actor role and each target role."""

from __future__ import annotations

import itertools

import pytest

from server.domain.room import Role
from server.rules.permissions import permitted
from vocabulary.actions import Action

H, M, S, L = "host", "moderator", "speaker", "listener"
ROLES = [H, M, S, L]

# Written out by hand from the product rules (docs/protocol.md), not derived from the code:
# action -> the (actor, target) pairs allowed; target None is an action on oneself or the room.
ALLOWED: dict[str, set[tuple[str, str | None]]] = {
    "raise_hand": {(L, None)},
    "lower_hand": {(L, None)},
    "accept_invite": {(L, None)},
    "decline_invite": {(L, None)},
    "leave_stage": {(M, None), (S, None)},
    "mute_self": {(H, None), (M, None), (S, None)},
    "unmute_self": {(H, None), (M, None), (S, None)},
    "mute_all": {(H, None), (M, None)},
    "end_room": {(H, None)},
    "dismiss_hand": {(H, L), (M, L)},
    "invite": {(H, L), (M, L)},
    "move_to_stage": {(H, L), (M, L)},
    "move_to_audience": {(H, M), (H, S), (M, S)},
    "make_moderator": {(H, S), (H, L), (M, S), (M, L)},
    "remove_moderator": {(H, M), (M, M)},
    "mute": {(H, M), (H, S), (M, M), (M, S)},
    "remove": {(H, M), (H, S), (H, L), (M, S), (M, L)},
    "ask": {(H, None), (M, None), (S, None), (L, None)},
    "upvote": {(H, None), (M, None), (S, None), (L, None)},
    "mark_answered": {(H, None), (M, None)},
    "chat": {(H, None), (M, None), (S, None), (L, None)},
    "delete_message": {(H, None), (M, None)},
    "set_chat": {(H, None), (M, None)},
    "set_recording": {(H, None)},
}

CELLS = list(itertools.product(Action, ROLES, [None, *ROLES]))


def test_the_table_covers_every_action() -> None:
    assert set(ALLOWED) == {action.value for action in Action}


@pytest.mark.parametrize(("action", "actor", "target"), CELLS, ids=lambda v: str(v))
def test_cell(action: Action, actor: str, target: str | None) -> None:
    expected = (actor, target) in ALLOWED[action.value]
    assert permitted(Role(actor), action, Role(target) if target else None) is expected
