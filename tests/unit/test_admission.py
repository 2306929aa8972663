"""Who may see a series and come into its rooms: the rule both the schedule and a room's join use."""

from __future__ import annotations

import typing

import pytest

from server.api.events import SeriesCreate
from server.rules.admission import ADMITTED_BY, admits


@pytest.mark.parametrize(
    ("visibility", "facts", "admitted"),
    [
        ("public", {}, True),
        ("club", {}, False),
        ("club", {"club_member": True}, True),
        ("club", {"guest": True}, True),
        ("club", {"hosting": True}, True),
        ("invite", {}, False),
        ("invite", {"club_member": True}, False),
        ("invite", {"guest": True}, True),
        ("invite", {"hosting": True}, True),
    ],
)
def test_admits(visibility: str, facts: dict[str, bool], admitted: bool) -> None:
    assert admits(visibility, **facts) is admitted


def test_every_visibility_a_series_may_have_has_a_rule() -> None:
    (choices, _) = typing.get_args(SeriesCreate.model_fields["visibility"].annotation)
    assert set(typing.get_args(choices)) == set(ADMITTED_BY)
