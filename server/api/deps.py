"""Request dependencies shared by the REST routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from pydantic import BaseModel, ConfigDict

from server.domain.room import Identity
from server.identity import TokenIssuer
from server.service import RoomService


class RequestBody(BaseModel):
    """A request body: as strict as the websocket's messages, unknown fields and `"3"` for 3 refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


def service(request: Request) -> RoomService:
    room_service: RoomService = request.app.state.service  # set by server/app.py
    return room_service


def identity(request: Request, authorization: Annotated[str | None, Header()] = None) -> Identity:
    """The caller's identity, from `Authorization: Bearer <token>`."""
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    tokens: TokenIssuer = request.app.state.tokens  # set by server/app.py
    return tokens.verify(token)


Service = Annotated[RoomService, Depends(service)]
Caller = Annotated[Identity, Depends(identity)]
