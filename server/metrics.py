"""This node's figures for Prometheus (`GET /metrics`, server/api/metrics.py).

Each app has a registry of its own (every node, and every test's server, serves its own figures).
What the media plane already counts is read when it is scraped, not counted twice on the hot path:
the Forwarders' packet counters, rooms and peers, and the forwarding times the Forwarders keep
(the most recent FORWARD_SAMPLES per room). Every LAG_EVERY_S a task measures how late the event
loop wakes it (its lag) and moves the counters and the forwarding times taken since into the
registry, so a room whose media closes loses at most that long of its figures. The rest is
observed where it happens: join time by the RoomService, Redis call time by the request client,
websocket connections around each Session.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import fields

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from server.domain.room import Role
from server.media.forwarder import Forwarder, ForwarderStats
from server.media.router import MediaRouter
from server.seats import Seats

log = logging.getLogger(__name__)

LAG_EVERY_S = 0.5
FAST = (0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1)
"""Buckets for forwarding one packet: tens of microseconds when all is well."""
REDIS = (0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
LAG = (0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
JOIN = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


COUNTERS = tuple(f.name for f in fields(ForwarderStats) if isinstance(f.default, int))
"""The Forwarder's packet counters (received, delivered, dropped_*, ...)."""


def counts(stats: ForwarderStats) -> dict[str, int]:
    return {name: getattr(stats, name) for name in COUNTERS}


class Metrics:
    """The node's registry and what goes into it; `start` once the event loop runs."""

    def __init__(self, router: MediaRouter, seats: Seats) -> None:
        self.registry = CollectorRegistry()
        self.router = router
        self.seats = seats
        self.totals = ForwarderStats()  # the counters summed over this node's rooms, kept as rooms close
        self._seen: dict[str, tuple[Forwarder, dict[str, int]]] = {}
        self._task: asyncio.Task[None] | None = None
        r = self.registry
        self.websockets = Gauge("dropin_websocket_connections", "Open signalling websockets", registry=r)
        self.forward_seconds = Histogram(
            "dropin_forward_seconds",
            "Time from taking a speaker's packet to the last listener's send (forwarded packets, sampled)",
            buckets=FAST, registry=r,
        )
        self.join_seconds = Histogram("dropin_join_seconds", "Time to join a room (successful joins)",
                                      buckets=JOIN, registry=r)
        self.redis_call_seconds = Histogram("dropin_redis_call_seconds", "Time of a Redis request command, "
                                            "waits for a connection and retries included", buckets=REDIS, registry=r)
        self.event_loop_lag_seconds = Histogram(
            "dropin_event_loop_lag_seconds", f"How late the event loop wakes a {LAG_EVERY_S} s sleep",
            buckets=LAG, registry=r,
        )
        r.register(_Collector(self))

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def sync(self) -> None:
        """Move what the Forwarders counted since the last sync into the totals, and their newest
        forwarding times into the histogram."""
        rooms = self.router.rooms()
        for room_id in [room_id for room_id in self._seen if room_id not in rooms]:
            del self._seen[room_id]
        for room_id, forwarder in rooms.items():
            seen = self._seen.get(room_id)
            before = seen[1] if seen is not None and seen[0] is forwarder else dict.fromkeys(COUNTERS, 0)
            now = counts(forwarder.stats)
            for name in COUNTERS:
                setattr(self.totals, name, getattr(self.totals, name) + max(0, now[name] - before[name]))
            samples = forwarder.stats.forward_ns
            fresh = min(len(samples), max(0, now["forwarded"] - before["forwarded"]))
            for ns in itertools.islice(reversed(samples), fresh):
                self.forward_seconds.observe(ns / 1e9)
            self._seen[room_id] = (forwarder, now)

    async def _watch(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(LAG_EVERY_S)
            self.event_loop_lag_seconds.observe(max(0.0, time.monotonic() - started - LAG_EVERY_S))
            try:
                self.sync()
            except Exception:
                log.exception("metrics")


class _Collector(Collector):
    """The figures read at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        metrics = self.metrics
        metrics.sync()
        return list(self._families(metrics))

    @staticmethod
    def _families(metrics: Metrics) -> Iterator[Metric]:
        router, totals = metrics.router, metrics.totals
        yield GaugeMetricFamily("dropin_rooms", "Rooms whose media is open on this node", value=len(router.rooms()))
        yield GaugeMetricFamily("dropin_peers", "Members' peer connections on this node", value=router.peer_count())
        yield GaugeMetricFamily(
            "dropin_relayed_peers", "Peer connections whose selected ICE pair goes through a TURN relay",
            value=router.relayed_peers(),
        )
        members = GaugeMetricFamily("dropin_members", "Members this node serves, by role", labels=["role"])
        counts = dict.fromkeys(Role, 0)
        for room_id in metrics.seats.rooms():
            for seat in metrics.seats.in_room(room_id):
                counts[seat.role] += 1
        for role, count in counts.items():
            members.add_metric([role.value], count)
        yield members
        for name, help, value in (
            ("received", "Speakers' audio packets received", totals.received),
            ("forwarded", "Speakers' packets forwarded on a slot (once per packet, not per listener)",
             totals.forwarded),
            ("delivered", "Packets sent to listeners", totals.delivered),
            ("relayed_up", "Speakers' packets sent on to the room's origin on another node", totals.relayed_up),
        ):
            yield CounterMetricFamily(f"dropin_packets_{name}", help, value=value)
        dropped = CounterMetricFamily("dropin_packets_dropped", "Speakers' packets not forwarded, by reason",
                                      labels=["reason"])
        dropped.add_metric(["not_speaker"], totals.dropped_not_speaker)
        dropped.add_metric(["no_slot"], totals.dropped_no_slot)
        dropped.add_metric(["malformed_red"], totals.dropped_malformed_red)
        yield dropped
        red = CounterMetricFamily("dropin_red_packets_delivered", "RED packets delivered, by what the listener got",
                                  labels=["as"])
        red.add_metric(["red"], totals.red_passed)
        red.add_metric(["opus"], totals.red_unwrapped)
        yield red
