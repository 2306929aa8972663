"""The Redis key scheme. Every key Dropin writes is named here (documented in docs/architecture.md)."""

from __future__ import annotations

PREFIX = "dropin"

LIVE_ROOMS = f"{PREFIX}:rooms:live"
"""Sorted set: ids of live rooms, scored by creation time (unix seconds)."""

TIMERS = f"{PREFIX}:timers"
"""Sorted set: jobs (`kind|arg|...`, server/state/timers.py) scored by when they are due."""

TIMERS_RUNNING = f"{PREFIX}:timers:running"
"""Sorted set: jobs a node has claimed, scored by when its claim lapses (it is then due again)."""


def room(room_id: str) -> str:
    """Hash: id, title, description, host_id, host_name, status, created_at, ended_at, seq, and the
    settings allow_direct_stage, speakers_may_unmute, invite_ttl_s; `recording` is '1' while the
    host has recording on."""
    return f"{PREFIX}:room:{room_id}"


def members(room_id: str) -> str:
    """Hash: member id -> JSON {id, name, role, joined_at, since, muted, muted_by, stage_since, conn}."""
    return f"{PREFIX}:room:{room_id}:members"


def counts(room_id: str) -> str:
    """Hash: role -> number of members in the room with that role."""
    return f"{PREFIX}:room:{room_id}:counts"


def log(room_id: str) -> str:
    """Stream: the room event log. Entry id is `<seq>-0`; field `event` is the event's JSON."""
    return f"{PREFIX}:room:{room_id}:log"


def stage(room_id: str) -> str:
    """Sorted set: ids of members on stage, scored by when they got their current role."""
    return f"{PREFIX}:room:{room_id}:stage"


def audience(room_id: str) -> str:
    """Sorted set: ids of listeners, scored by when they joined."""
    return f"{PREFIX}:room:{room_id}:audience"


def hands(room_id: str) -> str:
    """Sorted set: ids of listeners with a raised hand, scored by when they raised it."""
    return f"{PREFIX}:room:{room_id}:hands"


def invites(room_id: str) -> str:
    """Hash: member id -> JSON {by: {id, name}, expires_at} for pending stage invitations."""
    return f"{PREFIX}:room:{room_id}:invites"


def bans(room_id: str) -> str:
    """Hash: identity id -> unix time the ban ends, or 0 for the room's lifetime."""
    return f"{PREFIX}:room:{room_id}:bans"


def visitors(room_id: str) -> str:
    """Hash: identity id -> name of everyone who was in the audience at some point (round-up)."""
    return f"{PREFIX}:room:{room_id}:visitors"


def stage_time(room_id: str) -> str:
    """Hash: member id -> JSON {name, seconds} of time spent on stage so far."""
    return f"{PREFIX}:room:{room_id}:stage_time"


def questions(room_id: str) -> str:
    """Hash: question id -> JSON {id, by: {id, name}, text, votes, answered, asked_at}."""
    return f"{PREFIX}:room:{room_id}:questions"


def votes(room_id: str) -> str:
    """Set: `<question id>:<member id>` for every upvote, so each member votes once."""
    return f"{PREFIX}:room:{room_id}:votes"


def chat(room_id: str) -> str:
    """Hash: message id (`c<n>`) -> the room's chat message as JSON (a deleted one keeps its place
    with `deleted` and no text)."""
    return f"{PREFIX}:room:{room_id}:chat"


def recordings(room_id: str) -> str:
    """Hash: recording id -> JSON {id, started_at, ended_at, seconds, slots} of the room's
    recordings (one per stretch the host recorded, or per origin node that wrote it)."""
    return f"{PREFIX}:room:{room_id}:recordings"


def recording_moments(room_id: str, recording_id: str) -> str:
    """List: a recording's timeline, JSON {at, holders, speaking} (member ids) in order."""
    return f"{PREFIX}:room:{room_id}:recording:{recording_id}:moments"


def recording_names(room_id: str, recording_id: str) -> str:
    """Hash: member id -> name of everyone a recording's timeline names."""
    return f"{PREFIX}:room:{room_id}:recording:{recording_id}:names"


def club_recordings(club_id: str) -> str:
    """Sorted set: `<room id>/<recording id>` of the recordings of a club's rooms, by start time."""
    return f"{PREFIX}:club:{club_id}:recordings"


def club(club_id: str) -> str:
    """Hash: id, name, description, visibility (public/private), created_by, created_at."""
    return f"{PREFIX}:club:{club_id}"


def club_members(club_id: str) -> str:
    """Hash: identity id -> display name, for the club's members (followers and hosts)."""
    return f"{PREFIX}:club:{club_id}:members"


