"""What an operator does from the shell: list and end rooms, ban an identity, issue a token, see
how the webhooks' deliveries stand.

The room commands work on the Redis the nodes share (REDIS_URL, or the data directory's private
one while `dropin serve` runs it) through the nodes' own store and scripts, so members hear of
them through the room log, as of a host's "End room" or a moderator's remove.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.api.identity import DisplayName
from server.config import Settings, invalid_setting
from server.domain.room import Role, Room
from server.identity import TokenIssuer, load_or_create_secret
from server.state.redis_server import private_socket
from server.state.rooms import RoomStore
from server.state.webhooks import Endpoint, WebhookStore
from vocabulary.errors import DropinError

COMMANDS = frozenset({"rooms", "ban", "token", "webhooks"})
ROOMS_LISTED = 10_000
_display_name = TypeAdapter(DisplayName).validate_python


class Refused(Exception):
    """The command can't be done; its message is one line for the operator."""


def add_commands(commands: Any) -> None:
    """Add `rooms`, `ban`, `token` and `webhooks` to the `dropin` subcommands (argparse's subparsers)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="the nodes' data directory (default ./.dropin; env DROPIN_DATA_DIR)")
    common.add_argument("--redis-url", help="the nodes' Redis (env REDIS_URL); else the data directory's own")
    rooms = commands.add_parser(
        "rooms", parents=[common], help="list the live rooms, or end one",
        description="List the live rooms, or end one for everyone as its host would. "
        "An id that starts with '-' goes after `--`: dropin rooms end -- -AbC",
    )
    rooms.add_argument("action", nargs="?", choices=["list", "end"], default="list")
    rooms.add_argument("room_id", nargs="?", metavar="ROOM_ID", help="the room to end")
    rooms.add_argument("--json", action="store_true", help="list the rooms as JSON")
    ban = commands.add_parser(
        "ban", parents=[common], help="remove an identity from a room and keep it out",
        description="Remove an identity from a live room (if it is in it) and ban it from rejoining.",
    )
    ban.add_argument("room_id", metavar="ROOM_ID")
    ban.add_argument("identity_id", metavar="IDENTITY_ID")
    ban.add_argument("--minutes", type=int, help="ban for this long (default: for the rest of the room)")
    token = commands.add_parser(
        "token", parents=[common], help="issue an identity token for a bot or integration",
        description="Print a new identity token (on stdout, alone) signed with the nodes' secret "
        "(DROPIN_SECRET or <data-dir>/secret); its identity id goes to stderr.",
    )
    token.add_argument("name", metavar="NAME", help="the identity's display name")
    token.add_argument("--ttl", type=int, metavar="SECONDS", help="how long it lasts (default DROPIN_TOKEN_TTL_S)")
    webhooks = commands.add_parser(
        "webhooks", parents=[common], help="the webhook endpoints and how their deliveries stand",
        description="List every webhook endpoint (the operator's and the clubs') with what is queued, delivered, "
        "failed and dropped; or the deliveries given up for one.",
    )
    webhooks.add_argument("action", nargs="?", choices=["list", "failures"], default="list")
    webhooks.add_argument("endpoint_id", nargs="?", metavar="ENDPOINT_ID", help="whose failures to list")
    webhooks.add_argument("--json", action="store_true", help="as JSON")


def main(argv: Sequence[str]) -> int:
    """`dropin rooms|ban|token ...` on its own; returns the exit status."""
    parser = argparse.ArgumentParser(prog="dropin")
    add_commands(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Run a parsed operator command; 0, or 2 with one line on stderr if it can't be done."""
    try:
        settings = Settings(**{key: getattr(args, key) for key in ("data_dir", "redis_url") if getattr(args, key)})
        if args.command == "token":
            return _token(settings, args.name, args.ttl)
        command = _webhook_command if args.command == "webhooks" else _room_command
        return asyncio.run(_with_redis(settings, lambda redis: command(redis, settings, args)))
    except (Refused, DropinError) as exc:
        print(f"dropin: {exc}", file=sys.stderr)
    except ValidationError as exc:
        print(invalid_setting(exc), file=sys.stderr)
    return 2


def _token(settings: Settings, name: str, ttl_s: int | None) -> int:
    secret = settings.secret
    if secret is None:
        if not (Path(settings.data_dir) / "secret").exists():
            raise Refused(f"no secret in {settings.data_dir}: set DROPIN_SECRET, or --data-dir to the nodes'")
        secret = load_or_create_secret(settings.data_dir)
    if ttl_s is not None and ttl_s <= 0:
        raise Refused("--ttl must be a positive number of seconds")
    try:
        name = _display_name(name)
    except ValidationError as exc:
        raise Refused(f"invalid NAME: {exc.errors()[0]['msg']}") from None
    token, identity, expires = TokenIssuer(secret, ttl_s or settings.token_ttl_s).issue(name)
    print(token)
    print(f"identity {identity.id} ({identity.name}), until {expires:%Y-%m-%d %H:%M} UTC", file=sys.stderr)
    return 0


