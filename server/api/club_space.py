"""A club's discussion space: posts and replies, pins, mutes, topic proposals that become themes,
and a live stream of its changes (docs/scheduling.md, "The club space")."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from server.api.deps import Caller, RequestBody, identity
from server.api.docs import text_body
from server.api.errors import BODY, SIGNED_IN, STORE, errors
from server.api.events import AN_OCCURRENCE, Id, IdPath, Viewer
from server.domain.room import Identity
from server.schedule.club_space import ClubSpace
from server.schedule.space_views import (
    Adopted,
    Deleted,
    MuteList,
    PostOut,
    PostPage,
    ProposalList,
    ProposalOut,
    ReplyOut,
)
from server.state.club_feed import ClubFeeds
from server.state.club_space import PAGE, PAGE_MAX, POST_MAX, PROPOSAL_MAX, REPLY_MAX, ClubSpaceStore
from vocabulary.errors import ErrorCode

router = APIRouter(prefix="/api/clubs/{club_id}", tags=["club space"])

A_CLUB = (*SIGNED_IN, ErrorCode.INVALID_MESSAGE, ErrorCode.CLUB_NOT_FOUND, *STORE)  # naming a club, token or not
WRITE = (*A_CLUB, *BODY, ErrorCode.FORBIDDEN, ErrorCode.RATE_LIMITED)  # a member writing text
ONE = (*A_CLUB, ErrorCode.NOT_FOUND, ErrorCode.FORBIDDEN)  # acting on one post, reply, proposal or member
ItemPath = Annotated[str, Path(pattern=r"^[a-z][0-9]{1,12}$")]
HEARTBEAT_S = 15.0
RETRY_MS = 2000
STREAM_ID = re.compile(r"^[0-9]{1,20}-[0-9]{1,20}$")


def _limit(what: str, limit: int) -> Callable[[str], str]:
    """A text field's check: trimmed, not empty, at most `limit` characters, with a refusal that says so."""

    def check(value: str) -> str:
        value = value.strip()
        if not value:
            raise PydanticCustomError("text_empty", f"{what} can't be empty")
        if len(value) > limit:
            raise PydanticCustomError(
                "text_too_long", f"{what} is at most {limit} characters; this one has {len(value)}",
            )
        return value

    return check


class PostIn(RequestBody):
    text: Annotated[str, AfterValidator(_limit("a post", POST_MAX))]


class ReplyIn(RequestBody):
    text: Annotated[str, AfterValidator(_limit("a reply", REPLY_MAX))]


class ProposalIn(RequestBody):
    text: Annotated[str, AfterValidator(_limit("a proposal", PROPOSAL_MAX))]


class AdoptIn(RequestBody):
    event_id: Id
    date: dt.date = Field(strict=False, description="the occurrence's local date, as ISO text: 2026-04-02")


def club_space(request: Request) -> ClubSpace:
    space: ClubSpace = request.app.state.club_space  # set by server/app.py
    return space


Spaces = Annotated[ClubSpace, Depends(club_space)]


# Posts and replies


@router.get("/posts", response_model=PostPage, summary="Read a club's posts", responses=errors(*A_CLUB))
async def posts(
    club_id: IdPath, viewer: Viewer, space: Spaces,
    before: Annotated[int | None, Query(ge=1, description="the `next_before` of the page before")] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE,
) -> PostPage:
    """The pinned posts, then the posts newest first, a page at a time, each with its latest replies."""
    return await space.page(club_id, viewer, before, limit)


@router.post("/posts", status_code=201, response_model=PostOut, summary="Post in a club", responses=errors(*WRITE))
async def post(club_id: IdPath, body: PostIn, caller: Caller, space: Spaces) -> PostOut:
    """Post in the club's space (members; up to 2000 characters)."""
    return await space.post(club_id, caller, body.text)


