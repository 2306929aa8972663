"""GET /metrics: the node's figures in Prometheus' text format, while a host speaks to a listener
and after they leave."""

from __future__ import annotations

import asyncio

import httpx
from coturn import running_coturn
from prometheus_client.parser import text_string_to_metric_families

from support import host_and_listener, serving, wait_until


def scrape(base_url: str, token: str | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape: (name, sorted labels) -> value."""
    response = httpx.get(f"{base_url}/metrics", headers={"Authorization": f"Bearer {token}"} if token else {})
    response.raise_for_status()
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_metrics_follow_a_room(server) -> None:
    assert "/metrics" not in httpx.get(f"{server.base_url}/openapi.json").json()["paths"]
    _, host, listener = await host_and_listener(server)
    try:
        await wait_until(lambda: _heard(listener), what="the listener hears the host")
        await asyncio.sleep(2.5)
        figures = scrape(server.base_url)
        assert figures[("dropin_rooms", ())] == 1
        assert figures[("dropin_peers", ())] == 2
        assert figures[("dropin_members", (("role", "host"),))] == 1
        assert figures[("dropin_members", (("role", "listener"),))] == 1
        assert figures[("dropin_members", (("role", "speaker"),))] == 0
        assert figures[("dropin_websocket_connections", ())] == 2
        assert figures[("dropin_relayed_peers", ())] == 0
        assert figures[("dropin_packets_received_total", ())] > 50
        assert figures[("dropin_packets_forwarded_total", ())] > 50
        assert figures[("dropin_packets_delivered_total", ())] > 50
        # the listener sends nothing, so nothing is dropped here
        assert figures[("dropin_packets_dropped_total", (("reason", "not_speaker"),))] == 0
        forwarded = figures[("dropin_forward_seconds_count", ())]
        assert 0 < forwarded <= figures[("dropin_packets_forwarded_total", ())]
        assert figures[("dropin_forward_seconds_bucket", (("le", "+Inf"),))] == forwarded
        assert 0 < figures[("dropin_forward_seconds_sum", ())] < forwarded * 0.1
        assert figures[("dropin_join_seconds_count", ())] >= 2
        assert figures[("dropin_redis_call_seconds_count", ())] > 0
        assert figures[("dropin_event_loop_lag_seconds_count", ())] > 0

        # Counters only grow: a second scrape does not count the same packets twice.
        await asyncio.sleep(1)
        again = scrape(server.base_url)
        assert again[("dropin_packets_delivered_total", ())] > figures[("dropin_packets_delivered_total", ())]
        assert again[("dropin_forward_seconds_count", ())] >= forwarded
        assert again[("dropin_forward_seconds_count", ())] <= again[("dropin_packets_forwarded_total", ())]
    finally:
        await asyncio.gather(host.close(), listener.close(), return_exceptions=True)

    async def emptied() -> bool:
        figures = scrape(server.base_url)
        return (
            figures[("dropin_websocket_connections", ())] == 0
            and figures[("dropin_rooms", ())] == 0
            and figures[("dropin_peers", ())] == 0
            and all(figures[("dropin_members", (("role", role),))] == 0 for role in ("host", "listener"))
        )

    await wait_until(emptied, timeout=15, interval=0.3, what="the gauges go back down once both leave")
    after = scrape(server.base_url)
    assert after[("dropin_packets_delivered_total", ())] >= figures[("dropin_packets_delivered_total", ())]


async def _heard(listener) -> bool:
    return await listener.packets_received() > 10


async def test_a_listener_on_turn_counts_as_relayed(redis_server, tmp_path) -> None:
    with running_coturn(tmp_path / "coturn") as coturn, serving(
        redis_server.url, tmp_path / "node",
        DROPIN_TURN_URLS=",".join(coturn.urls("udp")), DROPIN_TURN_SECRET=coturn.secret,
    ) as server:
        _, host, listener = await host_and_listener(server, relay_only=True)
        try:
            await wait_until(lambda: _heard(listener), what="the relayed listener hears the host")
            figures = scrape(server.base_url)
            assert figures[("dropin_peers", ())] == 2
            assert figures[("dropin_relayed_peers", ())] == 1
        finally:
            await asyncio.gather(host.close(), listener.close(), return_exceptions=True)


async def test_a_metrics_token_keeps_strangers_out(redis_server, tmp_path) -> None:
    with serving(redis_server.url, tmp_path / "node", DROPIN_METRICS_TOKEN="s3cret-scrape") as server:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-scrape"}):
            refused = httpx.get(f"{server.base_url}/metrics", headers=headers)
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
            assert "dropin_" not in refused.text
        assert scrape(server.base_url, token="s3cret-scrape")[("dropin_rooms", ())] == 0
