"""Signed webhooks: POSTing the events queued in Redis (server/state/webhooks.py) to their endpoints.

Each POST is one event as JSON, signed as Standard Webhooks have it (the `standardwebhooks`
package): `webhook-id`, `webhook-timestamp`, and `webhook-signature: v1,<base64 HMAC-SHA256 of
"<id>.<timestamp>.<body>" with the endpoint's secret>`. A receiver checks the signature, refuses a
timestamp more than five minutes off, and ignores an id it has had (docs/webhooks.md).

One node at a time delivers to an endpoint (a lease in Redis), oldest event first and one POST at
a time, so each room's events arrive in order, at least once. A POST that fails (no answer within
the timeout, an answer other than 2xx, no connection) is tried again after 1, 2, 4 ... 300 s, the
same events under the same id, and after `webhook_attempts` it is given up and kept among the
endpoint's failures. Delivery runs in its own tasks: an endpoint that is slow or down holds up
nothing but its own queue. Listeners coming and going, queued back to back for one room, go out as
one `listeners.joined` / `listeners.left` POST, held up to `audience_batch_s` for more to come.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import socket
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.exceptions import RedisError
from standardwebhooks import Webhook

from server.config import Settings
from server.domain.room import Identity
from server.state.clubs import ClubStore
from server.state.webhooks import LEASE_MS, Endpoint, Queued, WebhookStore, stream_order
from vocabulary.errors import DropinError, ErrorCode

log = logging.getLogger(__name__)

POLL_S = 0.5
"""How often an idle endpoint's queue is looked at."""
WATCH_S = 2.0
"""How often the node looks for endpoints added or removed."""
BACKOFF_MAX_S = 300.0
BATCH_MAX = 100
USER_AGENT = "Dropin-Webhooks/1"


@dataclass(frozen=True)
class Delivery:
    """How a node delivers: from the settings."""

    node_id: str
    attempts: int
    timeout_s: float
    batch_s: float
    private_ok: bool


def backoff(attempts: int) -> float:
    """Seconds before trying again after `attempts` failed POSTs: 1, 2, 4, ... BACKOFF_MAX_S."""
    return min(2.0 ** (attempts - 1), BACKOFF_MAX_S)


async def check_url(url: str, private_ok: bool) -> str:
    """A club's endpoint URL, or a clear refusal: http(s), a host that resolves, and (unless
    `private_ok`) only public addresses, so that a club host can't make the nodes POST into their
    own network."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DropinError(ErrorCode.INVALID_MESSAGE, "a webhook URL is http:// or https:// and names a host")
    private = await _private_address(parts.hostname, parts.port)
    if private and not private_ok:
        raise DropinError(ErrorCode.INVALID_MESSAGE, f"{parts.hostname} is a private address ({private}); "
                          "webhooks go to public addresses (DROPIN_WEBHOOK_PRIVATE_OK lets them)")
    return url


async def _private_address(host: str, port: int | None) -> str | None:
    """The first of `host`'s addresses that isn't a public one, or None."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise DropinError(ErrorCode.INVALID_MESSAGE, f"can't resolve {host}: {exc}") from exc
    for *_, address in infos:
        if not ipaddress.ip_address(address[0]).is_global:
            return str(address[0])
    return None


def batch_of(entries: Sequence[Queued], batch_end: str, batch_s: float, now: float) -> list[Queued] | float:
    """The events to send next from the head of a queue, or how long to wait for a listeners'
    batch to fill. A batch tried before is sent again as it was (up to `batch_end`)."""
    head = entries[0]
    if batch_end:
        end = stream_order(batch_end)
        return [entry for entry in entries if stream_order(entry.id) <= end]
    if not head.batch:
        return [head]
    run = list(_run(entries))
    if len(run) == len(entries) < BATCH_MAX and now - head.at < batch_s:
        return head.at + batch_s - now  # nothing else behind it yet: more listeners may come
    return run


def _run(entries: Sequence[Queued]) -> Iterator[Queued]:
    head = entries[0]
    for entry in entries:
        if (entry.batch, entry.type) != (head.batch, head.type):
            return
        yield entry


def payload(endpoint: Endpoint, batch: Sequence[Queued]) -> tuple[str, str]:
    """(webhook id, JSON body) of one POST: the first event, with every batched event's members."""
    webhook_id = f"msg_{endpoint.id}_{batch[-1].id}"
    body = json.loads(batch[0].body)
    if len(batch) > 1:
        body["data"]["members"] = [member for entry in batch for member in json.loads(entry.body)["data"]["members"]]
    occurred = datetime.fromtimestamp(batch[0].at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return webhook_id, json.dumps({"id": webhook_id, "type": body.pop("type"), "at": occurred, **body})


def signed(secret: str, webhook_id: str, body: str, sent_at: datetime) -> dict[str, str]:
    """The headers of one POST: its id, when it was sent, and the signature over both and the body."""
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, sent_at, body),
    }


class ClubWebhooks:
    """What a club's hosts do with its endpoints; anyone else is refused, and a private club is
    `club_not_found` to outsiders."""

    def __init__(self, clubs: ClubStore, store: WebhookStore, settings: Settings) -> None:
        self.clubs = clubs
        self.store = store
        self.settings = settings

    async def add(self, club_id: str, caller: Identity, url: str) -> Endpoint:
        await self._hosted(club_id, caller)
        url = await check_url(url, self.settings.webhook_private_ok)
        return await self.store.add(club_id, url, caller.id, self.settings.webhook_queue_max)

    async def listing(self, club_id: str, caller: Identity) -> list[Endpoint]:
        await self._hosted(club_id, caller)
        return await self.store.of_club(club_id)

    async def remove(self, club_id: str, caller: Identity, endpoint_id: str) -> Endpoint:
        await self._hosted(club_id, caller)
        return await self.store.remove(club_id, endpoint_id)

    async def failures(self, club_id: str, caller: Identity, endpoint_id: str) -> list[dict[str, Any]]:
        await self._hosted(club_id, caller)
        await self.store.of_club_one(club_id, endpoint_id)
        return await self.store.failures(endpoint_id)

    async def _hosted(self, club_id: str, caller: Identity) -> None:
        _, membership = await self.clubs.visible(club_id, caller.id)
        if not membership.host:
            raise DropinError(ErrorCode.FORBIDDEN, "only the club's hosts can manage its webhooks")


