"""Pure role rules: who is on stage and heard."""

from __future__ import annotations

import pytest

from server.domain.room import Role
from server.rules.roles import is_on_stage, may_speak


@pytest.mark.parametrize(
    ("role", "heard"),
    [(Role.HOST, True), (Role.MODERATOR, True), (Role.SPEAKER, True), (Role.LISTENER, False)],
)
def test_only_the_stage_is_heard(role: Role, heard: bool) -> None:
    assert may_speak(role) is heard
    assert is_on_stage(role) is heard

