"""The ClubSpace service: a club's discussion space as the REST API uses it.

Who may do what: anyone who may see the club reads its space (a private club is
`club_not_found` to outsiders, its space and live stream included); members (followers of a
public club count) post, reply, propose and upvote unless a host muted them; authors delete
their own posts, replies and proposals, hosts delete any, pin posts and mute members. A proposal
becomes an occurrence's theme through `ScheduleService.set_theme`, the path and the permission
(the series' host and co-hosts) every theme takes. The store checks membership, mutes and rate
limits again in the step that writes, so a refusal there writes nothing either.
"""

from __future__ import annotations

from datetime import date

from server import wire
from server.config import Settings
from server.domain.room import Identity
from server.schedule.service import ScheduleService
from server.schedule.space_views import (
    Adopted,
    AdoptionOut,
    MuteList,
    MuteOut,
    PostOut,
    PostPage,
    ProposalList,
    ProposalOut,
    ReplyOut,
    RoundupOut,
    YouInSpace,
)
from server.state.club_space import ClubSpaceStore, Post, Proposal, RateLimits, Reply
from server.state.clubs import Membership
from signaling.messages import timestamp
from vocabulary.errors import DropinError, ErrorCode


def reply_out(reply: Reply) -> ReplyOut:
    return ReplyOut(id=reply.id, post_id=reply.post_id, by=wire.person(reply.by), text=reply.text,
                    at=timestamp(reply.at))


def post_out(post: Post) -> PostOut:
    room = post.room
    return PostOut(
        id=post.id, kind=post.kind, by=wire.person(post.by) if post.by else None, text=post.text,
        at=timestamp(post.at), pinned=post.pinned,
        roundup=RoundupOut(
            room_id=room.id, title=room.title, event_id=room.event_id or None, occurrence=room.occurrence or None,
            started_at=timestamp(room.started_at), ended_at=timestamp(room.ended_at),
            peak_listeners=room.peak_listeners, listeners=room.listeners, speakers=room.speakers,
            questions=room.questions, chat_messages=room.chat_messages, url=f"/rooms/{room.id}/roundup",
        ) if room else None,
        replies=[reply_out(reply) for reply in post.replies], reply_count=post.reply_count,
    )


def proposal_out(proposal: Proposal) -> ProposalOut:
    adopted = proposal.adopted
    return ProposalOut(
        id=proposal.id, by=wire.person(proposal.by), text=proposal.text, at=timestamp(proposal.at),
        votes=proposal.votes, you_voted=proposal.you_voted,
        adopted=AdoptionOut(
            event_id=adopted.event_id, date=adopted.date, title=adopted.title, by=wire.person(adopted.by),
            at=timestamp(adopted.at), event_url=f"/events/{adopted.event_id}",
        ) if adopted else None,
    )