def event_guests(event_id: str) -> str:
    """Set: identity ids let into an event's rooms by an invite link."""
    return f"{PREFIX}:event:{event_id}:guests"


def quality(room_id: str) -> str:
    """Hash: member id -> JSON {level, down, up, rtt_ms}: the member's connection quality as last
    announced (server/media/quality.py), while they are in the room."""
    return f"{PREFIX}:room:{room_id}:quality"


NONE = f"{PREFIX}:none"
"""A key that is never written: stands in for the access keys of a room with no club or event."""


def room_keys(room_id: str, club_id: str = "", event_id: str = "") -> list[str]:
    """The keys one room's transitions touch, in the order server/state/lua/lib.lua names them."""
    return [
        room(room_id), members(room_id), counts(room_id), log(room_id), LIVE_ROOMS,
        stage(room_id), audience(room_id), hands(room_id), invites(room_id), bans(room_id),
        visitors(room_id), stage_time(room_id), questions(room_id), votes(room_id),
        club_members(club_id) if club_id else NONE, event_guests(event_id) if event_id else NONE,
        TIMERS, quality(room_id), chat(room_id),
    ]


# Clubs and scheduled rooms (docs/scheduling.md)

PUBLIC_CLUBS = f"{PREFIX}:clubs:public"
"""Sorted set: ids of public clubs, scored by creation time."""

SERIES_BY_END = f"{PREFIX}:events:by_end"
"""Sorted set: event series ids, scored by when their last occurrence ends (unix seconds)."""


def club_hosts(club_id: str) -> str:
    """Set: identity ids of the club's hosts (each is in club_members too)."""
    return f"{PREFIX}:club:{club_id}:hosts"


def club_events(club_id: str) -> str:
    """Sorted set: ids of the club's event series, scored by creation time."""
    return f"{PREFIX}:club:{club_id}:events"


def identity_clubs(identity_id: str) -> str:
    """Set: ids of the clubs an identity is a member of."""
    return f"{PREFIX}:identity:{identity_id}:clubs"


def event(event_id: str) -> str:
    """Hash: id, club_id, title, agenda, timezone, start, duration_minutes, host_id, host_name,
    cohosts (JSON [{id, name}]), visibility, recurrence (JSON), created_at."""
    return f"{PREFIX}:event:{event_id}"


def event_themes(event_id: str) -> str:
    """Hash: occurrence date (local, YYYY-MM-DD) -> that occurrence's theme."""
    return f"{PREFIX}:event:{event_id}:themes"


def event_rooms(event_id: str) -> str:
    """Hash: occurrence date -> id of the live room opened for it."""
    return f"{PREFIX}:event:{event_id}:rooms"


def event_opening(event_id: str, day: str) -> str:
    """String (short TTL): held while one request opens the occurrence's room."""
    return f"{PREFIX}:event:{event_id}:opening:{day}"


def event_rsvps(event_id: str, day: str) -> str:
    """Hash: identity id -> display name of everyone interested in one occurrence."""
    return f"{PREFIX}:event:{event_id}:rsvps:{day}"


def event_invite_links(event_id: str) -> str:
    """Sorted set: ids of the event's invite links, scored by creation time."""
    return f"{PREFIX}:event:{event_id}:invite_links"


def invite_link(invite_id: str) -> str:
    """Hash: id, token, event_id, club_id, created_by, created_at, expires_at, max_uses, uses,
    revoked (0|1), follow_club (0|1)."""
    return f"{PREFIX}:invite_link:{invite_id}"


def invite_link_token(token: str) -> str:
    """String: the id of the invite link with this token."""
    return f"{PREFIX}:invite_token:{token}"


def invite_link_accepted(invite_id: str) -> str:
    """Set: identity ids that have accepted the invite link (each uses it once)."""
    return f"{PREFIX}:invite_link:{invite_id}:accepted"


# Nodes (docs/architecture.md, "Nodes")

NODES = f"{PREFIX}:nodes"
"""Sorted set: node ids, scored by when each last said it was alive (unix seconds)."""


def node(node_id: str) -> str:
    """Hash: id, address, pid, started_at, rooms, members, cpu (the node's own figures)."""
    return f"{PREFIX}:node:{node_id}"


def node_seats(node_id: str) -> str:
    """Set: `room|member|conn` for each member seated on the node, so a dead node's can leave."""
    return f"{PREFIX}:node:{node_id}:seats"


# Signed webhooks (server/webhooks.py)

