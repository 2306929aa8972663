"""Scheduled rooms: event series, their occurrences (themes, RSVPs, opening the room), calendar
export, and what is starting soon (docs/scheduling.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from pydantic import Field, StringConstraints

from server.api.deps import Caller, RequestBody, identity
from server.api.docs import text_body
from server.api.errors import BODY, SIGNED_IN, STORE, errors
from server.domain.recurrence import Recurrence, Schedule
from server.domain.room import Identity
from server.schedule.service import ScheduleService
from server.schedule.views import OccurrenceOut, RsvpList, SeriesOut, SeriesPage, SoonList
from vocabulary.errors import ErrorCode

router = APIRouter(prefix="/api", tags=["events"])

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
IdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
OccurrenceDate = Annotated[dt.date, Path(description="the occurrence's local date in the series' time zone")]
AN_EVENT = (*SIGNED_IN, ErrorCode.INVALID_MESSAGE, ErrorCode.EVENT_NOT_FOUND, *STORE)  # naming a series
AN_OCCURRENCE = (*AN_EVENT, ErrorCode.NOT_AN_OCCURRENCE)  # naming one of its dates
RUN = (ErrorCode.FORBIDDEN,)  # host and co-hosts only
CALENDAR_TYPE = "text/calendar; charset=utf-8"
CALENDAR = text_body("text/calendar", "an iCalendar file")


def schedule(request: Request) -> ScheduleService:
    schedules: ScheduleService = request.app.state.schedule  # set by server/app.py
    return schedules


def viewer(request: Request, authorization: Annotated[str | None, Header()] = None) -> Identity | None:
    """The caller's identity if they sent a token, else None (a token that is sent must be valid)."""
    return identity(request, authorization) if authorization else None


Schedules = Annotated[ScheduleService, Depends(schedule)]
Viewer = Annotated[Identity | None, Depends(viewer)]


class CohostIn(RequestBody):
    id: Id
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class RecurrenceIn(RequestBody):
    frequency: Literal["none", "weekly", "monthly"] = "none"
    interval: Annotated[int, Field(ge=1, le=52)] = 1
    weekday_position: Literal[1, 2, 3, 4, -1] | None = None
    until: dt.date | None = Field(default=None, strict=False)  # ISO text in JSON
    count: Annotated[int, Field(ge=1)] | None = None


class SeriesCreate(RequestBody):
    club_id: Id | None = None
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    agenda: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    start: dt.datetime = Field(
        strict=False, description="local time in `timezone`, without an offset: 2026-04-02T13:00"
    )
    duration_minutes: Annotated[int, Field(gt=0, le=720)]
    cohosts: Annotated[list[Id | CohostIn], Field(max_length=20)] = []
    visibility: Literal["public", "club", "invite"] | None = None
    recurrence: RecurrenceIn = RecurrenceIn()


class ThemeIn(RequestBody):
    theme: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


@router.post(
    "/events", status_code=201, response_model=SeriesOut, summary="Schedule a series",
    responses=errors(
        *SIGNED_IN, *BODY, ErrorCode.CLUB_NOT_FOUND, ErrorCode.FORBIDDEN, ErrorCode.INVALID_TIMEZONE,
        ErrorCode.UNBOUNDED_RECURRENCE, ErrorCode.TOO_MANY_OCCURRENCES, ErrorCode.END_BEFORE_START, *STORE,
    ),
)
async def create_series(body: SeriesCreate, caller: Caller, schedules: Schedules) -> SeriesOut:
    """Schedule a room, usually a recurring one; you are its host. In a club, only its hosts may."""
    r = body.recurrence
    plan = Schedule.plan(
        body.timezone, body.start, dt.timedelta(minutes=body.duration_minutes),
        Recurrence(r.frequency, r.interval, r.weekday_position, r.until, r.count),
    )
    return await schedules.create_series(
        caller, club_id=body.club_id, title=body.title, agenda=body.agenda, schedule=plan,
        cohosts=[(c, None) if isinstance(c, str) else (c.id, c.name) for c in body.cohosts],
        visibility=body.visibility,
    )


