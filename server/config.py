"""Settings for one Dropin node, from the command line, the environment or defaults."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import fields
from ipaddress import IPv4Address
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from server.domain.room import RoomSettings
from signaling.messages import MAX_SLOTS
from signaling.session import Limits

_LIMITS = Limits()  # the session limits' defaults, written once in signaling.session


def default_data_dir() -> Path:
    """Where a node keeps its private Redis, secret and logs unless told otherwise."""
    return Path.cwd() / ".dropin"


TURN_SCHEMES = ("turn:", "turns:")


class IceServer(BaseModel):
    """STUN servers handed to both the server's and the browsers' peer connections. TURN is
    configured with `turn_urls` and `turn_secret`, so that no static TURN password reaches a page."""

    urls: list[str]

    @field_validator("urls")
    @classmethod
    def _stun_only(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if url.startswith(TURN_SCHEMES):
                raise ValueError(
                    f"{url}: give TURN servers with --turn-url and --turn-secret (coturn's use-auth-secret), "
                    "so that each member gets short-lived credentials"
                )
            if not url.startswith("stun:"):
                raise ValueError(f"{url}: an ICE server URL starts with stun:")
        return urls


class Settings(BaseSettings):
    """Every setting is also read from the environment as DROPIN_<NAME> (REDIS_URL works too)."""

    model_config = SettingsConfigDict(env_prefix="DROPIN_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)
    """Node processes serving the one port (`auto`: one per core); each is a node of the cluster."""
    data_dir: Path = Field(default_factory=default_data_dir)
    recordings_dir: Path | None = None
    """Where rooms' recordings are written (default: `recordings` in the data directory). Nodes on
    several machines need one they all reach: the room's origin writes, any node serves."""
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DROPIN_REDIS_URL", "REDIS_URL")
    )
    ice_servers: Annotated[list[IceServer], NoDecode] = Field(default_factory=list)
    turn_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """TURN servers handed to browsers (turn:host:3478?transport=udp|tcp, turns:host:443?transport=tcp)."""
    turn_secret: str | None = None
    """The secret shared with the TURN server (coturn's static-auth-secret)."""
    turn_ttl_s: int = Field(default=12 * 3600, ge=60, le=7 * 24 * 3600)
    """How long a member's TURN credentials last: a peer connection can't refresh its relay after."""
    log_level: str = "info"
    log_format: Literal["text", "json"] = "text"
    """`json`: one JSON object a line, with the room, member and request it is about."""
    tls_cert: Path | None = None
    """A PEM certificate (chain): with `tls_key`, the node serves HTTPS and WSS itself."""
    tls_key: Path | None = None
    drain_notice_s: float = Field(default=0, ge=0, le=60)
    """After a SIGTERM, how long the node serves on, /readyz answering 503 `draining`, before it
    drains: time for a load balancer that polls /readyz to stop sending it pages."""

    webhook_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """The operator's webhook endpoints: every event of every room and club is POSTed to each."""
    webhook_secret: str | None = None
    """Signs the operator's webhooks (`whsec_` and base64, as Standard Webhooks have it)."""
    webhook_queue_max: int = Field(default=10_000, ge=1)
    """Events kept waiting per endpoint; past that, new ones are dropped and counted."""
    webhook_attempts: int = Field(default=12, ge=1, le=100)
    """POSTs of one event before it is given up (1, 2, 4, ... 300 s apart: about 25 minutes for 12)."""
    webhook_timeout_s: float = Field(default=5.0, gt=0, le=60)
    webhook_private_ok: bool = False
    """Whether club hosts' endpoints may be on private, loopback or link-local addresses (the
    operator's always may): off, a club host can't make the nodes POST into their own network."""

    secret: str | None = None
    metrics_token: str | None = None
    """When set, GET /metrics needs `Authorization: Bearer <metrics_token>`."""
    token_ttl_s: int = 7 * 24 * 3600

    udp_port: int = Field(default=0, ge=0, le=65535)
    """The one UDP port every peer connection of this node uses (0: any free port); with
    `workers`, each takes the first free one from here on (udp_port ... udp_port + workers - 1)."""
    announced_ip: IPv4Address | None = None
    """The IPv4 address browsers reach the UDP port on, when it isn't one of this host's own (a
    container's published port, a cloud VM's 1:1 NAT): host candidates name it."""
    relay_port: int = Field(default=0, ge=0, le=65535)
    """The UDP port other nodes send this node's rooms' audio to (0: any free port)."""

    redis_connections: int = Field(default=64, ge=1)
    """Redis connections shared by this node's requests; more wait for one."""
    redis_wait_s: float = Field(default=5.0, gt=0)
    """How long a request waits for a Redis connection before it is refused with `busy`."""

    slots: int = Field(default=RoomSettings.slots, ge=1, le=MAX_SLOTS)
    max_message_bytes: int = _LIMITS.max_message_bytes
    max_sdp_bytes: int = _LIMITS.max_sdp_bytes
    rate_per_s: float = _LIMITS.rate_per_s
    rate_burst: int = _LIMITS.rate_burst
    action_rate_per_s: float = _LIMITS.action_rate_per_s
    action_burst: int = _LIMITS.action_burst
    reaction_rate_per_s: float = _LIMITS.reaction_rate_per_s
    reaction_burst: int = _LIMITS.reaction_burst
    audience_batch_s: float = 2.0
    reconnect_grace_s: float = 15.0
    host_grace_s: float = 60.0
    invite_ttl_s: int = Field(default=RoomSettings.invite_ttl_s, ge=5, le=3600)
    early_open_s: int = Field(default=600, ge=0, le=86_400)
    """How long before a scheduled room's start its host and co-hosts may open it."""
    club_posts_per_minute: int = Field(default=5, ge=1)
    """Posts and replies one member may write in one club's space in a minute."""
    club_proposals_per_hour: int = Field(default=5, ge=1)
    """Topic proposals one member may make in one club in an hour."""

    @property
    def secrets(self) -> list[str]:
        """What no log line may show."""
        return [secret for secret in (self.turn_secret, self.secret, self.metrics_token, self.webhook_secret) if secret]

    @property
    def limits(self) -> Limits:
        """Each session's limits: the settings named like `Limits`' fields."""
        return Limits(**{field.name: getattr(self, field.name) for field in fields(Limits)})

    @field_validator("ice_servers", mode="before")
    @classmethod
    def _parse_ice_servers(cls, value: Any) -> Any:
        """Accept JSON (`[{"urls": [...]}]`) or a comma-separated list of URLs."""
        if not isinstance(value, str):
            return value
        value = value.strip()
        if not value:
            return []
        if value.startswith("["):
            return json.loads(value)
        return [{"urls": [url.strip()]} for url in value.split(",") if url.strip()]

    @field_validator("turn_urls", "webhook_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: Any) -> Any:
        """The environment's comma-separated URLs."""
        return [url.strip() for url in value.split(",") if url.strip()] if isinstance(value, str) else value

    @field_validator("turn_urls")
    @classmethod
    def _turn_only(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(TURN_SCHEMES):
                raise ValueError(f"{url}: a TURN server URL starts with turn: or turns:")
        return urls

    @model_validator(mode="after")
    def _turn_needs_its_secret(self) -> Settings:
        if bool(self.turn_urls) != bool(self.turn_secret):
            raise ValueError("TURN needs both --turn-url and --turn-secret (DROPIN_TURN_URLS, DROPIN_TURN_SECRET)")
        return self

    @field_validator("webhook_urls")
    @classmethod
    def _http_only(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url}: a webhook URL starts with http:// or https://")
        return urls

    @model_validator(mode="after")
    def _webhooks_need_their_secret(self) -> Settings:
        if self.webhook_urls and not self.webhook_secret:
            raise ValueError("webhooks need --webhook-secret (DROPIN_WEBHOOK_SECRET): "
                             "whsec_ and 32 random bytes in base64, e.g. whsec_$(openssl rand -base64 32)")
        if self.webhook_secret and not _is_whsec(self.webhook_secret):
            raise ValueError("the webhook secret is whsec_ and base64, e.g. whsec_$(openssl rand -base64 32)")
        return self

    @model_validator(mode="after")
    def _tls_needs_both(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("TLS needs both --tls-cert and --tls-key (DROPIN_TLS_CERT, DROPIN_TLS_KEY)")
        return self

    @field_validator("workers", mode="before")
    @classmethod
    def _auto_workers(cls, value: Any) -> Any:
        return os.cpu_count() or 1 if value == "auto" else value

    @field_validator("log_level")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


def _is_whsec(secret: str) -> bool:
    try:
        return secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) >= 16
    except ValueError:
        return False


def invalid_setting(exc: ValidationError) -> str:
    """One line for the first thing wrong with the settings, as the commands print it."""
    error = exc.errors()[0]
    where = f"{error['loc'][0]}: " if error["loc"] else ""
    return f"dropin: invalid setting: {where}{error['msg'].removeprefix('Value error, ')}"
