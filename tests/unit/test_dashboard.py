"""docker/grafana-dashboard.json queries the names /metrics serves (server/metrics.py)."""

from __future__ import annotations

import json
import re

from aiortc import RTCIceServer
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from server.media.router import MediaRouter
from server.metrics import Metrics
from server.seats import Seats
from support import REPO

DASHBOARD = REPO / "docker" / "grafana-dashboard.json"


def scrape() -> list:
    ice: list[RTCIceServer] = []
    return list(text_string_to_metric_families(generate_latest(Metrics(MediaRouter(ice), Seats()).registry).decode()))


def served_names() -> set[str]:
    return {sample.name for family in scrape() for sample in family.samples}


def queries(dashboard: dict) -> list[str]:
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            exprs.append(query["query"])
    return exprs


def test_the_dashboard_queries_only_served_names() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert any(v["name"] == "datasource" and v["type"] == "datasource" for v in dashboard["templating"]["list"])
    assert all(panel["datasource"]["uid"] == "${datasource}" for panel in dashboard["panels"])
    queried = {name for expr in queries(dashboard) for name in re.findall(r"\bdropin_[a-z_]+", expr)}
    served = served_names()
    assert queried - served == set(), f"the dashboard queries names /metrics does not serve: {queried - served}"
    # and it shows each family the node serves
    families = {family.name for family in scrape() if not family.name.endswith("_created")}
    shown = {re.sub(r"_(bucket|count|sum|total)$", "", name) for name in queried}
    assert families - shown == {"dropin_red_packets_delivered"}, families - shown


def test_metrics_follow_prometheus_conventions() -> None:
    for name in served_names():
        assert re.fullmatch(r"dropin_[a-z_]+", name), name