async def _with_redis(settings: Settings, command: Callable[[Redis], Awaitable[int]]) -> int:
    url = settings.redis_url or f"unix://{private_socket(settings.data_dir)}"
    redis = Redis.from_url(url, decode_responses=True, socket_connect_timeout=3, socket_timeout=10)
    try:
        await redis.ping()
    except (RedisError, OSError, ValueError):
        raise Refused(f"no Redis at {url}; start `dropin serve` or set REDIS_URL") from None
    try:
        return await command(redis)
    finally:
        await redis.aclose()


async def _room_command(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    store = RoomStore(redis, settings.host_grace_s)
    if args.command == "ban":
        if args.minutes is not None and args.minutes <= 0:
            raise Refused("--minutes must be a positive number")
        await _live(store, args.room_id)
        present = await store.ban(args.room_id, args.identity_id, args.minutes)
        how_long = f"for {args.minutes} minutes" if args.minutes else "for the rest of the room"
        print(f"{'removed and banned' if present else 'banned'} {args.identity_id} {how_long}")
        return 0
    if args.action == "end":
        if not args.room_id:
            raise Refused("`dropin rooms end` needs a ROOM_ID")
        room = await _live(store, args.room_id)
        await store.end_as_operator(room.id)
        print(f"ended {room.id} ({room.title})")
        return 0
    if args.room_id:
        raise Refused("`dropin rooms list` takes no ROOM_ID")
    rooms = await store.live(ROOMS_LISTED)
    rows = [(r.id, r.title, f"{r.host.name} ({r.host.id})", _members(r), _when(r.created_at)) for r in rooms]
    print(json.dumps([_room_json(room) for room in rooms], indent=2) if args.json
          else _table(("ID", "TITLE", "HOST", "MEMBERS", "STARTED"), rows) if rows else "no live rooms")
    return 0


async def _webhook_command(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    store = WebhookStore(redis)
    if args.action == "failures":
        if not args.endpoint_id:
            raise Refused("`dropin webhooks failures` needs an ENDPOINT_ID")
        if await store.get(args.endpoint_id) is None:
            raise Refused(f"no webhook endpoint {args.endpoint_id}")
        failures = await store.failures(args.endpoint_id)
        rows = [(_when(f["at"]), f["id"], f["type"], str(f["attempts"]), f["error"]) for f in failures]
        print(json.dumps(failures, indent=2) if args.json
              else _table(("GIVEN UP", "ID", "TYPE", "ATTEMPTS", "ERROR"), rows) if rows else "no failed deliveries")
        return 0
    if args.endpoint_id:
        raise Refused("`dropin webhooks list` takes no ENDPOINT_ID")
    endpoints = sorted([e for e in [await store.get(i) for i in await store.ids()] if e], key=lambda e: e.created_at)
    if args.json:
        print(json.dumps([_endpoint_json(e) for e in endpoints], indent=2))
        return 0
    endpoint_rows = [
        (e.id, e.url, e.club_id or "(operator)", *map(str, (e.queued, e.delivered, e.failed, e.dropped)),
         e.last_error or "-")
        for e in endpoints
    ]
    print(_table(("ID", "URL", "CLUB", "QUEUED", "DELIVERED", "FAILED", "DROPPED", "LAST ERROR"), endpoint_rows)
          if endpoint_rows else "no webhook endpoints")
    return 0


async def _live(store: RoomStore, room_id: str) -> Room:
    """The room, if it is live; else Refused, in one line."""
    try:
        room = await store.get(room_id)
    except DropinError:
        raise Refused(f"no room {room_id}") from None
    if room.status != "live":
        raise Refused(f"room {room_id} has ended")
    return room


def _members(room: Room) -> str:
    return ", ".join(f"{room.counts[role]} {role}" for role in Role if room.counts.get(role)) or "nobody"


def _when(unix_time: float) -> str:
    return f"{datetime.fromtimestamp(unix_time, UTC):%Y-%m-%d %H:%M} UTC"


def _table(header: tuple[str, ...], body: Sequence[tuple[str, ...]]) -> str:
    rows = [header, *body]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def _room_json(room: Room) -> dict[str, Any]:
    return {
        "id": room.id,
        "title": room.title,
        "host": {"id": room.host.id, "name": room.host.name},
        "members": {role.value: room.counts.get(role, 0) for role in Role},
        "started_at": datetime.fromtimestamp(room.created_at, UTC).isoformat(),
        "visibility": room.visibility,
    }


def _endpoint_json(endpoint: Endpoint) -> dict[str, Any]:
    fields = asdict(endpoint)
    del fields["secret"], fields["batch_end"]
    return fields
