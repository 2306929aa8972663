"""Each room action is named once (vocabulary/actions.py), and every other list of actions agrees
with that table: the permission matrix, the request messages, the Lua dispatch and the page's
copy of the matrix. Adding an action in one place only fails here."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from server.rules.permissions import matrix, page_module
from signaling import messages as m
from vocabulary.actions import SUBJECTS, Action, Subject

ROOT = Path(__file__).resolve().parents[2]
# What a request about each subject names besides `type` and `id`.
FIELDS = {Subject.ROOM: set(), Subject.MEMBER: {"target"}, Subject.QUESTION: {"question"}, Subject.TEXT: {"text"},
          Subject.MESSAGE: {"message"}, Subject.CHAT: {"enabled", "slow_s"}, Subject.RECORDING: {"on"}}
TIMER_ACTIONS = {"expire_invite"}  # taken by the server's own timers, never requested


def action_requests() -> dict[str, type[BaseModel]]:
    """Request type -> the message class that carries it, for every request that is a room action."""
    (union, *_) = typing.get_args(m.Request)
    found: dict[str, type[BaseModel]] = {}
    for model in typing.get_args(union):
        for name in typing.get_args(model.model_fields["type"].annotation):
            assert name not in found, f"{name} is the type of two requests"
            found[name] = model
    return {name: model for name, model in found.items() if name in m.ACTION_TYPES}


def test_the_table_gives_every_action_a_subject() -> None:
    assert set(SUBJECTS) == set(Action)


def test_the_permission_matrix_has_every_action_once_in_the_right_part() -> None:
    table = matrix()
    assert set(table["self"]) | set(table["on_others"]) == set(Action)
    assert set(table["on_others"]) == {a for a, s in SUBJECTS.items() if s is Subject.MEMBER}
    assert not set(table["self"]) & set(table["on_others"])


def test_each_action_is_one_request_naming_what_it_is_about() -> None:
    requests = action_requests()
    assert set(requests) == set(Action) == m.ACTION_TYPES
    for action, model in requests.items():
        assert set(model.model_fields) - {"type", "id"} >= FIELDS[SUBJECTS[Action(action)]], action
        for subject, fields in FIELDS.items():
            if subject is not SUBJECTS[Action(action)]:
                assert not fields & set(model.model_fields), f"{action} names what a {subject} action names"


@pytest.mark.parametrize("action", list(Action))
def test_a_request_for_each_action_validates(action: Action) -> None:
    extra = {Subject.ROOM: {}, Subject.MEMBER: {"target": "x"}, Subject.QUESTION: {"question": "q1"},
             Subject.TEXT: {"text": "Why?"}, Subject.MESSAGE: {"message": "c1"},
             Subject.CHAT: {"enabled": False, "slow_s": 30}, Subject.RECORDING: {"on": True}}[SUBJECTS[action]]
    request = m.request_adapter.validate_python({"type": action.value, "id": "1", **extra})
    assert request.type == action


def test_the_lua_dispatch_takes_every_action_but_ending_the_room() -> None:
    lua = (ROOT / "server/state/lua/act.lua").read_text()
    dispatched = set(re.findall(r"action == '(\w+)'", lua))
    assert dispatched - TIMER_ACTIONS == set(Action) - {Action.END_ROOM}  # end_room.lua ends a room
    assert (ROOT / "server/state/lua/end_room.lua").exists()


def test_the_page_has_the_servers_matrix() -> None:
    page = (ROOT / "web/js/matrix.js").read_text()
    assert page == page_module(), "web/js/matrix.js is out of date: run `make matrix`"


def test_the_pages_member_menu_offers_only_actions_on_members() -> None:
    labels = (ROOT / "web/js/permissions.js").read_text()
    menu = re.search(r"export const ACTION_LABELS = \{(.*?)\};", labels, re.S)
    assert menu is not None
    offered = set(re.findall(r"^\s*(\w+): \(name\)", menu.group(1), re.M))
    assert offered == {a.value for a, s in SUBJECTS.items() if s is Subject.MEMBER} - {Action.DISMISS_HAND}
