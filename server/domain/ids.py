"""Ids for the things Dropin creates: rooms, clubs, series and invite links."""

from __future__ import annotations

import secrets


def new_id() -> str:
    """A random 11-character URL-safe id that never starts with '-', so an operator can pass it to a
    shell command as an argument without it being read as an option."""
    while (value := secrets.token_urlsafe(8)).startswith("-"):
        pass
    return value
