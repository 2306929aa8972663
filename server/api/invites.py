"""Invite links: hosts make them for an event; anyone holding one can see what it leads to, and
accepting it lets them into the event's rooms (and its club, if the link says so)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from server.api.deps import Caller, RequestBody
from server.api.errors import BODY, SIGNED_IN, STORE, errors
from server.api.events import AN_EVENT, RUN, IdPath, Schedules
from server.schedule.views import Accepted, InviteList, InviteOut, InvitePreview
from vocabulary.errors import ErrorCode

router = APIRouter(prefix="/api", tags=["invites"])
AN_INVITE = (ErrorCode.INVALID_MESSAGE, ErrorCode.INVITE_NOT_FOUND, *STORE)  # naming a link, by id or token


class InviteCreate(RequestBody):
    expires_in_hours: Annotated[float, Field(gt=0, le=24 * 90)] = 168
    max_uses: Annotated[int, Field(ge=1, le=10_000)] = 50
    follow_club: bool = True


@router.post(
    "/events/{event_id}/invites", status_code=201, response_model=InviteOut, summary="Make an invite link",
    responses=errors(*AN_EVENT, *BODY, *RUN),
)
async def create_invite(event_id: IdPath, body: InviteCreate, caller: Caller, schedules: Schedules) -> InviteOut:
    """Make an invite link for the event (host and co-hosts)."""
    return await schedules.create_invite(
        event_id, caller, timedelta(hours=body.expires_in_hours), body.max_uses, body.follow_club
    )


@router.get(
    "/events/{event_id}/invites", response_model=InviteList, summary="List an event's invite links",
    responses=errors(*AN_EVENT, *RUN),
)
async def list_invites(event_id: IdPath, caller: Caller, schedules: Schedules) -> InviteList:
    """The event's invite links, newest first (host and co-hosts)."""
    return await schedules.invites(event_id, caller)


@router.delete(
    "/invites/{invite_id}", response_model=InviteOut, summary="Withdraw an invite link",
    responses=errors(*SIGNED_IN, *AN_INVITE, *RUN),
)
async def revoke_invite(invite_id: IdPath, caller: Caller, schedules: Schedules) -> InviteOut:
    """Withdraw an invite link (host and co-hosts of its event)."""
    return await schedules.revoke_invite(invite_id, caller)


@router.get(
    "/invites/{token}", response_model=InvitePreview, summary="Preview an invite link", responses=errors(*AN_INVITE)
)
async def preview_invite(token: IdPath, schedules: Schedules) -> InvitePreview:
    """What an invite link leads to, and whether it can still be accepted. No token needed."""
    return await schedules.preview(token)


@router.post(
    "/invites/{token}/accept", response_model=Accepted, summary="Accept an invite",
    responses=errors(
        *SIGNED_IN, *AN_INVITE, ErrorCode.INVITE_EXPIRED, ErrorCode.INVITE_REVOKED, ErrorCode.INVITE_USED_UP
    ),
)
async def accept_invite(token: IdPath, caller: Caller, schedules: Schedules) -> Accepted:
    """Accept an invite: you may see and join the event's rooms, and follow its club if the link says so."""
    return await schedules.accept(token, caller)