class Dispatcher(Collector):
    """Delivers every endpoint's queue it holds the lease of; `start` once the event loop runs.
    A Prometheus collector of what it did and of the queues it leads."""

    def __init__(self, store: WebhookStore, delivery: Delivery) -> None:
        self.store = store
        self.delivery = delivery
        self.outcomes: Counter[str] = Counter({"delivered": 0, "retried": 0, "failed": 0})
        self._leading: dict[str, Endpoint] = {}
        self._serving: dict[str, asyncio.Task[None]] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._http = httpx.AsyncClient(timeout=delivery.timeout_s, follow_redirects=False,
                                       headers={"user-agent": USER_AGENT})

    def start(self) -> None:
        self._watcher = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        for task in [*self._serving.values(), *([self._watcher] if self._watcher else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for endpoint_id in self._leading:
            with contextlib.suppress(RedisError):
                await self.store.release(endpoint_id, self.delivery.node_id)
        await self._http.aclose()

    async def _watch(self) -> None:
        while True:
            try:
                ids = await self.store.ids()
            except RedisError as exc:
                log.warning("webhooks: can't list endpoints: %s", exc)
            else:
                for endpoint_id in ids - self._serving.keys():
                    self._serving[endpoint_id] = asyncio.create_task(self._serve(endpoint_id))
                for endpoint_id in [e for e, task in self._serving.items() if task.done()]:
                    del self._serving[endpoint_id]
            await asyncio.sleep(WATCH_S)

    async def _serve(self, endpoint_id: str) -> None:
        wait: float | None = 0.0
        while wait is not None:
            await asyncio.sleep(wait)
            try:
                wait = await self._step(endpoint_id)
            except RedisError as exc:
                log.warning("webhooks: %s: Redis: %s", endpoint_id, exc)
                wait = 1.0
        self._leading.pop(endpoint_id, None)

    async def _step(self, endpoint_id: str) -> float | None:
        """Deliver the next POST if there is one; how long to wait before the next step (None: the
        endpoint is gone)."""
        endpoint = await self.store.get(endpoint_id)
        if endpoint is None:
            return None
        if not await self.store.lease(endpoint_id, self.delivery.node_id):
            self._leading.pop(endpoint_id, None)
            return LEASE_MS / 3000
        self._leading[endpoint_id] = endpoint
        now = time.time()
        if endpoint.next_at > now:
            return min(endpoint.next_at - now, POLL_S)
        entries = await self.store.head(endpoint_id, BATCH_MAX)
        if not entries:
            return POLL_S
        batch = batch_of(entries, endpoint.batch_end, self.delivery.batch_s, now)
        if isinstance(batch, float):
            return batch
        webhook_id, body = payload(endpoint, batch)
        error = await self._post(endpoint, webhook_id, body)
        if error is None:
            await self.store.delivered(endpoint_id, batch)
            self.outcomes["delivered"] += 1
            return 0.0
        attempts = endpoint.attempts + 1
        if attempts < self.delivery.attempts:
            log.info("webhooks: %s to %s failed (%s); trying again in %.0f s",
                     webhook_id, endpoint.url, error, backoff(attempts))
            await self.store.retry(endpoint_id, attempts, time.time() + backoff(attempts), batch[-1].id, error)
            self.outcomes["retried"] += 1
            return 0.0
        log.warning("webhooks: %s to %s given up after %d attempts: %s", webhook_id, endpoint.url, attempts, error)
        sent = json.loads(body)
        failure = {"id": webhook_id, "type": sent["type"], "at": time.time(), "attempts": attempts,
                   "error": error, "body": sent}
        await self.store.give_up(endpoint_id, batch, failure)
        self.outcomes["failed"] += 1
        return 0.0

    async def _post(self, endpoint: Endpoint, webhook_id: str, body: str) -> str | None:
        """POST one signed event; None if the endpoint took it, else what went wrong."""
        if endpoint.club_id and not self.delivery.private_ok:
            try:
                await check_url(endpoint.url, private_ok=False)  # the name may point elsewhere by now
            except DropinError as refused:
                return refused.message
        headers = signed(endpoint.secret, webhook_id, body, datetime.now(UTC))
        try:
            response = await self._http.post(endpoint.url, content=body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return None if response.is_success else f"HTTP {response.status_code}"

    def collect(self) -> Iterator[Metric]:
        deliveries = CounterMetricFamily("dropin_webhook_deliveries", "Webhook POSTs by outcome (delivered, "
                                         "retried later, failed: given up)", labels=["outcome"])
        for outcome, count in self.outcomes.items():
            deliveries.add_metric([outcome], count)
        yield deliveries
        queued = GaugeMetricFamily("dropin_webhook_queued", "Events waiting for an endpoint this node delivers to",
                                   labels=["endpoint"])
        dropped = CounterMetricFamily("dropin_webhook_dropped", "Events not queued for an endpoint this node "
                                      "delivers to because its queue was full", labels=["endpoint"])
        for endpoint_id, endpoint in self._leading.items():
            queued.add_metric([endpoint_id], endpoint.queued)
            dropped.add_metric([endpoint_id], endpoint.dropped)
        yield queued
        yield dropped
