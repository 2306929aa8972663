"""What the REST API answers about a club's discussion space (docs/scheduling.md, "The club space")."""

from __future__ import annotations

from pydantic import BaseModel, Field

from server.schedule.views import OccurrenceOut
from signaling.messages import Person


class Deleted(BaseModel):
    id: str = Field(description="the post, reply or proposal deleted")


class ReplyOut(BaseModel):
    id: str
    post_id: str
    by: Person
    text: str
    at: str


class RoundupOut(BaseModel):
    """The room a round-up post is about, with the figures its end left in Redis."""

    room_id: str
    title: str
    event_id: str | None
    occurrence: str | None
    started_at: str
    ended_at: str
    peak_listeners: int
    listeners: int = Field(description="people who listened at some point")
    speakers: int = Field(description="people who were on stage at some point")
    questions: int
    chat_messages: int
    url: str = Field(description="the round-up page: /rooms/{room_id}/roundup")


class PostOut(BaseModel):
    id: str
    kind: str = Field(description="`post`, or `roundup`: posted by the club itself when one of its rooms ended")
    by: Person | None
    text: str
    at: str
    pinned: bool
    roundup: RoundupOut | None
    replies: list[ReplyOut] = Field(description="the latest 50, oldest first")
    reply_count: int


class YouInSpace(BaseModel):
    member: bool
    host: bool
    muted: bool


class PostPage(BaseModel):
    pinned: list[PostOut]
    posts: list[PostOut] = Field(description="newest first, without the pinned ones")
    next_before: int | None = Field(description="`before` for the next page back; null on the last page")
    you: YouInSpace | None


class AdoptionOut(BaseModel):
    event_id: str
    date: str
    title: str
    by: Person
    at: str
    event_url: str


class ProposalOut(BaseModel):
    id: str
    by: Person
    text: str
    at: str
    votes: int
    you_voted: bool
    adopted: AdoptionOut | None


class ProposalList(BaseModel):
    open: list[ProposalOut] = Field(description="most upvoted first, newer first among equals")
    adopted: list[ProposalOut] = Field(description="most recently adopted first")
    you: YouInSpace | None


class Adopted(BaseModel):
    proposal: ProposalOut
    occurrence: OccurrenceOut


class MuteOut(BaseModel):
    member: Person
    by: Person
    at: str


class MuteList(BaseModel):
    muted: list[MuteOut]
