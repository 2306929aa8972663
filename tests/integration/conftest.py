"""Fixtures for the integration tests that need more than one node."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from support import CLUSTER_SECRET, RunningServer, serving


@pytest.fixture
def two_nodes(redis_server, tmp_path, redis) -> Iterator[tuple[RunningServer, RunningServer]]:
    """Two nodes of one Dropin: one Redis, one secret (so a token from one is good on the other)."""
    with contextlib.ExitStack() as stack:
        yield (stack.enter_context(serving(redis_server.url, tmp_path / "a", DROPIN_SECRET=CLUSTER_SECRET)),
               stack.enter_context(serving(redis_server.url, tmp_path / "b", DROPIN_SECRET=CLUSTER_SECRET)))
