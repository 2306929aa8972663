"""What the REST API answers about clubs, event series, occurrences and invite links (docs/scheduling.md)."""

from __future__ import annotations

from pydantic import BaseModel

from server.schedule.occurrences import Status
from signaling.messages import Person


class ClubRef(BaseModel):
    id: str
    name: str


class YouInClub(BaseModel):
    member: bool
    host: bool


class ClubOut(BaseModel):
    id: str
    name: str
    description: str
    visibility: str
    hosts: list[Person]
    member_count: int
    you: YouInClub | None
    calendar_url: str | None


class ClubList(BaseModel):
    clubs: list[ClubOut]


class RecurrenceOut(BaseModel):
    frequency: str
    interval: int
    weekday_position: int | None
    until: str | None
    count: int | None


class OccurrenceOut(BaseModel):
    event_id: str
    date: str
    starts_at: str
    ends_at: str
    local_start: str
    timezone: str
    theme: str | None
    status: Status
    room_id: str | None
    rsvp_count: int
    you_rsvped: bool


class SeriesOut(BaseModel):
    id: str
    club: ClubRef | None
    title: str
    agenda: str
    timezone: str
    start: str
    duration_minutes: int
    host: Person
    cohosts: list[Person]
    visibility: str
    recurrence: RecurrenceOut
    calendar_url: str
    next: OccurrenceOut | None


class SeriesPage(SeriesOut):
    """A series with its last 5 past and next 10 occurrences, in order."""

    occurrences: list[OccurrenceOut]


class ClubPage(ClubOut):
    """A club with the series its caller may see, their next 10 occurrences and the last 10 (newest first)."""

    series: list[SeriesOut]
    upcoming: list[OccurrenceOut]
    past: list[OccurrenceOut]


class SoonOccurrence(OccurrenceOut):
    title: str
    club: ClubRef | None


class SoonList(BaseModel):
    occurrences: list[SoonOccurrence]


class RsvpList(BaseModel):
    count: int
    people: list[Person]


class InviteOut(BaseModel):
    id: str
    token: str
    url: str
    expires_at: str
    max_uses: int
    uses: int
    revoked: bool
    follow_club: bool


class InviteList(BaseModel):
    invites: list[InviteOut]


class InvitePreview(BaseModel):
    event: SeriesOut
    club: ClubRef | None
    expires_at: str
    valid: bool
    reason: str | None
    follow_club: bool


class Accepted(BaseModel):
    event_id: str
    club_id: str | None
    followed_club: bool
