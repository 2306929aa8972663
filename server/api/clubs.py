"""Club routes: create, list, read one with its schedule, follow, make hosts, calendar feed."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response
from pydantic import StringConstraints

from server.api.deps import Caller, RequestBody
from server.api.errors import BODY, SIGNED_IN, STORE, errors
from server.api.events import CALENDAR, CALENDAR_TYPE, Id, IdPath, Schedules, Viewer
from server.schedule.views import ClubList, ClubOut, ClubPage
from vocabulary.errors import ErrorCode

router = APIRouter(prefix="/api/clubs", tags=["clubs"])
A_CLUB = (*SIGNED_IN, ErrorCode.INVALID_MESSAGE, ErrorCode.CLUB_NOT_FOUND, *STORE)  # naming a club, token or not


class ClubCreate(RequestBody):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""
    visibility: Literal["public", "private"] = "public"


class HostIn(RequestBody):
    identity_id: Id


@router.post(
    "", status_code=201, response_model=ClubOut, summary="Start a club", responses=errors(*SIGNED_IN, *BODY, *STORE)
)
async def create_club(body: ClubCreate, caller: Caller, schedules: Schedules) -> ClubOut:
    """Start a club; you are its first host."""
    return await schedules.create_club(caller, body.name, body.description, body.visibility)


@router.get(
    "", response_model=ClubList, summary="List clubs",
    responses=errors(*SIGNED_IN, ErrorCode.INVALID_MESSAGE, *STORE),
)
async def list_clubs(viewer: Viewer, schedules: Schedules) -> ClubList:
    """Public clubs, and the private ones you belong to, newest first."""
    return await schedules.club_list(viewer)


@router.get("/{club_id}", response_model=ClubPage, summary="Read a club and its schedule", responses=errors(*A_CLUB))
async def get_club(club_id: IdPath, viewer: Viewer, schedules: Schedules) -> ClubPage:
    """A club with the series you may see, what's coming up and what has been."""
    return await schedules.club_page(club_id, viewer)


@router.post(
    "/{club_id}/follow", response_model=ClubOut, summary="Follow a club", responses=errors(*A_CLUB, ErrorCode.FORBIDDEN)
)
async def follow(club_id: IdPath, caller: Caller, schedules: Schedules) -> ClubOut:
    """Follow a public club (a private one is joined through an invite link)."""
    return await schedules.follow(club_id, caller)


@router.delete(
    "/{club_id}/follow", response_model=ClubOut, summary="Unfollow a club",
    responses=errors(*A_CLUB, ErrorCode.FORBIDDEN),
)
async def unfollow(club_id: IdPath, caller: Caller, schedules: Schedules) -> ClubOut:
    """Stop following a club (hosts too, unless they are its only host)."""
    return await schedules.unfollow(club_id, caller)


@router.post(
    "/{club_id}/hosts", response_model=ClubOut, summary="Make a member a host",
    responses=errors(*A_CLUB, *BODY, ErrorCode.FORBIDDEN),
)
async def add_host(club_id: IdPath, body: HostIn, caller: Caller, schedules: Schedules) -> ClubOut:
    """Make a member a host (club hosts only)."""
    return await schedules.add_host(club_id, caller, body.identity_id)


@router.get(
    "/{club_id}/calendar.ics", response_class=Response, summary="Subscribe to a club's calendar",
    responses={**CALENDAR, **errors(*A_CLUB)},
)
async def club_calendar(club_id: IdPath, request: Request, viewer: Viewer, schedules: Schedules) -> Response:
    """A public club's series as a subscribable iCalendar feed."""
    body = await schedules.club_calendar(club_id, viewer, str(request.base_url))
    return Response(body, media_type=CALENDAR_TYPE)
