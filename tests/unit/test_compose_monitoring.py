"""docker/compose.yml's monitoring: Prometheus scrapes every node with the token the nodes want,
and Grafana comes up with that Prometheus and the dashboard, on the host's loopback only."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from support import REPO

DOCKER = REPO / "docker"


def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yml").read_text())


def prometheus_config() -> dict:
    return yaml.safe_load((DOCKER / "prometheus.yml").read_text())


def mounts(service: dict) -> dict[str, Path | str]:
    """The service's volumes: where in the container -> a file of the repository (a path) or a volume."""
    found: dict[str, Path | str] = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        found[target] = (DOCKER / source).resolve() if source.startswith(".") else source
    return found


def secret_files(service: dict) -> dict[str, str]:
    """The service's secrets: where in the container -> the secret's name."""
    found = {}
    for secret in service.get("secrets", []):
        if isinstance(secret, str):
            secret = {"source": secret}
        target = secret.get("target", secret["source"])
        found[target if target.startswith("/") else f"/run/secrets/{target}"] = secret["source"]
    return found


def container_port(published: str) -> int:
    return int(published.split("/")[0].rsplit(":", 1)[-1])


def test_prometheus_scrapes_every_node_with_the_metrics_token() -> None:
    services = compose()["services"]
    nodes = [name for name, service in services.items() if "build" in service]
    prometheus = services["prometheus"]
    assert mounts(prometheus)["/etc/prometheus/prometheus.yml"] == DOCKER / "prometheus.yml"

    jobs = prometheus_config()["scrape_configs"]
    targets = [target for job in jobs for group in job["static_configs"] for target in group["targets"]]
    assert sorted(targets) == sorted(f"{name}:8000" for name in nodes)

    # The nodes want METRICS_TOKEN; Prometheus reads it from a file that compose makes of it.
    for name in nodes:
        assert services[name]["environment"]["DROPIN_METRICS_TOKEN"].startswith("${METRICS_TOKEN:?")
    for job in jobs:
        authorization = job["authorization"]
        assert authorization.get("type", "Bearer") == "Bearer"
        secret = secret_files(prometheus)[authorization["credentials_file"]]
        assert compose()["secrets"][secret] == {"environment": "METRICS_TOKEN"}


def test_grafana_has_that_prometheus_and_the_dashboard() -> None:
    services = compose()["services"]
    grafana = services["grafana"]
    volumes = mounts(grafana)
    assert volumes["/var/lib/grafana"] == "grafana-data"
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")

    datasources_dir = volumes["/etc/grafana/provisioning/datasources"]
    assert isinstance(datasources_dir, Path)
    [datasource] = [
        source for file in sorted(datasources_dir.glob("*.yml"))
        for source in yaml.safe_load(file.read_text())["datasources"]
    ]
    assert datasource["type"] == "prometheus" and datasource["isDefault"] is True
    url = urlsplit(datasource["url"])
    assert url.scheme == "http" and url.hostname == "prometheus"
    assert url.port in {container_port(published) for published in services["prometheus"]["ports"]}
    scrape_interval = prometheus_config()["global"]["scrape_interval"]
    assert datasource["jsonData"]["timeInterval"] == scrape_interval

    dashboards_dir = volumes["/etc/grafana/provisioning/dashboards"]
    assert isinstance(dashboards_dir, Path)
    [provider] = [
        provider for file in sorted(dashboards_dir.glob("*.yml"))
        for provider in yaml.safe_load(file.read_text())["providers"]
    ]
    assert provider["type"] == "file"
    path = provider["options"]["path"].rstrip("/")
    provisioned = [source for target, source in volumes.items() if target.startswith(f"{path}/")]
    assert provisioned == [DOCKER / "grafana-dashboard.json"], "the dashboard itself, not a copy"


def test_monitoring_listens_on_loopback_only() -> None:
    services = compose()["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["ports"] and all(port.startswith("127.0.0.1:") for port in services[name]["ports"])


PROMTOOL = shutil.which("promtool")  # Debian's package `prometheus`: used when there, not required


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
def test_promtool_accepts_the_config(tmp_path: Path) -> None:
    token = tmp_path / "metrics-token"  # promtool wants the credentials file to exist
    token.write_text("a token")
    config = prometheus_config()
    for job in config["scrape_configs"]:
        job["authorization"]["credentials_file"] = str(token)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    checked = subprocess.run([str(PROMTOOL), "check", "config", str(tmp_path / "prometheus.yml")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
