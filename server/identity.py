"""Signed identity tokens: a display name and a stable id, carried by REST calls and the websocket."""

from __future__ import annotations

import os
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from server.domain.room import Identity
from vocabulary.errors import DropinError, ErrorCode

ALGORITHM = "HS256"
ISSUER = "dropin"


def load_or_create_secret(data_dir: Path) -> str:
    """The server's token secret, generated once and kept (mode 600) in the data directory."""
    path = Path(data_dir) / "secret"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret)
    return secret


GRANT = "dropin-file"  # the audience of a grant (`TokenIssuer.grant`)


class TokenIssuer:
    """Issues and verifies identity tokens (JWT, HS256)."""

    def __init__(self, secret: str, ttl_s: int) -> None:
        self._secret = secret
        self._ttl = timedelta(seconds=ttl_s)

    def issue(self, name: str) -> tuple[str, Identity, datetime]:
        identity = Identity(id=uuid.uuid4().hex, name=name)
        now = datetime.now(UTC)
        expires = now + self._ttl
        claims = {"sub": identity.id, "name": name, "iss": ISSUER, "iat": now, "exp": expires}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), identity, expires

    def verify(self, token: str | None) -> Identity:
        if not token:
            raise DropinError(ErrorCode.UNAUTHORIZED, "an identity token is required")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["sub", "name", "exp", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise DropinError(ErrorCode.TOKEN_EXPIRED, "your identity token has expired; sign in again") from None
        except jwt.InvalidTokenError:
            raise DropinError(ErrorCode.UNAUTHORIZED, "the identity token is not valid") from None
        return Identity(id=str(claims["sub"]), name=str(claims["name"]))

    def grant(self, resource: str, ttl_s: int) -> str:
        """A token that lets whoever holds it read `resource` (a file an `<audio>` element fetches,
        which can send no bearer token) for `ttl_s`; it is no identity token (its audience says so)."""
        expires = datetime.now(UTC) + timedelta(seconds=ttl_s)
        return jwt.encode({"sub": resource, "aud": GRANT, "iss": ISSUER, "exp": expires}, self._secret,
                          algorithm=ALGORITHM)

    def granted(self, token: str, resource: str) -> bool:
        """Whether `token` is a live grant of `resource`."""
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER, audience=GRANT,
                                options={"require": ["sub", "aud", "exp", "iss"]})
        except jwt.InvalidTokenError:
            return False
        return bool(claims["sub"] == resource)
