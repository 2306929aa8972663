"""The RoomService: what members and the REST API do to rooms, applied to Redis (RoomStore), and
the room log applied to the media plane (MediaRouter) and to the members this node seats.

Changes flow one way: an action is one atomic transition in Redis that appends events to the
room log; a RoomFeed per room on this node reads the log in order and applies each event: the
media plane starts or stops forwarding a member, and each member's websocket gets the events it
may see. Listener arrivals only mark the audience count, broadcast at most every
`audience_batch_s`. A change in a member's connection quality, measured by the media plane of the
node that serves their peer connection, goes to Redis and comes back through the log too, so
moderators on every node see it.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict

from redis.asyncio import Redis

from server import wire
from server.cluster.cascade import Cascade
from server.cluster.registry import Registry, node_of
from server.config import Settings
from server.domain import events as e
from server.domain.events import Quality
from server.domain.room import Identity, Member, Role
from server.identity import TokenIssuer
from server.media.forwarder import MemberId
from server.media.router import MediaRouter
from server.media.turn import IceServers
from server.reactions import Reactions
from server.recordings import Recordings
from server.roundup import Roundup
from server.rules.permissions import MODERATING
from server.rules.roles import may_speak
from server.rules.visibility import visible_to
from server.seats import Seat, Seats
from server.state.clubs import ClubStore
from server.state.log import RETRY_S, RoomFeed
from server.state.recordings import RecordingStore
from server.state.rooms import Joined, RoomStore
from server.state.storage import TRANSIENT, refusing_when_unavailable
from server.state.timers import Timers
from signaling import messages as m
from signaling.session import Session
from vocabulary.actions import Action
from vocabulary.errors import DropinError, ErrorCode

log = logging.getLogger(__name__)

RETRY_CAP_S = 10.0  # the longest a leave waits between tries while Redis is away


class RoomService:
    """Implements signaling's RoomGateway, and the room actions the REST API exposes.

    Members are kept in Redis with the id of the connection they joined on (`<node>.<n>`), and
    the registry knows whom this node seats, so a node that dies leaves nobody behind.
    """

    def __init__(
        self, store: RoomStore, feeds: Redis, tokens: TokenIssuer, settings: Settings,
        router: MediaRouter, timers: Timers, registry: Registry, seats: Seats, cascade: Cascade, ice: IceServers,
    ) -> None:
        self.store = store
        self._feed_redis = feeds
        self.tokens = tokens
        self.settings = settings
        self.router = router
        self.router.on_speakers_changed = self._speakers_changed
        self.router.on_quality_changed = self._quality_changed
        self.timers = timers
        timers.handle("expire_invite", store.expire_invite)
        timers.handle("end_if_hostless", store.end_if_hostless)
        timers.handle("leave_unless_back", self._leave)
        timers.handle("reap_seat", self._reap_seat)
        self.registry = registry
        self.cascade = cascade
        self.ice = ice
        self._names: dict[str, dict[str, str]] = {}  # room -> stage member -> name, for slot holders
        self.seats = seats
        self._conns = (f"{registry.node_id}.{n}" for n in itertools.count(1))
        self._feeds: dict[str, RoomFeed] = {}
        self._joining: Counter[str] = Counter()
        self._retries: set[asyncio.Task[None]] = set()
        self._reports: set[asyncio.Task[None]] = set()  # quality changes on their way to Redis
        self._audience_dirty: set[str] = set()
        self._batcher: asyncio.Task[None] | None = None
        self.reactions = Reactions(store)
        self.recordings = Recordings(
            RecordingStore(store.redis), ClubStore(store.redis), router,
            settings.recordings_dir or settings.data_dir / "recordings",
        )
        self._reacting: asyncio.Task[None] | None = None
        self.joined_in: Callable[[float], None] = lambda seconds: None  # each join's time (for /metrics)

    def start(self) -> None:
        self._batcher = asyncio.create_task(self._broadcast_audience())
        self._reacting = asyncio.create_task(self.reactions.run())
        self.recordings.start()

    async def stop(self) -> bool:
        """Let every member go as if their connection dropped: each leaves after the reconnect
        grace unless they come back (to another node). False if Redis could not be told."""
        for task in [self._batcher, self._reacting, *self._retries, *self._reports]:
            if task is not None:
                task.cancel()
        for feed in self._feeds.values():
            await feed.stop()
        await self.recordings.stop()
        seats = [seat for room_id in self.seats.rooms() for seat in self.seats.clear(room_id)]
        due = time.time() + self.settings.reconnect_grace_s
        try:
            await self.timers.schedule_all(due, [("leave_unless_back", s.room_id, s.member_id, s.conn) for s in seats])
            handed_over = True
        except TRANSIENT:
            handed_over = False
        for seat in seats:
            seat.session.close()
        return handed_over

    # RoomGateway

    @refusing_when_unavailable
    async def join(self, session: Session, room_id: str, token: str, last_seq: int | None) -> m.Welcome:
        started = time.perf_counter()
        identity = self.tokens.verify(token)
        conn = next(self._conns)
        await self.registry.seated(room_id, identity.id, conn)  # first: should this node die mid-join
        try:
            joined = await self._join_with_feed(room_id, identity, conn)
        except BaseException:
            await self._unseated(room_id, identity.id, conn)
            raise
        member = joined.member
        previous = self.seats.take(Seat(session, room_id, member.id, member.name, member.role, conn))
        if previous is not None:
            previous.session.error(None, ErrorCode.SESSION_REPLACED, "you joined this room from somewhere else")
            previous.session.close()
        try:
            welcome = await self._welcome(room_id, joined.member, last_seq)
            self.joined_in(time.perf_counter() - started)
            return welcome
        except BaseException:
            # The client hears an error, so it must not stay in the room: a newcomer leaves at
            # once; a returning member keeps their place for the reconnect grace, as on a drop.
            await (self.leave(session) if joined.is_new else self.disconnected(session))
            raise

    async def _welcome(self, room_id: str, member: Member, last_seq: int | None) -> m.Welcome:
        """What a member who has just joined is told: the room as of now, and what they missed."""
        room = await self.store.get(room_id)
        forwarder = self.router.open_room(room_id, room.settings.slots)
        await self.cascade.place(room_id)
        self.router.allow(room_id, member.id, may_speak(member.role) and not member.muted)
        if member.role is Role.LISTENER:
            self._audience_dirty.add(room_id)
        snapshot = await self.store.snapshot(room_id, member.id)
        self._names.setdefault(room_id, {}).update((on_stage.id, on_stage.name) for on_stage in snapshot.stage)
        missed = await self.store.events_since(room_id, last_seq, snapshot.seq) if last_seq is not None else None
        quality = await self.store.quality(room_id, None if member.role in MODERATING else member.id)
        return m.Welcome(
            room=wire.room_info(room),
            you=wire.you(snapshot),
            stage=[wire.member_view(on_stage) for on_stage in snapshot.stage],
            audience=m.Audience(count=snapshot.listening, names=[wire.person(p) for p in snapshot.audience]),
            hands=[wire.hand(raised) for raised in snapshot.hands],
            questions=[wire.question(asked) for asked in snapshot.questions],
            your_votes=snapshot.your_votes,
            chat=wire.chat_state(snapshot.chat),
            chat_recent=[wire.chat_message(posted) for posted in snapshot.chat_recent],
            chat_more=snapshot.chat_more,
            recording=snapshot.recording,
            slots=len(forwarder.slots),
            slot_holders=self._slot_holders(room_id, forwarder.assignment()),
            speaking=sorted(str(member) for member in forwarder.speaking()),
            quality={id: wire.quality(measured) for id, measured in quality.items()},
            ice_servers=[m.IceServerInfo(**asdict(server)) for server in self.ice.for_member(member.id)],
            seq=snapshot.seq,
            resumed=missed is not None,
            missed=[wire.event(event) for event in missed or [] if visible_to(event, member.id, member.role)],
        )

    async def _join_with_feed(self, room_id: str, identity: Identity, conn: str) -> Joined:
        """Join the room, and make sure this node follows its log from before the join.

        A running feed is kept running while the join is in flight.
        """
        self._joining[room_id] += 1
        try:
            before = None if room_id in self._feeds else (await self.store.get(room_id)).seq
            joined = await self.store.join(room_id, identity, conn)
            if room_id not in self._feeds:
                after = before if before is not None else joined.seq - 1
                apply = functools.partial(self._apply, room_id)
                self._feeds[room_id] = RoomFeed(self._feed_redis, room_id, after, apply)
            return joined
        finally:
            self._joining[room_id] -= 1

    async def negotiate(self, session: Session, sdp: str) -> str:
        seat = self._current(session)
        return await self.router.negotiate(seat.room_id, seat.member_id, sdp)

    async def add_candidate(
        self, session: Session, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        seat = self._current(session)
        await self.router.add_candidate(seat.room_id, seat.member_id, candidate, sdp_mid, sdp_mline_index)

    async def echo(self, session: Session, seconds: int) -> int:
        seat = self._current(session)
        return self.router.echo(seat.room_id, seat.member_id, seconds)

    @refusing_when_unavailable
    async def act(self, session: Session, request: m.Message) -> int:
        """A room action (a request of signaling.messages.ACTION_TYPES) by the session's member."""
        seat = self._current(session)
        act = functools.partial(self.store.act, seat.room_id, seat.member_id)
        match request:
            case m.SelfAction(type=Action.END_ROOM):
                return await self.end_room(seat.room_id, Identity(seat.member_id, seat.name))
            case m.SelfAction(type=action):
                return await act(Action(action))
            case m.Remove(target=target, ban=ban, ban_minutes=minutes, hide_messages=hide):
                return await act(Action.REMOVE, target, ban, minutes, detail="hide_messages" if hide else "")
            case m.TargetAction(type=action, target=target):
                return await act(Action(action), target)
            case m.Ask(text=text):
                return await act(Action.ASK, detail=text)
            case m.QuestionAction(type=action, question=question):
                return await act(Action(action), detail=question)
            case m.Chat(text=text):
                return await act(Action.CHAT, detail=text)
            case m.MessageAction(type=action, message=message):
                return await act(Action(action), detail=message)
            case m.SetChat(enabled=enabled, slow_s=slow_s):
                return await act(Action.SET_CHAT, detail=f"{int(enabled)}:{slow_s}")
            case m.SetRecording(on=on):
                return await act(Action.SET_RECORDING, detail=str(int(on)))
        raise DropinError(ErrorCode.UNKNOWN_TYPE, f"{request!r} is not a room action")

    async def chat_history(self, session: Session, before: str) -> tuple[list[m.ChatMessage], bool]:
        """A page of the room's chat before message `before`, and whether there is more."""
        seat = self._current(session)
        page, more = await self.store.chat_page(seat.room_id, int(before[1:]))
        return [wire.chat_message(posted) for posted in page], more

    async def react(self, session: Session, kind: str) -> None:
        """Count a reaction of the session's member; the room hears it within half a second."""
        self.reactions.add(self._current(session).room_id, kind)

    async def leave(self, session: Session) -> None:
        """Leave quietly, now; if Redis can't take it yet, as soon as it can (a leave is never lost)."""
        seat = self.seats.free(session)
        if seat is None:
            return
        await self.router.remove(seat.room_id, seat.member_id)
        await self._until_stored(functools.partial(self._leave, seat.room_id, seat.member_id, seat.conn))
        await self._unseated(seat.room_id, seat.member_id, seat.conn)

    async def disconnected(self, session: Session) -> None:
        """The websocket went away without `leave`: keep the member's place (role, hand) for a
        while, so a reconnect within `reconnect_grace_s` carries on where it left off."""
        seat = self.seats.free(session)
        if seat is None:
            return
        await self.router.remove(seat.room_id, seat.member_id, gone=True)
        due = time.time() + self.settings.reconnect_grace_s
        schedule = self.timers.schedule
        await self._until_stored(
            functools.partial(schedule, due, "leave_unless_back", seat.room_id, seat.member_id, seat.conn)
        )
        await self._unseated(seat.room_id, seat.member_id, seat.conn)

    # REST actions

    async def end_room(self, room_id: str, actor: Identity) -> int:
        """End the room for everyone (its host only); the room feed tells the members."""
        return await self.store.end(room_id, actor)

    async def roundup(self, room_id: str) -> Roundup:
        """What happened in the room, for its host to share."""
        return Roundup.of(await self.store.get(room_id), await self.store.attendance(room_id))

    # Applying the room log

    async def _apply(self, room_id: str, event: e.RoomEvent) -> None:
        promoted: Seat | None = None
        if isinstance(event, (e.MemberJoined, e.MemberUpdated)):
            member = event.member
            self.router.allow(room_id, member.id, may_speak(member.role) and not member.muted)
            self._names.setdefault(room_id, {})[member.id] = member.name
            seat = self.seats.member(room_id, member.id)
            if seat is not None:
                if member.role in MODERATING and seat.role not in MODERATING:
                    promoted = seat
                seat.role = member.role
            self._audience_dirty.add(room_id)
        elif isinstance(event, e.MemberLeft):
            self.router.allow(room_id, event.id, False)
            self._audience_dirty.add(room_id)
        sent = wire.event(event)
        text = m.encode(sent)
        for seat in self.seats.in_room(room_id):
            if visible_to(event, seat.member_id, seat.role):
                seat.session.deliver(sent.seq, text)
        if promoted is not None:  # a new moderator sees hands and everyone's connection from now on
            hands = (await self.store.snapshot(room_id, promoted.member_id)).hands
            promoted.session.send(m.HandsEvent(hands=[wire.hand(raised) for raised in hands]))
            quality = await self.store.quality(room_id, None)
            promoted.session.send(m.QualityEvent(quality={id: wire.quality(q) for id, q in quality.items()}))
        if isinstance(event, e.MemberRemoved):
            self._audience_dirty.add(room_id)
            removed = self.seats.member(room_id, event.id)
            if removed is not None:
                self.seats.free(removed.session)
                removed.session.close()
                await self._unseated(room_id, removed.member_id, removed.conn)
            await self.router.remove(room_id, event.id)
        elif isinstance(event, e.RecordingChanged):
            await self.recordings.sync(room_id)
        elif isinstance(event, e.RoomEnded):
            await self.recordings.sync(room_id)
            for seat in self.seats.clear(room_id):
                seat.session.close()
                await self._unseated(room_id, seat.member_id, seat.conn)
            self._audience_dirty.discard(room_id)
            self._names.pop(room_id, None)
            await self.cascade.close(room_id, ended=True)
            feed = self._feeds.pop(room_id, None)
            if feed is not None:
                asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(feed.stop()))

    # Internals

    def _current(self, session: Session) -> Seat:
        seat = self.seats.of(session)
        if seat is None:
            raise DropinError(ErrorCode.NOT_JOINED, "you are no longer in this room")
        return seat

    async def _leave(self, room_id: str, member_id: str, conn: str) -> None:
        """The member leaves the room in Redis unless they came back on another connection (their
        media here has already been removed); a timer's `leave_unless_back` too."""
        await self.store.leave(room_id, member_id, conn)
        await self._stop_feed_if_idle(room_id)

    async def _reap_seat(self, room_id: str, member_id: str, conn: str) -> None:
        """A timer's: the member was seated on a node found dead; they leave unless that node
        has come back or they have, elsewhere."""
        if not await self.registry.alive(node_of(conn)):
            await self._leave(room_id, member_id, conn)

    async def _unseated(self, room_id: str, member_id: str, conn: str) -> None:
        """This node no longer seats the member. If Redis can't be told, the entry only costs a
        `reap_seat` that changes nothing, should this node die."""
        try:
            await self.registry.unseated(room_id, member_id, conn)
        except TRANSIENT:
            pass

    async def _stop_feed_if_idle(self, room_id: str) -> None:
        if not self.seats.in_room(room_id) and not self._joining[room_id]:
            self._joining.pop(room_id, None)
            self._names.pop(room_id, None)
            feed = self._feeds.pop(room_id, None)
            if feed is not None:
                await feed.stop()
            await self.cascade.close(room_id)

    async def _until_stored(self, change: Callable[[], Awaitable[object]]) -> None:
        """Make a change that must not be lost: now or, while Redis is unreachable, in the
        background, backing off, until it goes through (unless the service stops first)."""
        try:
            await change()
            return
        except TRANSIENT:
            pass

        async def retry() -> None:
            wait_s = RETRY_S
            while True:
                await asyncio.sleep(wait_s)
                try:
                    await change()
                except TRANSIENT:
                    wait_s = min(RETRY_CAP_S, wait_s * 2)
                    continue
                except DropinError:
                    pass  # the room has moved on (ended)
                except Exception:
                    log.exception("storing a change the room must not lose")
                return

        task = asyncio.create_task(retry())
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    def _slot_holders(self, room_id: str, holders: list[MemberId | None]) -> list[m.SlotHolder]:
        names = self._names.get(room_id, {})
        slots = []
        for index, holder in enumerate(holders):
            name = names.get(str(holder)) if holder is not None else None
            speaker = m.Person(id=str(holder), name=name) if name is not None else None
            slots.append(m.SlotHolder(slot=index, speaker=speaker))
        return slots

    def _speakers_changed(self, room_id: str, speaking: set[MemberId], holders: list[MemberId | None]) -> None:
        speakers = sorted(str(member) for member in speaking)
        self._broadcast(room_id, m.SpeakersEvent(speaking=speakers, slots=self._slot_holders(room_id, holders)))

    def _quality_changed(self, room_id: str, member: MemberId, quality: Quality) -> None:
        """Keep and log the change (the room feed brings it to moderators and the member). Lost
        while Redis is away: the next change is written in full."""

        async def report() -> None:
            try:
                await self.store.report_quality(room_id, str(member), quality)
            except TRANSIENT as exc:
                log.warning("room %s: quality of %s not stored (%s)", room_id, member, exc)
            except DropinError:
                pass  # the room has gone
            except Exception:
                log.exception("storing the quality of %s in room %s", member, room_id)

        task = asyncio.create_task(report())
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    def _broadcast(self, room_id: str, event: m.Message) -> None:
        """Send `event` to everyone in the room, encoded once."""
        text = m.encode(event)
        for seat in self.seats.in_room(room_id):
            seat.session.send_encoded(text)

    async def _broadcast_audience(self) -> None:
        """Every few seconds, tell rooms whose audience changed how many are listening."""
        while True:
            await asyncio.sleep(self.settings.audience_batch_s)
            dirty, self._audience_dirty = self._audience_dirty, set()
            for room_id in dirty:
                try:
                    room = await self.store.get(room_id)
                except DropinError:
                    continue
                except TRANSIENT:
                    self._audience_dirty.add(room_id)  # tell them once Redis answers again
                    continue
                self._broadcast(room_id, m.AudienceEvent(count=room.listeners))
