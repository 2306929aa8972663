"""The image recipe carries every package the project installs (a package left out of the
Dockerfile builds fine and fails at the first import) and installs through docker/install.sh
alone, the compose file's nodes are alike, and they share the TURN secret with its coturn."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

from server.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_image_copies_every_package() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = [pattern.rstrip("*") for pattern in patterns]
    lines = (ROOT / "docker/Dockerfile").read_text().splitlines()
    for package in packages:
        assert (ROOT / package / "__init__.py").exists()
        assert f"COPY {package}/ /app/{package}/" in lines, f"docker/Dockerfile does not copy {package}/"
        assert lines.index(f"COPY {package}/ /app/{package}/") < lines.index("RUN bash docker/install.sh app")


def test_the_image_installs_through_its_script_alone() -> None:
    """docker/install.sh is the whole install, which CI replays (tests/integration/test_image_install.py);
    its `deps` step sees pyproject.toml alone, so that a source change leaves that layer cached."""
    lines = [line for line in (ROOT / "docker/Dockerfile").read_text().splitlines() if not line.startswith("#")]
    steps = [line for line in lines if "docker/install.sh" in line and line.startswith("RUN ")]
    assert steps == [f"RUN bash docker/install.sh {step}" for step in ("system", "deps", "app")]
    assert not [line for line in lines if "pip " in line or "apt-get" in line], "installs outside docker/install.sh"
    before_deps = [line for line in lines[: lines.index(steps[1])] if line.startswith(("COPY ", "ADD "))]
    assert before_deps == ["COPY docker/install.sh /app/docker/", "COPY pyproject.toml /app/"]
    assert (ROOT / "docker/install.sh").stat().st_mode & 0o111, "docker/install.sh is executable"


def test_the_compose_nodes_share_redis_and_the_secret_and_sit_behind_the_balancer() -> None:
    services = yaml.safe_load((ROOT / "docker/compose.yml").read_text())["services"]
    nodes = [name for name, service in services.items() if "build" in service]
    assert len(nodes) >= 2
    for name in nodes:
        environment = services[name]["environment"]
        assert environment["REDIS_URL"] == "redis://redis:6379/0"
        assert environment["DROPIN_SECRET"].startswith("${DROPIN_SECRET:?")
    assert len({services[name]["volumes"][0] for name in nodes}) == len(nodes), "each node keeps its own data"
    shared = {f'{volume.split(":")[0]}:{services[name]["environment"]["DROPIN_RECORDINGS_DIR"]}'
              for name in nodes for volume in services[name]["volumes"][1:]}
    assert len(shared) == 1, "the nodes share one folder of recordings: the origin writes, any node serves"
    caddyfile = (ROOT / "docker/Caddyfile").read_text()
    assert all(f"{name}:8000" in caddyfile for name in nodes)


def test_the_nodes_hand_out_credentials_for_the_compose_coturn() -> None:
    services = yaml.safe_load((ROOT / "docker/compose.yml").read_text())["services"]
    secret = next(arg for arg in services["coturn"]["command"] if arg.startswith("--static-auth-secret="))
    config = (ROOT / "docker/turnserver.conf").read_text().splitlines()
    assert "use-auth-secret" in config and "tls-listening-port=5349" in config  # Caddy holds 443
    assert "5349:5349/tcp" in services["coturn"]["ports"]
    assert "--external-ip=${PUBLIC_IP:?" in " ".join(services["coturn"]["command"])
    for name in [name for name, service in services.items() if "build" in service]:
        environment = services[name]["environment"]
        assert secret.removeprefix("--static-auth-secret=") == environment["DROPIN_TURN_SECRET"]
        settings = Settings(turn_urls=environment["DROPIN_TURN_URLS"], turn_secret="x")
        assert {url.split(":")[0] + "/" + url.split("=")[-1] for url in settings.turn_urls} == {
            "turn/udp", "turn/tcp", "turns/tcp"
        }


def test_the_image_runs_unprivileged_and_checks_its_readiness() -> None:
    lines = (ROOT / "docker/Dockerfile").read_text().splitlines()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), "the image runs as a non-root user"
    assert lines.index(f"USER {users[-1]}") < next(i for i, line in enumerate(lines) if line.startswith("CMD "))
    healthcheck = "\n".join(lines[next(i for i, line in enumerate(lines) if line.startswith("HEALTHCHECK")):])
    assert "/readyz" in healthcheck and "urllib.request" in healthcheck


def test_the_compose_nodes_and_the_balancer_check_readiness() -> None:
    services = yaml.safe_load((ROOT / "docker/compose.yml").read_text())["services"]
    for name in [name for name, service in services.items() if "build" in service]:
        test = services[name]["healthcheck"]["test"]
        assert test[0] == "CMD" and any("/readyz" in part for part in test)
        assert float(services[name]["environment"]["DROPIN_DRAIN_NOTICE_S"]) > 2, "longer than Caddy's poll"
    assert "health_uri /readyz" in (ROOT / "docker/Caddyfile").read_text()
