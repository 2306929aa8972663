"""`dropin serve --tls-cert --tls-key` serves HTTPS and WSS itself, alone or with workers; plain
HTTP on its port gets nothing; a missing flag or an unusable file is one line and exit status 2."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import websockets

from signaling import messages as m
from signaling.client import SignalingClient
from support import REPO, free_port, self_signed_certificate, serving


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    return self_signed_certificate(tmp_path, "127.0.0.1")


def tls_env(certificate: tuple[Path, Path]) -> dict[str, str]:
    return {"DROPIN_TLS_CERT": str(certificate[0]), "DROPIN_TLS_KEY": str(certificate[1])}


async def test_rest_and_the_websocket_over_tls(redis_server, tmp_path, certificate) -> None:
    trusted = ssl.create_default_context(cafile=certificate[0])
    with serving(redis_server.url, tmp_path / "node", **tls_env(certificate)) as node:
        assert node.base_url.startswith("https://") and node.ws_url.startswith("wss://")
        assert "Dropin is running on https://127.0.0.1:" in node.log
        with httpx.Client(base_url=node.base_url, verify=trusted) as api:
            assert api.get("/api/rooms").status_code == 200
            token = api.post("/api/identity", json={"name": "Ada"}).json()["token"]
            room = api.post("/api/rooms", json={"title": "Sealed"}, headers={"Authorization": f"Bearer {token}"})
        client = SignalingClient(await websockets.connect(node.ws_url, ssl=trusted, max_size=None))
        try:
            joined = await client.request("join", room=room.json()["id"], token=token)
            assert isinstance(joined, m.Joined) and joined.you.name == "Ada"
        finally:
            await client.close()
        with pytest.raises(httpx.TransportError):
            httpx.get(node.base_url.replace("https://", "http://") + "/api/rooms", timeout=5)


def test_workers_serve_tls_too(redis_server, tmp_path, certificate) -> None:
    with serving(redis_server.url, tmp_path / "node", DROPIN_WORKERS="2", **tls_env(certificate)) as node:
        trusted = ssl.create_default_context(cafile=certificate[0])
        assert httpx.get(f"{node.base_url}/readyz", verify=trusted).json() == {"ready": True, "reason": None}


def serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("DROPIN_")}
    return subprocess.run(
        [sys.executable, "-m", "server", "serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "data"),
         *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=30,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], starts: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(starts), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_certificate_without_its_key_is_one_line(tmp_path, certificate) -> None:
    assert_one_line_error(
        serve(tmp_path, "--tls-cert", str(certificate[0])),
        "dropin: invalid setting: TLS needs both --tls-cert and --tls-key",
    )


def test_a_missing_or_unusable_file_is_one_line(tmp_path, certificate) -> None:
    cert, key = certificate
    assert_one_line_error(
        serve(tmp_path, "--tls-cert", str(tmp_path / "nowhere.pem"), "--tls-key", str(key)),
        f"dropin: cannot read {tmp_path / 'nowhere.pem'}: No such file or directory",
    )
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key\n")
    assert_one_line_error(
        serve(tmp_path, "--tls-cert", str(cert), "--tls-key", str(garbage)),
        f"dropin: {cert} and {garbage} are not a PEM certificate and its key",
    )
    assert not (tmp_path / "data").exists(), "nothing started"
