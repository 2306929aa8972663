"""Pure role rules: who joins as what, who is heard, who may end a room."""

from __future__ import annotations

import pytest

from server.rules.roles import Role, is_on_stage, may_end_room, may_speak, role_on_join


def test_creator_joins_as_host_everyone_else_as_listener() -> None:
    assert role_on_join("ada", host_id="ada") is Role.HOST
    assert role_on_join("bo", host_id="ada") is Role.LISTENER


@pytest.mark.parametrize(
    ("role", "heard"),
    [(Role.HOST, True), (Role.MODERATOR, True), (Role.SPEAKER, True), (Role.LISTENER, False)],
)
def test_only_the_stage_is_heard(role: Role, heard: bool) -> None:
    assert may_speak(role) is heard
    assert is_on_stage(role) is heard


@pytest.mark.parametrize(
    ("role", "member", "allowed"),
    [(Role.HOST, "ada", True), (Role.MODERATOR, "mo", False), (Role.SPEAKER, "sp", False),
     (Role.LISTENER, "bo", False), (None, "ada", True), (None, "bo", False)],
)
def test_only_the_host_ends_the_room(role: Role | None, member: str, allowed: bool) -> None:
    assert may_end_room(role, member, host_id="ada") is allowed
