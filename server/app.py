"""Assembles one Dropin node: REST API, the signalling websocket, the web client, and the
services behind them. `create_app(settings)` is what `dropin serve` runs and what tests call."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import FrameType

from fastapi import FastAPI, WebSocket
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from server import logs
from server.api import (
    club_space,
    clubs,
    docs,
    errors,
    events,
    health,
    identity,
    invites,
    media,
    metrics,
    nodes,
    recordings,
    rooms,
    webhooks,
)
from server.cluster.cascade import Cascade
from server.cluster.registry import Registry
from server.config import Settings
from server.identity import TokenIssuer, load_or_create_secret
from server.media.aiortc_adapter import check_internals
from server.media.router import MediaRouter
from server.media.turn import IceServers
from server.media.udp_mux import UdpMux
from server.metrics import Metrics
from server.processes import die_with_parent
from server.schedule.club_space import ClubSpace
from server.schedule.service import ScheduleService
from server.seats import Seats
from server.service import RoomService
from server.state.club_feed import ClubFeeds
from server.state.redis_server import redis_url_for
from server.state.rooms import RoomStore
from server.state.storage import feed_client, request_client
from server.state.timers import Timers
from server.webhooks import ClubWebhooks, Delivery, Dispatcher
from signaling.session import Session

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


class StarletteTransport:
    """signaling.session.Transport over a Starlette websocket."""

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket

    async def receive(self) -> str | bytes | None:
        message = await self._ws.receive()
        if message["type"] == "websocket.disconnect":
            return None
        return message.get("text") if message.get("text") is not None else message.get("bytes", b"")

    async def send(self, text: str) -> None:
        await self._ws.send_text(text)

    async def close(self, code: int) -> None:
        await self._ws.close(code)


def _page(path: Path) -> Callable[[str], Awaitable[FileResponse]]:
    """A route serving one of the web client's pages; the page's script reads the id from the URL."""

    async def page(id: str) -> FileResponse:
        return FileResponse(path)

    return page


WORKER_SETTINGS = "DROPIN_WORKER_SETTINGS"  # how `dropin serve --workers N` hands its settings on


def worker_app() -> FastAPI:
    """One worker of `dropin serve --workers N` (uvicorn calls this in each worker process)."""
    die_with_parent()  # should the supervisor be killed, its workers drain and go too
    settings = Settings.model_validate_json(os.environ[WORKER_SETTINGS])
    logs.setup(settings.log_format, settings.log_level, settings.secrets)
    return create_app(settings)


def exit_on_second_sigterm(on_first: Callable[[], None] = lambda: None, notice_s: float = 0) -> None:
    """While the node drains after a SIGTERM, a second one exits at once (uvicorn only does that
    for a second Ctrl-C). The first calls `on_first` and starts the drain `notice_s` later, serving
    on meanwhile. Called in the event loop once uvicorn has its own handler in place, which drains."""
    if threading.current_thread() is not threading.main_thread():
        return  # not served by uvicorn's main loop (an embedding test client): nothing to drain
    draining = signal.getsignal(signal.SIGTERM)
    if not callable(draining):
        return
    loop = asyncio.get_running_loop() if notice_s else None
    terms = 0

    def on_term(signum: int, frame: FrameType | None) -> None:
        nonlocal terms
        terms += 1
        if terms > 1:
            log.warning("a second SIGTERM: exiting without waiting for the drain")
            os._exit(0)
        on_first()
        if loop:
            log.info("SIGTERM: draining in %s s", notice_s)
            loop.call_soon_threadsafe(loop.call_later, notice_s, draining, signum, frame)
        else:
            draining(signum, frame)

    signal.signal(signal.SIGTERM, on_term)


def advertised(host: str) -> str:
    """The address other nodes reach a socket bound to `host` at."""
    if host in ("0.0.0.0", "::", ""):
        return socket.gethostbyname(socket.gethostname())
    return host


def create_app(settings: Settings) -> FastAPI:
    check_internals()
    limits = settings.limits
    ice = IceServers(
        stun_urls=[url for server in settings.ice_servers for url in server.urls],
        turn_urls=settings.turn_urls,
        turn_secret=settings.turn_secret,
        turn_ttl_s=settings.turn_ttl_s,
    )
    if ice.turn_urls:
        log.info("browsers may relay through TURN: %s (credentials last %d s)", " ".join(ice.turn_urls), ice.turn_ttl_s)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with redis_url_for(settings.redis_url, settings.data_dir) as url:
            mux = UdpMux(str(settings.announced_ip) if settings.announced_ip else None)
            await mux.open(settings.udp_port, tries=settings.workers)
            log.info("members' audio on UDP port %d", mux.port)
            router = MediaRouter(ice.for_node(), mux=mux)
            seats = Seats()
            node_metrics = app.state.metrics = Metrics(router, seats)
            redis = request_client(
                url, settings.redis_connections, settings.redis_wait_s, node_metrics.redis_call_seconds.observe
            )
            feeds = feed_client(url)
            secret = settings.secret or load_or_create_secret(settings.data_dir)
            app.state.tokens = TokenIssuer(secret, settings.token_ttl_s)
            timers = Timers(redis)
            store = RoomStore(redis, settings.host_grace_s)
            registry = app.state.registry = Registry(
                redis, secrets.token_hex(4), f"{settings.host}:{settings.port}", seats.seated,
                settings.reconnect_grace_s,
            )
            cascade = Cascade(redis, registry, router, secret, seats_in=lambda room_id: len(seats.in_room(room_id)))
            registry.relay_stats = cascade.relay.stats
            app.state.service = RoomService(
                store, feeds, app.state.tokens, settings, router, timers, registry, seats, cascade, ice
            )
            app.state.service.joined_in = node_metrics.join_seconds.observe
            schedule = app.state.schedule = ScheduleService(store, settings)
            webhooks = app.state.webhooks = ClubWebhooks(schedule.clubs, schedule.webhooks, settings)
            app.state.club_space = ClubSpace(schedule, settings)
            club_feeds = app.state.club_feeds = ClubFeeds(feeds)
            await webhooks.store.set_operator_endpoints(
                settings.webhook_urls, settings.webhook_secret or "", settings.webhook_queue_max
            )
            dispatcher = Dispatcher(webhooks.store, Delivery(
                registry.node_id, settings.webhook_attempts, settings.webhook_timeout_s, settings.audience_batch_s,
                settings.webhook_private_ok,
            ))
            node_metrics.registry.register(dispatcher)
            router.start()
            node_metrics.start()
            app.state.service.start()
            timers.start()
            relay_host, relay_port = await cascade.start(settings.host, settings.relay_port)
            registry.relay_address = f"{advertised(relay_host)}:{relay_port}"
            registry.start()
            dispatcher.start()
            app.state.redis, app.state.draining = redis, False  # for /readyz; draining from the first SIGTERM
            loop = asyncio.get_running_loop()

            def drain() -> None:
                app.state.draining = True
                loop.call_soon_threadsafe(club_feeds.end_streams)  # open club pages reconnect elsewhere

            exit_on_second_sigterm(drain, settings.drain_notice_s)
            try:
                yield
            finally:
                await node_metrics.stop()
                await club_feeds.close()
                await dispatcher.stop()
                await timers.stop()
                await registry.stop(members_let_go=await app.state.service.stop())
                await cascade.stop()
                await router.close()
                await mux.close()
                await redis.aclose()
                await feeds.aclose()

    app = FastAPI(title="Dropin", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(logs.RequestIds)
    errors.install(app)
    docs.install(app)  # /docs and /redoc, their assets served here (no CDN)
    app.include_router(identity.router)
    app.include_router(rooms.router)
    app.include_router(media.router)
    app.include_router(recordings.router)
    app.include_router(nodes.router)
    app.include_router(health.router)
    app.state.metrics_token = settings.metrics_token
    app.include_router(metrics.router)
    for scheduling in (clubs, club_space, events, invites, webhooks):
        app.include_router(scheduling.router)

    @app.websocket("/ws")
    async def signalling(websocket: WebSocket) -> None:
        """One participant's signalling connection (docs/protocol.md)."""
        await websocket.accept()
        with websocket.app.state.metrics.websockets.track_inprogress():
            await Session(StarletteTransport(websocket), websocket.app.state.service, limits).run()

    @app.get("/", include_in_schema=False)
    async def hallway() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html")

    pages = {
        "/rooms/{id}": "room.html",
        "/rooms/{id}/roundup": "roundup.html",
        "/clubs/{id}": "club.html",
        "/events/{id}": "event.html",
        "/invite/{id}": "invite.html",
    }
    for path, page in pages.items():
        app.add_api_route(path, _page(WEB_DIR / page), methods=["GET"], include_in_schema=False)

    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
    return app