@router.post(
    "/posts/{post_id}/replies", status_code=201, response_model=ReplyOut, summary="Reply to a post",
    responses=errors(*WRITE, ErrorCode.NOT_FOUND),
)
async def reply(club_id: IdPath, post_id: ItemPath, body: ReplyIn, caller: Caller, space: Spaces) -> ReplyOut:
    """Reply to a post (members; up to 1000 characters)."""
    return await space.reply(club_id, post_id, caller, body.text)


@router.delete("/posts/{post_id}", response_model=Deleted, summary="Delete a post", responses=errors(*ONE))
async def delete_post(club_id: IdPath, post_id: ItemPath, caller: Caller, space: Spaces) -> Deleted:
    """Delete a post and its replies (its author, or a club host)."""
    await space.delete_post(club_id, post_id, caller)
    return Deleted(id=post_id)


@router.delete(
    "/posts/{post_id}/replies/{reply_id}", response_model=Deleted, summary="Delete a reply", responses=errors(*ONE)
)
async def delete_reply(
    club_id: IdPath, post_id: ItemPath, reply_id: ItemPath, caller: Caller, space: Spaces
) -> Deleted:
    """Delete a reply (its author, or a club host)."""
    await space.delete_reply(club_id, post_id, reply_id, caller)
    return Deleted(id=reply_id)


@router.put("/posts/{post_id}/pin", response_model=PostOut, summary="Pin a post", responses=errors(*ONE))
async def pin(club_id: IdPath, post_id: ItemPath, caller: Caller, space: Spaces) -> PostOut:
    """Pin a post above the others (club hosts)."""
    return await space.pin(club_id, post_id, caller, True)


@router.delete("/posts/{post_id}/pin", response_model=PostOut, summary="Unpin a post", responses=errors(*ONE))
async def unpin(club_id: IdPath, post_id: ItemPath, caller: Caller, space: Spaces) -> PostOut:
    """Unpin a post (club hosts)."""
    return await space.pin(club_id, post_id, caller, False)


# Mutes


@router.get(
    "/mutes", response_model=MuteList, summary="List muted members", responses=errors(*A_CLUB, ErrorCode.FORBIDDEN)
)
async def mutes(club_id: IdPath, caller: Caller, space: Spaces) -> MuteList:
    """The members muted in the club's space (club hosts)."""
    return await space.mutes(club_id, caller)


@router.put("/mutes/{member_id}", response_model=MuteList, summary="Mute a member", responses=errors(*ONE))
async def mute(club_id: IdPath, member_id: IdPath, caller: Caller, space: Spaces) -> MuteList:
    """Mute a member: they read the space but can't post, reply or propose (club hosts; not a host)."""
    return await space.mute(club_id, member_id, caller, True)


@router.delete("/mutes/{member_id}", response_model=MuteList, summary="Unmute a member", responses=errors(*ONE))
async def unmute(club_id: IdPath, member_id: IdPath, caller: Caller, space: Spaces) -> MuteList:
    """Let a muted member write again (club hosts)."""
    return await space.mute(club_id, member_id, caller, False)


# Topic proposals


@router.get(
    "/proposals", response_model=ProposalList, summary="Read a club's topic proposals", responses=errors(*A_CLUB)
)
async def proposals(club_id: IdPath, viewer: Viewer, space: Spaces) -> ProposalList:
    """Open proposals, most upvoted first, and those adopted as themes."""
    return await space.proposals(club_id, viewer)


@router.post(
    "/proposals", status_code=201, response_model=ProposalOut, summary="Propose a topic", responses=errors(*WRITE)
)
async def propose(club_id: IdPath, body: ProposalIn, caller: Caller, space: Spaces) -> ProposalOut:
    """Propose a topic for a coming occurrence (members; up to 200 characters)."""
    return await space.propose(club_id, caller, body.text)


@router.put("/proposals/{proposal_id}/vote", response_model=ProposalOut, summary="Upvote a proposal",
            responses=errors(*ONE))
async def vote(club_id: IdPath, proposal_id: ItemPath, caller: Caller, space: Spaces) -> ProposalOut:
    """Upvote an open proposal (members; twice is harmless)."""
    return await space.vote(club_id, proposal_id, caller, True)