class ClubSpace:
    """Posts, replies, pins, mutes and topic proposals of clubs, over the ClubSpaceStore."""

    def __init__(self, schedules: ScheduleService, settings: Settings) -> None:
        self.schedules = schedules
        self.clubs = schedules.clubs
        self.store = ClubSpaceStore(schedules.rooms.redis, RateLimits(
            writes_per_minute=settings.club_posts_per_minute, proposals_per_hour=settings.club_proposals_per_hour,
        ))

    async def readable(self, club_id: str, viewer: Identity | None) -> Membership:
        """The viewer's place in a club they may see (`club_not_found` for a private one they aren't in)."""
        _, membership = await self.clubs.visible(club_id, viewer.id if viewer else None)
        return membership

    async def _member(self, club_id: str, caller: Identity) -> Membership:
        membership = await self.readable(club_id, caller)
        if not membership.member:
            raise DropinError(ErrorCode.FORBIDDEN, "only the club's members can do that; follow the club first")
        return membership

    async def _host(self, club_id: str, caller: Identity) -> None:
        if not (await self.readable(club_id, caller)).host:
            raise DropinError(ErrorCode.FORBIDDEN, "only the club's hosts can do that")

    async def _you(self, club_id: str, viewer: Identity | None, membership: Membership) -> YouInSpace | None:
        if viewer is None:
            return None
        muted = membership.member and await self.store.muted(club_id, viewer.id)
        return YouInSpace(member=membership.member, host=membership.host, muted=muted)

    # Posts and replies

    async def page(self, club_id: str, viewer: Identity | None, before: int | None, limit: int) -> PostPage:
        membership = await self.readable(club_id, viewer)
        found = await self.store.page(club_id, before, limit)
        return PostPage(
            pinned=[post_out(p) for p in found.pinned] if before is None else [],
            posts=[post_out(p) for p in found.posts], next_before=found.next_before,
            you=await self._you(club_id, viewer, membership),
        )

    async def post(self, club_id: str, caller: Identity, text: str) -> PostOut:
        await self._member(club_id, caller)
        post_id = await self.store.post(club_id, caller, text)
        return post_out(await self.store.get_post(club_id, post_id))

    async def reply(self, club_id: str, post_id: str, caller: Identity, text: str) -> ReplyOut:
        await self._member(club_id, caller)
        reply_id = await self.store.reply(club_id, post_id, caller, text)
        return reply_out(await self.store.reply_of(club_id, reply_id))

    async def delete_post(self, club_id: str, post_id: str, caller: Identity) -> None:
        await self.readable(club_id, caller)
        await self.store.delete_post(club_id, post_id, caller)

    async def delete_reply(self, club_id: str, post_id: str, reply_id: str, caller: Identity) -> None:
        await self.readable(club_id, caller)
        await self.store.delete_reply(club_id, post_id, reply_id, caller)

    async def pin(self, club_id: str, post_id: str, caller: Identity, pinned: bool) -> PostOut:
        await self._host(club_id, caller)
        await self.store.pin(club_id, post_id, caller, pinned)
        return post_out(await self.store.get_post(club_id, post_id))

    # Mutes

    async def mutes(self, club_id: str, caller: Identity) -> MuteList:
        await self._host(club_id, caller)
        return MuteList(muted=[
            MuteOut(member=wire.person(m.member), by=wire.person(m.by), at=timestamp(m.at))
            for m in await self.store.mutes(club_id)
        ])

    async def mute(self, club_id: str, member_id: str, caller: Identity, muted: bool) -> MuteList:
        await self._host(club_id, caller)
        await self.store.mute(club_id, member_id, caller, muted)
        return await self.mutes(club_id, caller)

    # Proposals

    async def proposals(self, club_id: str, viewer: Identity | None) -> ProposalList:
        membership = await self.readable(club_id, viewer)
        open_, adopted = await self.store.proposals(club_id, viewer.id if viewer else None)
        return ProposalList(open=[proposal_out(p) for p in open_], adopted=[proposal_out(p) for p in adopted],
                            you=await self._you(club_id, viewer, membership))

    async def propose(self, club_id: str, caller: Identity, text: str) -> ProposalOut:
        await self._member(club_id, caller)
        proposal_id = await self.store.propose(club_id, caller, text)
        return proposal_out(await self.store.proposal(club_id, proposal_id, caller.id))

    async def vote(self, club_id: str, proposal_id: str, caller: Identity, up: bool) -> ProposalOut:
        await self._member(club_id, caller)
        await self.store.vote(club_id, proposal_id, caller, up)
        return proposal_out(await self.store.proposal(club_id, proposal_id, caller.id))

    async def delete_proposal(self, club_id: str, proposal_id: str, caller: Identity) -> None:
        await self.readable(club_id, caller)
        await self.store.delete_proposal(club_id, proposal_id, caller)

    async def adopt(self, club_id: str, proposal_id: str, caller: Identity, event_id: str, day: date) -> Adopted:
        """Make a proposal the theme of one of the club's occurrences, as setting its theme does."""
        await self.readable(club_id, caller)
        proposal = await self.store.proposal(club_id, proposal_id, caller.id)
        series = await self.schedules.events.get(event_id)
        if series.club_id != club_id:
            raise DropinError(ErrorCode.INVALID_MESSAGE, "that event isn't one of this club's")
        occurrence = await self.schedules.set_theme(event_id, day, caller, proposal.text)
        await self.store.adopt(club_id, proposal_id, caller, event_id, day.isoformat(), series.title)
        return Adopted(
            proposal=proposal_out(await self.store.proposal(club_id, proposal_id, caller.id)), occurrence=occurrence,
        )
