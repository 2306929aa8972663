"""Identity routes: pick a display name, get a signed token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, StringConstraints

from server.api.deps import Caller, RequestBody
from server.api.errors import BODY, SIGNED_IN, errors
from vocabulary.errors import ErrorCode

router = APIRouter(prefix="/api", tags=["identity"])

DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class IdentityRequest(RequestBody):
    name: DisplayName


class IdentityOut(BaseModel):
    id: str
    name: str


class TokenOut(BaseModel):
    token: str
    identity: IdentityOut
    expires_at: str


@router.post(
    "/identity", status_code=201, response_model=TokenOut, summary="Get an identity token", responses=errors(*BODY)
)
async def create_identity(body: IdentityRequest, request: Request) -> TokenOut:
    """Get a signed identity token for a display name. Keep it: it is who you are in rooms."""
    token, identity, expires = request.app.state.tokens.issue(body.name)
    return TokenOut(
        token=token, identity=IdentityOut(id=identity.id, name=identity.name), expires_at=expires.isoformat()
    )


@router.get(
    "/me", response_model=IdentityOut, summary="Who am I", responses=errors(*SIGNED_IN, ErrorCode.INVALID_MESSAGE)
)
async def me(caller: Caller) -> IdentityOut:
    """Who the bearer token says you are."""
    return IdentityOut(id=caller.id, name=caller.name)
