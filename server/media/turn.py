"""The ICE servers each peer connection is handed, with short-lived TURN credentials.

Credentials follow coturn's `use-auth-secret` (the TURN REST API): the username is
`<expiry unix time>:<identity id>`, the password the base64 HMAC-SHA1 of that username keyed
with the secret the TURN server shares. A member gets fresh ones with each welcome; no static
TURN password exists to leak into a page. The node's own peer connections get the STUN servers
only: a node reachable by its members' relays never needs a relay of its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field

from aiortc import RTCIceServer


@dataclass(frozen=True)
class IceServer:
    """One entry of a peer connection's `iceServers`."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


def turn_credential(secret: str, user: str, expires_at: int) -> IceServer:
    """The username and password coturn's `use-auth-secret` accepts until `expires_at` (no urls yet)."""
    username = f"{expires_at}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return IceServer(urls=[], username=username, credential=base64.b64encode(digest).decode())


@dataclass(frozen=True)
class IceServers:
    """The node's STUN and TURN servers; TURN only with the secret shared with the TURN server."""

    stun_urls: list[str] = field(default_factory=list)
    turn_urls: list[str] = field(default_factory=list)
    turn_secret: str | None = None
    turn_ttl_s: int = 12 * 3600

    def for_member(self, identity_id: str, now: float | None = None) -> list[IceServer]:
        """What a member's browser gets: the STUN servers, and TURN with credentials of its own."""
        servers = [IceServer(urls=list(self.stun_urls))] if self.stun_urls else []
        if self.turn_urls and self.turn_secret:
            expires_at = int(time.time() if now is None else now) + self.turn_ttl_s
            credential = turn_credential(self.turn_secret, identity_id, expires_at)
            servers.append(IceServer(list(self.turn_urls), credential.username, credential.credential))
        return servers

    def for_node(self) -> list[RTCIceServer]:
        """What the node's own peer connections use: STUN, to learn an address behind a NAT."""
        return [RTCIceServer(urls=list(self.stun_urls))] if self.stun_urls else []
