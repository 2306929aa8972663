"""docker/Caddyfile, the file docker/compose.yml runs, in Debian's real caddy in front of a real
node on loopback: HTTPS with a certificate from Caddy's own CA for an IP address (no ACME, no
network), the page, the REST API and a websocket join through it, plain HTTP redirected, and
/metrics refused even with the node's token. The Caddyfile's placeholders give it the test's site,
ports and node; compose leaves them at their defaults."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import websockets

from signaling.client import SignalingClient
from support import REPO, Member, RunningServer, free_port, serving, stop

CADDY = shutil.which("caddy") or "/usr/bin/caddy"  # Debian's caddy (2.6)
METRICS_TOKEN = "a token for Prometheus"


@dataclass(frozen=True)
class Caddy:
    site: str
    https_port: int
    http_port: int
    root: Path  # Caddy's own CA
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def trusted(self, check_hostname: bool = True) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.root)
        context.check_hostname = check_hostname
        return context


@contextlib.contextmanager
def running_caddy(tmp_path: Path, site: str, *nodes: RunningServer) -> Iterator[Caddy]:
    """caddy with docker/Caddyfile for `site` in front of `nodes`; its data and config in tmp_path."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    https_port = free_port()
    http_port = next(port for port in iter(free_port, None) if port != https_port)
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "DROPIN_DOMAIN": site,
        "DROPIN_NODES": " ".join(node.base_url.removeprefix("http://") for node in nodes),
        "CADDY_HTTPS_PORT": str(https_port),
        "CADDY_HTTP_PORT": str(http_port),
        "CADDY_ADMIN": "off",
    }
    log_path = tmp_path / "caddy.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [CADDY, "run", "--config", str(REPO / "docker/Caddyfile"), "--adapter", "caddyfile"],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    caddy = Caddy(site, https_port, http_port, tmp_path / "data/caddy/pki/authorities/local/root.crt", log_path)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if caddy.root.exists():
                    httpx.get(f"{caddy.base_url}/readyz", headers={"Host": site}, timeout=2,
                              verify=caddy.trusted(check_hostname=False)).raise_for_status()
                    break
            except (httpx.HTTPError, ssl.SSLError):  # not yet, or the CA's file half written
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"caddy did not answer for https://{site}/ on {caddy.base_url}:\n{caddy.log}")
            time.sleep(0.1)
        yield caddy
    finally:
        stop(process, timeout=10)


def asked_a_public_ca(log: str) -> bool:
    return any(word in log for word in ("tls.issuance.acme", "letsencrypt", "zerossl"))


@pytest.fixture
def node(redis_server, tmp_path: Path) -> Iterator[RunningServer]:
    """A node whose /metrics wants a token, as compose runs them."""
    with serving(redis_server.url, tmp_path / "node", DROPIN_METRICS_TOKEN=METRICS_TOKEN) as running:
        yield running


async def test_the_site_the_api_and_a_websocket_go_through_caddy_over_https(node, tmp_path) -> None:
    with running_caddy(tmp_path / "caddy", "127.0.0.1", node) as caddy:
        with httpx.Client(base_url=caddy.base_url, verify=caddy.trusted()) as site:
            page = site.get("/")
            assert page.status_code == 200 and "<title>Dropin</title>" in page.text
            token = site.post("/api/identity", json={"name": "Bo"}).json()["token"]
            host_token = node.identity("Host Ada")
            created = site.post("/api/rooms", json={"title": "Behind Caddy"},
                                headers={"Authorization": f"Bearer {host_token}"})
            assert created.status_code == 201, created.text
            room_id = created.json()["id"]
            assert node.room(room_id)["title"] == "Behind Caddy", "the room is the node's"

        # Bo joins over wss through Caddy; Ada straight on the node; Bo hears of her through Caddy.
        wss_url = caddy.base_url.replace("https://", "wss://") + "/ws"
        client = SignalingClient(await websockets.connect(wss_url, ssl=caddy.trusted(), max_size=None))
        bo = Member(client, await client.request("join", room=room_id, token=token))
        ada = await Member.enter(node.ws_url, room_id, host_token)
        try:
            assert bo.welcome.you.name == "Bo"
            joined = await bo.expect("member_joined")
            assert joined.member.id == ada.id
        finally:
            await bo.client.close()
            await ada.client.close()

        # Plain HTTP only redirects to HTTPS.
        redirect = httpx.get(f"{caddy.http_url}/api/rooms")
        assert redirect.status_code == 308 and redirect.headers["location"].startswith("https://127.0.0.1")
        assert not asked_a_public_ca(caddy.log), "a certificate from Caddy's own CA, not from the Internet"


def get_as_is(caddy: Caddy, path: str, headers: dict[str, str]) -> tuple[int, str]:
    """GET `path` through Caddy exactly as written (httpx would tidy it first)."""
    connection = http.client.HTTPSConnection("127.0.0.1", caddy.https_port, timeout=10, context=caddy.trusted())
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def test_metrics_are_not_served_through_caddy(node, tmp_path) -> None:
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    assert httpx.get(f"{node.base_url}/metrics", headers=bearer).status_code == 200
    assert httpx.get(f"{node.base_url}/%6Detrics", headers=bearer).status_code == 200, "the node decodes it"
    with running_caddy(tmp_path / "caddy", "127.0.0.1", node) as caddy:
        for path in ("/metrics", "/metrics/", "/%6Detrics", "//metrics", "/rooms/../metrics", "/metrics?x=1"):
            status, body = get_as_is(caddy, path, bearer)
            assert status == 404 and "dropin_" not in body, path
        assert get_as_is(caddy, "/readyz", bearer)[0] == 200


def test_a_lan_address_behind_dockers_nat_gets_its_certificate(node, tmp_path) -> None:
    """A browser that opens https://<IP>/ sends no server name, and in compose Caddy sees the
    connection arrive at its container's address, not that IP: it still answers with the IP's
    certificate (the Caddyfile's default_sni). Here the site is 192.0.2.10 and Caddy is reached
    on 127.0.0.1."""
    with running_caddy(tmp_path / "caddy", "192.0.2.10", node) as caddy:
        with (socket.create_connection(("127.0.0.1", caddy.https_port), timeout=5) as raw,
              caddy.trusted(check_hostname=False).wrap_socket(raw) as tls):  # no server name
            names = tls.getpeercert()["subjectAltName"]
        assert ("IP Address", "192.0.2.10") in names
        answer = httpx.get(f"{caddy.base_url}/api/rooms", headers={"Host": "192.0.2.10"},
                           verify=caddy.trusted(check_hostname=False))
        assert answer.status_code == 200 and "rooms" in answer.json()
        assert not asked_a_public_ca(caddy.log)
