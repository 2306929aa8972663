"""The `dropin` command line."""

from __future__ import annotations

import argparse
import os
import signal
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import ValidationError

from server import logs, operator
from server.config import Settings, invalid_setting
from server.identity import load_or_create_secret
from server.media.aiortc_adapter import AiortcInternalsMoved
from server.state.redis_server import RedisUnavailable, redis_url_for

DRAIN_S = 10


class TlsUnusable(Exception):
    """The TLS certificate or key can't be read or used."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dropin", description="Dropin: live audio rooms you host yourself.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run a Dropin node",
        description="Run a Dropin node: the web client, REST API, signalling and media forwarding. "
        "Every option can also be set in the environment as DROPIN_<OPTION> (e.g. DROPIN_PORT); "
        "the Redis URL also as REDIS_URL.",
    )
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1; env DROPIN_HOST)")
    serve.add_argument("--port", type=int, help="HTTP port (default 8000; env DROPIN_PORT)")
    serve.add_argument(
        "--workers",
        help="node processes to run on this port, a number or auto (one per core); each is a node of the "
        "cluster, and a worker that dies is restarted (default 1; env DROPIN_WORKERS)",
    )
    serve.add_argument(
        "--data-dir",
        help="where the node keeps its private Redis and token secret (default ./.dropin; env DROPIN_DATA_DIR)",
    )
    serve.add_argument(
        "--redis-url",
        help="Redis to use, e.g. redis://localhost:6379/0; if unset the node starts its own redis-server "
        "in the data directory (env REDIS_URL or DROPIN_REDIS_URL)",
    )
    serve.add_argument(
        "--udp-port",
        type=int,
        help="the one UDP port every member's audio uses (default: any free port; with --workers N, "
        "N ports from here, one per worker; env DROPIN_UDP_PORT)",
    )
    serve.add_argument(
        "--announced-ip",
        help="the IPv4 address browsers reach --udp-port on when it isn't this host's own (a published "
        "container port, a 1:1 NAT); env DROPIN_ANNOUNCED_IP",
    )
    serve.add_argument(
        "--ice-server",
        action="append",
        dest="ice_servers",
        metavar="URL",
        help="STUN server URL (stun:host:port) for the server's and the browsers' peer connections, repeatable "
        "(default none: host candidates only; env DROPIN_ICE_SERVERS, comma-separated)",
    )
    serve.add_argument(
        "--turn-url",
        action="append",
        dest="turn_urls",
        metavar="URL",
        help="TURN server for the browsers, repeatable: turn:HOST:3478?transport=udp, turn:HOST:3478?transport=tcp, "
        "turns:HOST:443?transport=tcp (env DROPIN_TURN_URLS, comma-separated); needs --turn-secret",
    )
    serve.add_argument(
        "--turn-secret",
        help="the secret shared with the TURN server (coturn: use-auth-secret, static-auth-secret); each member "
        "gets credentials of their own from it (env DROPIN_TURN_SECRET)",
    )
    serve.add_argument(
        "--turn-ttl",
        type=int,
        dest="turn_ttl_s",
        metavar="SECONDS",
        help="how long a member's TURN credentials last (default 43200; env DROPIN_TURN_TTL_S)",
    )
    serve.add_argument(
        "--webhook-url",
        action="append",
        dest="webhook_urls",
        metavar="URL",
        help="an endpoint that gets every room's and club's events as signed POSTs, repeatable "
        "(env DROPIN_WEBHOOK_URLS, comma-separated); needs --webhook-secret",
    )
    serve.add_argument(
        "--webhook-secret",
        help="signs the webhooks: whsec_ and base64, e.g. whsec_$(openssl rand -base64 32) (env DROPIN_WEBHOOK_SECRET)",
    )
    serve.add_argument(
        "--tls-cert",
        metavar="FILE",
        help="PEM certificate (chain) to serve HTTPS and WSS with; needs --tls-key (env DROPIN_TLS_CERT)",
    )
    serve.add_argument("--tls-key", metavar="FILE", help="the certificate's PEM private key (env DROPIN_TLS_KEY)")
    serve.add_argument(
        "--log-level",
        choices=["critical", "error", "warning", "info", "debug"],
        help="log verbosity (default info; env DROPIN_LOG_LEVEL)",
    )
    serve.add_argument(
        "--log-format",
        choices=["text", "json"],
        help="text lines, or one JSON object a line with the room, member and request each is about "
        "(default text; env DROPIN_LOG_FORMAT)",
    )
    operator.add_commands(commands)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {
        key: value
        for key, value in vars(args).items()
        if key != "command" and value is not None
    }
    if "ice_servers" in overrides:
        overrides["ice_servers"] = [{"urls": [url]} for url in overrides["ice_servers"]]
    return Settings(**overrides)


def check_tls(cert: Path, key: Path) -> None:
    """Raise TlsUnusable, in one line, unless `cert` and `key` load as a certificate and its key."""
    for path in (cert, key):
        try:
            path.read_bytes()
        except OSError as exc:
            raise TlsUnusable(f"cannot read {path}: {exc.strerror}") from None
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        raise TlsUnusable(f"{cert} and {key} are not a PEM certificate and its key ({exc.reason})") from None


def serve(settings: Settings) -> None:
    from server.app import WORKER_SETTINGS, create_app

    if settings.tls_cert and settings.tls_key:
        check_tls(settings.tls_cert, settings.tls_key)
    logs.setup(settings.log_format, settings.log_level, settings.secrets)
    # uvicorn re-raises SIGTERM after its graceful shutdown; exit normally instead so the private
    # Redis below is stopped cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with redis_url_for(settings.redis_url, settings.data_dir) as url:
        # The nodes of one port share the Redis and the secret: settle both before they start.
        settings = settings.model_copy(
            update={"redis_url": url, "secret": settings.secret or load_or_create_secret(settings.data_dir)}
        )
        workers = f", {settings.workers} workers" if settings.workers > 1 else ""
        scheme = "https" if settings.tls_cert else "http"
        banner = f"Dropin is running on {scheme}://{settings.host}:{settings.port}{workers}  (Redis: {url})"
        print(logs.line(settings.log_format, banner, settings.secrets), flush=True)
        options: dict[str, Any] = {
            "host": settings.host,
            "port": settings.port,
            "log_level": settings.log_level,
            "log_config": None,  # uvicorn's lines go through logs.setup's formatter, like ours
            "ws_max_size": max(1 << 20, 4 * settings.max_message_bytes),
            # Messages are small JSON, many of them broadcast to a whole room: compressing each
            # one per connection costs more CPU than the bytes it saves.
            "ws_per_message_deflate": False,
            # SIGTERM drains the node: no new connections, each websocket closed with 1012 (the
            # page reconnects at once, elsewhere), members let go, origins handed over; it exits
            # when that is done, or after this long regardless.
            "timeout_graceful_shutdown": DRAIN_S,
        }
        if settings.tls_cert and settings.tls_key:
            options.update(ssl_certfile=str(settings.tls_cert), ssl_keyfile=str(settings.tls_key))
        if settings.workers == 1:
            uvicorn.run(create_app(settings), **options)
        else:  # uvicorn's supervisor: one shared socket, and a worker that dies is started again
            os.environ[WORKER_SETTINGS] = settings.model_dump_json()
            uvicorn.run("server.app:worker_app", factory=True, workers=settings.workers, **options)


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command in operator.COMMANDS:
        sys.exit(operator.run(args))
    try:
        settings = settings_from(args)
        if args.command == "serve":
            serve(settings)
    except (RedisUnavailable, AiortcInternalsMoved, TlsUnusable) as exc:
        print(f"dropin: {exc}", file=sys.stderr)
        sys.exit(2)
    except ValidationError as exc:
        print(invalid_setting(exc), file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        pass
