"""Fixtures for the integration tests: two nodes of one Dropin, and a Redis a test may stop."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.state.redis_server import RedisServer
from support import CLUSTER_SECRET, RunningServer, serving


@pytest.fixture
def two_nodes(redis_server, tmp_path, redis) -> Iterator[tuple[RunningServer, RunningServer]]:
    """Two nodes of one Dropin: one Redis, one secret (so a token from one is good on the other)."""
    with contextlib.ExitStack() as stack:
        yield (stack.enter_context(serving(redis_server.url, tmp_path / "a", DROPIN_SECRET=CLUSTER_SECRET)),
               stack.enter_context(serving(redis_server.url, tmp_path / "b", DROPIN_SECRET=CLUSTER_SECRET)))


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, which it stops and starts again."""
    with RedisServer(tmp_path / "redis") as redis_server:
        yield redis_server