@router.delete("/proposals/{proposal_id}/vote", response_model=ProposalOut, summary="Take an upvote back",
               responses=errors(*ONE))
async def unvote(club_id: IdPath, proposal_id: ItemPath, caller: Caller, space: Spaces) -> ProposalOut:
    """Take your upvote back."""
    return await space.vote(club_id, proposal_id, caller, False)


@router.post(
    "/proposals/{proposal_id}/adopt", response_model=Adopted, summary="Make a proposal an occurrence's theme",
    responses=errors(*ONE, *BODY, *AN_OCCURRENCE),
)
async def adopt(club_id: IdPath, proposal_id: ItemPath, body: AdoptIn, caller: Caller, space: Spaces) -> Adopted:
    """Make the proposal the theme of one of the club's occurrences (the series' host and co-hosts,
    who set its themes)."""
    return await space.adopt(club_id, proposal_id, caller, body.event_id, body.date)


@router.delete(
    "/proposals/{proposal_id}", response_model=Deleted, summary="Delete a proposal", responses=errors(*ONE)
)
async def delete_proposal(club_id: IdPath, proposal_id: ItemPath, caller: Caller, space: Spaces) -> Deleted:
    """Delete a proposal (its author, or a club host); a theme it became stays."""
    await space.delete_proposal(club_id, proposal_id, caller)
    return Deleted(id=proposal_id)


# Live


def _event(kind: str, data: dict[str, Any], entry_id: str | None = None) -> str:
    head = f"id: {entry_id}\n" if entry_id else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data)}\n\n"


def _after(a: str, b: str) -> bool:
    """Whether stream id `a` comes after `b`."""
    ms_a, seq_a = a.split("-")
    ms_b, seq_b = b.split("-")
    return (int(ms_a), int(seq_a)) > (int(ms_b), int(seq_b))


async def _changes(store: ClubSpaceStore, feeds: ClubFeeds, club_id: str, resume: str | None) -> AsyncIterator[str]:
    async with feeds.subscribe(club_id) as queue:
        yield f"retry: {RETRY_MS}\n\n"
        missed = await store.changes_after(club_id, resume, count=1000) if resume is not None else None
        if resume is not None and missed is None:
            yield _event("reset", {})
        position = await store.last_change(club_id) if missed is None else resume or "0-0"
        for entry_id, change in missed or []:
            yield _event("change", change, entry_id)
            position = entry_id
        yield _event("ready", {}, position)  # a reconnect resumes from here, even before any change
        while True:
            try:
                entry_id, change = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            if change["type"] == "closing":
                return
            if not entry_id:
                yield _event(change["type"], {})
            elif _after(entry_id, position):
                position = entry_id
                yield _event("change", change, entry_id)


@router.get(
    "/live", response_class=StreamingResponse, summary="Follow a club's space live",
    responses={**text_body("text/event-stream", "Server-Sent Events"), **errors(*A_CLUB)},
)
async def live(
    club_id: IdPath, request: Request, space: Spaces,
    token: Annotated[str | None, Query(description="the bearer token, for EventSource, which sends no headers")] = None,
    authorization: Annotated[str | None, Header()] = None,
    last_event_id: Annotated[str | None, Header(description="sent by EventSource when it reconnects")] = None,
) -> StreamingResponse:
    """Server-Sent Events: `change` (`{"type", "id", ...}`, with the change's id) for each change of
    the space, `ready` once caught up, `reset` when what was missed is gone (read the space anew),
    and a heartbeat comment every 15 s. With `Last-Event-ID` it resumes after that change. A
    private club's stream is for its members."""
    viewer: Identity | None = None
    if authorization or token:
        viewer = identity(request, authorization or f"Bearer {token}")
    await space.readable(club_id, viewer)
    resume = last_event_id if last_event_id and STREAM_ID.match(last_event_id) else None
    feeds: ClubFeeds = request.app.state.club_feeds  # set by server/app.py
    return StreamingResponse(
        _changes(space.store, feeds, club_id, resume), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