WEBHOOKS = f"{PREFIX}:webhooks"
"""Set: ids of every webhook endpoint, the operator's and the clubs'."""

WEBHOOKS_OPERATOR = f"{PREFIX}:webhooks:operator"
"""Set: ids of the operator's endpoints (DROPIN_WEBHOOK_URLS), which get every event."""

WEBHOOK_PREFIX = f"{PREFIX}:webhook:"
"""What webhook(endpoint_id) and the keys after it start with (server/state/lua/webhook.lua too)."""


def club_webhooks(club_id: str) -> str:
    """Set: ids of a club's endpoints, which get its rooms' and events' events."""
    return f"{PREFIX}:club:{club_id}:webhooks"


def webhook(endpoint_id: str) -> str:
    """Hash: id, url, secret, club_id ('' for the operator's), created_at, created_by, queue_max, and
    the delivery state: delivered, failed, dropped, attempts, next_at, batch_end, last_error, last_at."""
    return f"{WEBHOOK_PREFIX}{endpoint_id}"


def webhook_queue(endpoint_id: str) -> str:
    """Stream: events waiting for delivery to one endpoint, oldest first; fields type, batch, body."""
    return f"{webhook(endpoint_id)}:queue"


def webhook_failures(endpoint_id: str) -> str:
    """List: JSON {id, type, at, attempts, error, body} of the last deliveries given up, newest first."""
    return f"{webhook(endpoint_id)}:failures"


def webhook_lease(endpoint_id: str) -> str:
    """String: the node delivering to the endpoint (one at a time keeps each room's events in order)."""
    return f"{webhook(endpoint_id)}:lease"


# A club's discussion space (server/state/club_space.py; the scripts name the same keys from
# K_CLUB_PREFIX in server/state/lua/space.lua)


def space_counters(club_id: str) -> str:
    """Hash: posts, replies, proposals: how many of each the club's space has numbered so far."""
    return f"{club(club_id)}:space:counters"


def space_posts(club_id: str) -> str:
    """Hash: post id (`p<n>`) -> JSON {id, kind ('post'|'roundup'), by: {id, name} (not for a
    round-up), text, at, room (a round-up's: {id, title, event_id, occurrence, started_at, ended_at,
    peak_listeners, listeners, speakers, questions, chat_messages})}."""
    return f"{club(club_id)}:space:posts"


def space_timeline(club_id: str) -> str:
    """Sorted set: post ids scored by their number (newest last)."""
    return f"{club(club_id)}:space:timeline"


def space_pinned(club_id: str) -> str:
    """Sorted set: ids of pinned posts, scored by when they were pinned."""
    return f"{club(club_id)}:space:pinned"


def space_replies(club_id: str) -> str:
    """Hash: reply id (`r<n>`) -> JSON {id, post, by: {id, name}, text, at}."""
    return f"{club(club_id)}:space:replies"


def space_post_replies(club_id: str, post_id: str) -> str:
    """Sorted set: the ids of one post's replies, scored by their number."""
    return f"{club(club_id)}:space:post:{post_id}:replies"


def space_mutes(club_id: str) -> str:
    """Hash: identity id -> JSON {id, name, by: {id, name}, at} of members a host muted in the space."""
    return f"{club(club_id)}:space:mutes"


def space_rate(club_id: str, kind: str, identity_id: str) -> str:
    """Sorted set (expires): what one identity wrote of `kind` ('write': posts and replies;
    'propose') in the club's space within the rate limit's window, scored by when."""
    return f"{club(club_id)}:space:rate:{kind}:{identity_id}"


def space_proposals(club_id: str) -> str:
    """Hash: proposal id (`t<n>`) -> JSON {id, by: {id, name}, text, at, votes, adopted: null |
    {event_id, date, title, by: {id, name}, at}}."""
    return f"{club(club_id)}:space:proposals"


def space_open_proposals(club_id: str) -> str:
    """Sorted set: ids of proposals not adopted yet, scored by their votes."""
    return f"{club(club_id)}:space:open"


def space_adopted(club_id: str) -> str:
    """Sorted set: ids of adopted proposals, scored by when they were adopted."""
    return f"{club(club_id)}:space:adopted"


def space_votes(club_id: str, proposal_id: str) -> str:
    """Set: identity ids that upvoted one proposal."""
    return f"{club(club_id)}:space:votes:{proposal_id}"


def space_changes(club_id: str) -> str:
    """Stream: the space's changes (field `change`: JSON {type, id, ...}), capped near 500; what open
    club pages follow (GET /api/clubs/{id}/live)."""
    return f"{club(club_id)}:space:changes"
