"""Who may see a scheduled series and come into its rooms, by the series' visibility. Pure: no I/O.

Hosts and co-hosts always may. Otherwise each visibility names the facts about a person that let
them in; the rule is written once, here: the schedule service asks `admits`, and a room's join
(server/state/lua/join.lua) is handed `ADMITTED_BY[visibility]` and checks those facts atomically.
"""

from __future__ import annotations

from typing import Literal

Fact = Literal["anyone", "guest", "club_member"]  # anyone at all; let in by an invite link; in the club

ADMITTED_BY: dict[str, tuple[Fact, ...]] = {
    "public": ("anyone",),
    "club": ("guest", "club_member"),
    "invite": ("guest",),
}


def admits(visibility: str, *, hosting: bool = False, guest: bool = False, club_member: bool = False) -> bool:
    """Whether someone may see a series (and enter its rooms) given what is true of them."""
    facts = {"anyone": True, "guest": guest, "club_member": club_member}
    return hosting or any(facts[fact] for fact in ADMITTED_BY[visibility])
