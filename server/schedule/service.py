"""The ScheduleService: clubs, event series, their occurrences and invite links, as the REST API
uses them. It applies who may see and run what, works out each occurrence's status from the
clock, and opens an occurrence's live room in the RoomStore."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from server import wire
from server.config import Settings
from server.domain.ids import new_id
from server.domain.recurrence import Schedule
from server.domain.room import Identity, RoomSettings
from server.domain.series import Series
from server.rules.admission import admits
from server.schedule.calendar import Entry, calendar
from server.schedule.occurrences import check_open_window, status
from server.schedule.views import (
    Accepted,
    ClubList,
    ClubOut,
    ClubPage,
    ClubRef,
    InviteList,
    InviteOut,
    InvitePreview,
    OccurrenceOut,
    RecurrenceOut,
    RsvpList,
    SeriesOut,
    SeriesPage,
    SoonList,
    SoonOccurrence,
    YouInClub,
)
from server.state.clubs import Club, ClubStore, Membership
from server.state.events import Annotation, EventStore
from server.state.invites import InviteLink, InviteStore
from server.state.rooms import RoomStore
from server.state.webhooks import WebhookStore
from signaling.messages import timestamp
from vocabulary.errors import DropinError, ErrorCode

DEFAULT_AGENDA = "Open agenda: bring your burning questions"
PAST_SHOWN = 5
UPCOMING_SHOWN = 10
CLUB_SHOWN = 10
SOON = timedelta(hours=1)
LONGEST = timedelta(minutes=720)
OPEN_WAIT_S = 10.0


def _invite_out(link: InviteLink) -> InviteOut:
    return InviteOut(
        id=link.id, token=link.token, url=f"/invite/{link.token}", expires_at=timestamp(link.expires_at),
        max_uses=link.max_uses, uses=link.uses, revoked=link.revoked, follow_club=link.follow_club,
    )


class ScheduleService:
    """Clubs, scheduled series and invite links over Redis; opens scheduled rooms."""

    def __init__(self, rooms: RoomStore, settings: Settings) -> None:
        self.rooms = rooms
        self.settings = settings
        self.clubs = ClubStore(rooms.redis)
        self.events = EventStore(rooms.redis)
        self.links = InviteStore(rooms.redis)
        self.webhooks = WebhookStore(rooms.redis)

    # Clubs

    async def create_club(self, creator: Identity, name: str, description: str, visibility: str) -> ClubOut:
        club = await self.clubs.create(creator, name, description, visibility)
        return self._club_out(club, Membership(member=True, host=True), creator.id)

    async def club_list(self, viewer: Identity | None) -> ClubList:
        viewer_id = viewer.id if viewer else None
        out = []
        for club in await self.clubs.listing(viewer_id):
            out.append(self._club_out(club, await self.clubs.membership(club.id, viewer_id), viewer_id))
        return ClubList(clubs=out)

    async def club(self, club_id: str, viewer: Identity | None) -> ClubOut:
        viewer_id = viewer.id if viewer else None
        club, membership = await self.clubs.visible(club_id, viewer_id)
        return self._club_out(club, membership, viewer_id)

    async def club_page(self, club_id: str, viewer: Identity | None) -> ClubPage:
        viewer_id = viewer.id if viewer else None
        club, membership = await self.clubs.visible(club_id, viewer_id)
        series = await self._visible(await self.events.of_club(club_id), viewer_id)
        now = time.time()
        meetings = sorted(
            ((s, start) for s in series for start in s.schedule.starts), key=lambda pair: pair[1].timestamp()
        )
        upcoming = [(s, start) for s, start in meetings if s.schedule.end_of(start).timestamp() > now]
        past = [(s, start) for s, start in meetings if s.schedule.end_of(start).timestamp() <= now]
        return ClubPage(
            **dict(self._club_out(club, membership, viewer_id)),
            series=await self._series_outs(series, viewer_id),
            upcoming=await self._occurrences(upcoming[:CLUB_SHOWN], viewer_id),
            past=await self._occurrences(past[::-1][:CLUB_SHOWN], viewer_id),
        )

    async def follow(self, club_id: str, caller: Identity) -> ClubOut:
        club = await self.clubs.get(club_id)
        if not club.public and not (await self.clubs.membership(club_id, caller.id)).member:
            raise DropinError(ErrorCode.FORBIDDEN, "this club is private; join it through an invite link")
        await self.clubs.follow(club_id, caller)
        return await self.club(club_id, caller)

    async def unfollow(self, club_id: str, caller: Identity) -> ClubOut:
        await self.clubs.visible(club_id, caller.id)
        await self.clubs.unfollow(club_id, caller.id)
        club = await self.clubs.get(club_id)
        return self._club_out(club, Membership(member=False, host=False), caller.id)

    async def add_host(self, club_id: str, caller: Identity, identity_id: str) -> ClubOut:
        _, membership = await self.clubs.visible(club_id, caller.id)
        if not membership.host:
            raise DropinError(ErrorCode.FORBIDDEN, "only the club's hosts can make someone a host")
        await self.clubs.add_host(club_id, identity_id)
        return await self.club(club_id, caller)

    async def club_calendar(self, club_id: str, viewer: Identity | None, base_url: str) -> bytes:
        """The club's series the caller may see, as iCalendar; a private club has no feed."""
        club = await self.clubs.get(club_id)
        if not club.public:
            raise DropinError(ErrorCode.CLUB_NOT_FOUND, "there is no such club")
        series = await self._visible(await self.events.of_club(club_id), viewer.id if viewer else None)
        return calendar(club.name, [await self._entry(s) for s in series], base_url)

    def _club_out(self, club: Club, membership: Membership, viewer_id: str | None) -> ClubOut:
        return ClubOut(
            id=club.id, name=club.name, description=club.description, visibility=club.visibility,
            hosts=[wire.person(host) for host in club.hosts], member_count=club.member_count,
            you=YouInClub(member=membership.member, host=membership.host) if viewer_id else None,
            calendar_url=f"/api/clubs/{club.id}/calendar.ics" if club.public else None,
        )

    # Event series

    async def create_series(
        self, host: Identity, *, club_id: str | None, title: str, agenda: str, schedule: Schedule,
        cohosts: Sequence[tuple[str, str | None]], visibility: str | None,
    ) -> SeriesOut:
        """Schedule a series as `host`. In a club only its hosts may; a private club's series are
        club-only unless said otherwise. Co-hosts named by id alone must be club members."""
        club = None
        if club_id is not None:
            club, membership = await self.clubs.visible(club_id, host.id)
            if not membership.host:
                raise DropinError(ErrorCode.FORBIDDEN, "only the club's hosts can schedule rooms for it")
        visibility = visibility or ("club" if club is not None and not club.public else "public")
        if visibility == "club" and club is None:
            raise DropinError(ErrorCode.INVALID_MESSAGE, "a club-only series needs a club_id")
        series = Series(
            id=new_id(), club_id=club_id, title=title, agenda=agenda or DEFAULT_AGENDA,
            schedule=schedule, host=host, cohosts=await self._cohosts(club_id, host, cohosts),
            visibility=visibility, created_at=time.time(),
        )
        await self.events.create(series)
        return (await self._series_outs([series], host.id))[0]

    async def series_page(self, event_id: str, viewer: Identity | None) -> SeriesPage:
        viewer_id = viewer.id if viewer else None
        series = await self._visible_series(event_id, viewer_id)
        now = time.time()
        starts = series.schedule.starts
        past = [start for start in starts if series.schedule.end_of(start).timestamp() <= now]
        ahead = starts[len(past):]
        shown = past[-PAST_SHOWN:] + ahead[:UPCOMING_SHOWN]
        out = (await self._series_outs([series], viewer_id))[0]
        return SeriesPage(**dict(out), occurrences=await self._occurrences([(series, s) for s in shown], viewer_id))

    async def series_calendar(self, event_id: str, viewer: Identity | None, base_url: str) -> bytes:
        series = await self._visible_series(event_id, viewer.id if viewer else None)
        return calendar(series.title, [await self._entry(series)], base_url)

    async def _cohosts(
        self, club_id: str | None, host: Identity, cohosts: Sequence[tuple[str, str | None]]
    ) -> tuple[Identity, ...]:
        names = await self.clubs.member_names(club_id, [id for id, _ in cohosts]) if club_id else {}
        named: dict[str, Identity] = {}
        for cohost_id, name in cohosts:
            if cohost_id == host.id or cohost_id in named:
                continue
            name = name or names.get(cohost_id)
            if name is None:
                raise DropinError(
                    ErrorCode.INVALID_MESSAGE,
                    f"co-host {cohost_id} isn't a member of the club; name them as {{\"id\", \"name\"}}",
                )
            named[cohost_id] = Identity(cohost_id, name)
        return tuple(named.values())

    async def _entry(self, series: Series) -> Entry:
        themes = await self.events.themes(series.id)
        return Entry(series, {date.fromisoformat(day): theme for day, theme in themes.items()})

    # Occurrences

    async def set_theme(self, event_id: str, day: date, caller: Identity, theme: str | None) -> OccurrenceOut:
        series = await self._run_series(event_id, caller)
        start = self._start(series, day)
        await self.events.set_theme(series.id, day.isoformat(), theme)
        return (await self._occurrences([(series, start)], caller.id))[0]

    async def rsvp(self, event_id: str, day: date, caller: Identity, interested: bool) -> OccurrenceOut:
        """Say you're interested in an occurrence, or take it back, until it is over."""
        series = await self._visible_series(event_id, caller.id)
        start = self._start(series, day)
        if time.time() >= series.schedule.end_of(start).timestamp():
            raise DropinError(ErrorCode.OCCURRENCE_OVER, "this occurrence is over")
        await self.events.rsvp(series.id, day.isoformat(), caller, interested)
        await self.webhooks.enqueue("occurrence.rsvp", series.club_id, {
            "event": {"id": series.id, "title": series.title, "club_id": series.club_id,
                      "occurrence": day.isoformat(), "starts_at": start.timestamp()},
            "data": {"member": {"id": caller.id, "name": caller.name}, "interested": interested},
        })
        return (await self._occurrences([(series, start)], caller.id))[0]

    async def rsvp_list(self, event_id: str, day: date, caller: Identity) -> RsvpList:
        series = await self._run_series(event_id, caller)
        self._start(series, day)
        people = await self.events.rsvps(series.id, day.isoformat())
        return RsvpList(count=len(people), people=[wire.person(p) for p in people])

    async def open(self, event_id: str, day: date, caller: Identity) -> OccurrenceOut:
        """Open the occurrence's live room (host or co-host), from `early_open_s` before its start
        until its end. While its room is live, opening again answers that room; a room that ended
        early can be opened anew within the window."""
        series = await self._run_series(event_id, caller)
        start = self._start(series, day)
        key = day.isoformat()
        if not await self._live_room(series.id, key):
            check_open_window(
                start.timestamp(), series.schedule.end_of(start).timestamp(), time.time(), self.settings.early_open_s
            )
            if await self.events.claim_opening(series.id, key):
                try:
                    if not await self._live_room(series.id, key):
                        await self._open_room(series, start)
                finally:
                    await self.events.release_opening(series.id, key)
            else:
                await self._await_room(series.id, key)
        return (await self._occurrences([(series, start)], caller.id))[0]

    async def soon(self, viewer: Identity | None) -> SoonList:
        """Occurrences the caller may see that start within the hour or are live now, soonest first."""
        viewer_id = viewer.id if viewer else None
        now = datetime.now(UTC)
        series = await self._visible(await self.events.ending_after(now.timestamp()), viewer_id)
        meetings = sorted(
            ((s, start) for s in series for start in s.schedule.between(now - LONGEST, now + SOON)),
            key=lambda pair: pair[1].timestamp(),
        )
        refs = await self._club_refs(s.club_id for s in series)
        return SoonList(occurrences=[
            SoonOccurrence(**dict(o), title=s.title, club=refs.get(s.club_id or ""))
            for (s, _), o in zip(meetings, await self._occurrences(meetings, viewer_id))
            if o.status in ("scheduled", "starting_soon", "live")
        ])

    def _start(self, series: Series, day: date) -> datetime:
        start = series.schedule.at(day)
        if start is None:
            raise DropinError(ErrorCode.NOT_AN_OCCURRENCE, f"{series.title!r} doesn't meet on {day.isoformat()}")
        return start

    async def _live_room(self, event_id: str, day: str) -> bool:
        (note,) = await self.events.annotations([(event_id, day)], None)
        return note.room_status == "live"

    async def _open_room(self, series: Series, start: datetime) -> None:
        day = start.date().isoformat()
        theme = (await self.events.annotations([(series.id, day)], None))[0].theme
        room = await self.rooms.create(
            series.host,
            series.title,
            f"Theme: {theme}\n\n{series.agenda}" if theme else series.agenda,
            RoomSettings(invite_ttl_s=self.settings.invite_ttl_s, slots=self.settings.slots),
            visibility=series.visibility,
            club_id=series.club_id,
            event_id=series.id,
            occurrence=day,
            cohosts=[c.id for c in series.cohosts],
            opens_at=start.timestamp(),
        )
        await self.events.set_room(series.id, day, room.id)

    async def _await_room(self, event_id: str, day: str) -> None:
        """Wait for the request that is opening the room at the same moment to finish."""
        deadline = time.monotonic() + OPEN_WAIT_S
        while not await self._live_room(event_id, day):
            if time.monotonic() > deadline:
                raise DropinError(ErrorCode.CONFLICT, "the room is being opened; try again")
            await asyncio.sleep(0.1)

    async def _occurrences(
        self, meetings: Sequence[tuple[Series, datetime]], viewer_id: str | None
    ) -> list[OccurrenceOut]:
        notes = await self.events.annotations([(s.id, start.date().isoformat()) for s, start in meetings], viewer_id)
        now = time.time()
        return [self._occurrence(s, start, note, now) for (s, start), note in zip(meetings, notes)]

    def _occurrence(self, series: Series, start: datetime, note: Annotation, now: float) -> OccurrenceOut:
        end = series.schedule.end_of(start)
        return OccurrenceOut(
            event_id=series.id,
            date=start.date().isoformat(),
            starts_at=timestamp(start.timestamp()),
            ends_at=timestamp(end.timestamp()),
            local_start=start.isoformat(),
            timezone=series.schedule.timezone,
            theme=note.theme,
            status=status(start.timestamp(), end.timestamp(), now, self.settings.early_open_s, note.room_status),
            room_id=note.room_id,
            rsvp_count=note.rsvp_count,
            you_rsvped=note.you_rsvped,
        )

    # Who sees what

    async def _visible(self, series: Sequence[Series], viewer_id: str | None) -> list[Series]:
        """Those of `series` that `viewer_id` may see."""
        if viewer_id is None:
            return [s for s in series if admits(s.visibility)]
        guests = await self.events.guest_of([s.id for s in series], viewer_id)
        members = {}
        for club_id in {s.club_id for s in series if s.club_id}:
            members[club_id] = (await self.clubs.membership(club_id, viewer_id)).member
        return [
            s for s, guest in zip(series, guests)
            if admits(s.visibility, hosting=s.runs(viewer_id), guest=guest,
                      club_member=members.get(s.club_id or "", False))
        ]

    async def _visible_series(self, event_id: str, viewer_id: str | None) -> Series:
        """The series, or `event_not_found` if the caller may not see it."""
        series = await self.events.get(event_id)
        if not await self._visible([series], viewer_id):
            raise DropinError(ErrorCode.EVENT_NOT_FOUND, "there is no such event")
        return series

    async def _run_series(self, event_id: str, caller: Identity) -> Series:
        """The series, if the caller is its host or a co-host."""
        series = await self._visible_series(event_id, caller.id)
        if not series.runs(caller.id):
            raise DropinError(ErrorCode.FORBIDDEN, "only the event's host and co-hosts can do that")
        return series

    async def _series_outs(self, series: Sequence[Series], viewer_id: str | None) -> list[SeriesOut]:
        now = time.time()
        nexts = [
            next((start for start in s.schedule.starts if s.schedule.end_of(start).timestamp() > now), None)
            for s in series
        ]
        found = iter(await self._occurrences(
            [(s, start) for s, start in zip(series, nexts) if start is not None], viewer_id
        ))
        refs = await self._club_refs(s.club_id for s in series)
        return [
            SeriesOut(
                id=s.id,
                club=refs.get(s.club_id or ""),
                title=s.title,
                agenda=s.agenda,
                timezone=s.schedule.timezone,
                start=s.schedule.start.isoformat(timespec="minutes"),
                duration_minutes=int(s.schedule.duration.total_seconds() // 60),
                host=wire.person(s.host),
                cohosts=[wire.person(c) for c in s.cohosts],
                visibility=s.visibility,
                recurrence=RecurrenceOut(**s.schedule.recurrence.as_dict()),
                calendar_url=f"/api/events/{s.id}/calendar.ics",
                next=next(found) if start is not None else None,
            )
            for s, start in zip(series, nexts)
        ]

    async def _club_refs(self, club_ids: Iterable[str | None]) -> dict[str, ClubRef]:
        refs = {}
        for club_id in {c for c in club_ids if c}:
            club = await self.clubs.get(club_id)
            refs[club_id] = ClubRef(id=club.id, name=club.name)
        return refs

    # Invite links

    async def create_invite(
        self, event_id: str, caller: Identity, expires_in: timedelta, max_uses: int, follow_club: bool
    ) -> InviteOut:
        series = await self._run_series(event_id, caller)
        expires_at = time.time() + expires_in.total_seconds()
        link = await self.links.create(series.id, series.club_id, caller.id, expires_at, max_uses, follow_club)
        return _invite_out(link)

    async def invites(self, event_id: str, caller: Identity) -> InviteList:
        series = await self._run_series(event_id, caller)
        return InviteList(invites=[_invite_out(link) for link in await self.links.of_event(series.id)])

    async def revoke_invite(self, invite_id: str, caller: Identity) -> InviteOut:
        link = await self.links.get(invite_id)
        series = await self.events.get(link.event_id)
        if not series.runs(caller.id):
            if not await self._visible([series], caller.id):
                raise DropinError(ErrorCode.INVITE_NOT_FOUND, "there is no such invite")
            raise DropinError(ErrorCode.FORBIDDEN, "only the event's host and co-hosts can withdraw its invites")
        return _invite_out(await self.links.revoke(link.id))

    async def preview(self, token: str) -> InvitePreview:
        """What an invite link leads to, for anyone holding it."""
        link = await self.links.by_token(token)
        event = (await self._series_outs([await self.events.get(link.event_id)], None))[0]
        reason = link.refusal(time.time())
        return InvitePreview(
            event=event, club=event.club, expires_at=timestamp(link.expires_at), valid=reason is None, reason=reason,
            follow_club=link.follow_club,
        )

    async def accept(self, token: str, caller: Identity) -> Accepted:
        link = await self.links.by_token(token)
        followed = await self.links.accept(link, caller)
        return Accepted(event_id=link.event_id, club_id=link.club_id, followed_club=followed)