@router.get("/events/{event_id}", response_model=SeriesPage, summary="Read a series", responses=errors(*AN_EVENT))
async def get_series(event_id: IdPath, viewer: Viewer, schedules: Schedules) -> SeriesPage:
    """A series with its last 5 and next 10 occurrences."""
    return await schedules.series_page(event_id, viewer)


@router.get(
    "/events/{event_id}/calendar.ics", response_class=Response, summary="Download a series' calendar",
    responses={**CALENDAR, **errors(*AN_EVENT)},
)
async def series_calendar(event_id: IdPath, request: Request, viewer: Viewer, schedules: Schedules) -> Response:
    """The series as an iCalendar file (subscribable for public series)."""
    body = await schedules.series_calendar(event_id, viewer, str(request.base_url))
    return Response(body, media_type=CALENDAR_TYPE)


@router.put(
    "/events/{event_id}/occurrences/{date}/theme", response_model=OccurrenceOut, summary="Set an occurrence's theme",
    responses=errors(*AN_OCCURRENCE, *BODY, *RUN),
)
async def set_theme(
    event_id: IdPath, date: OccurrenceDate, body: ThemeIn, caller: Caller, schedules: Schedules
) -> OccurrenceOut:
    """Give one occurrence a theme of its own (host and co-hosts)."""
    return await schedules.set_theme(event_id, date, caller, body.theme)


@router.delete(
    "/events/{event_id}/occurrences/{date}/theme", response_model=OccurrenceOut,
    summary="Clear an occurrence's theme", responses=errors(*AN_OCCURRENCE, *RUN),
)
async def clear_theme(event_id: IdPath, date: OccurrenceDate, caller: Caller, schedules: Schedules) -> OccurrenceOut:
    """Take an occurrence's theme away (host and co-hosts)."""
    return await schedules.set_theme(event_id, date, caller, None)


@router.post(
    "/events/{event_id}/occurrences/{date}/rsvp", response_model=OccurrenceOut, summary="RSVP to an occurrence",
    responses=errors(*AN_OCCURRENCE, ErrorCode.OCCURRENCE_OVER),
)
async def rsvp(event_id: IdPath, date: OccurrenceDate, caller: Caller, schedules: Schedules) -> OccurrenceOut:
    """I'm interested."""
    return await schedules.rsvp(event_id, date, caller, interested=True)


@router.delete(
    "/events/{event_id}/occurrences/{date}/rsvp", response_model=OccurrenceOut, summary="Withdraw an RSVP",
    responses=errors(*AN_OCCURRENCE, ErrorCode.OCCURRENCE_OVER),
)
async def withdraw_rsvp(event_id: IdPath, date: OccurrenceDate, caller: Caller, schedules: Schedules) -> OccurrenceOut:
    """No longer interested."""
    return await schedules.rsvp(event_id, date, caller, interested=False)


@router.get(
    "/events/{event_id}/occurrences/{date}/rsvps", response_model=RsvpList, summary="List an occurrence's RSVPs",
    responses=errors(*AN_OCCURRENCE, *RUN),
)
async def rsvps(event_id: IdPath, date: OccurrenceDate, caller: Caller, schedules: Schedules) -> RsvpList:
    """Who is interested in an occurrence (host and co-hosts)."""
    return await schedules.rsvp_list(event_id, date, caller)


@router.post(
    "/events/{event_id}/occurrences/{date}/open", response_model=OccurrenceOut, summary="Open an occurrence's room",
    responses=errors(
        *AN_OCCURRENCE, *RUN, ErrorCode.NOT_OPEN_YET, ErrorCode.OCCURRENCE_OVER, ErrorCode.CONFLICT
    ),
)
async def open_occurrence(
    event_id: IdPath, date: OccurrenceDate, caller: Caller, schedules: Schedules
) -> OccurrenceOut:
    """Open the occurrence's live room (host and co-hosts), from a little before it starts."""
    return await schedules.open(event_id, date, caller)


@router.get(
    "/occurrences/soon", response_model=SoonList, summary="What's starting soon",
    responses=errors(*SIGNED_IN, ErrorCode.INVALID_MESSAGE, *STORE),
)
async def starting_soon(viewer: Viewer, schedules: Schedules) -> SoonList:
    """Occurrences you may see that start within the hour or are live now."""
    return await schedules.soon(viewer)
