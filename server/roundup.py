"""The round-up of a room: what happened, for the host to share afterwards (JSON or Markdown)."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel

from server import wire
from server.domain.room import Attendance, Room
from signaling.messages import ChatMessage, EventRef, Person, Question, Timestamp, timestamp

LISTED = 200  # listeners named in the Markdown; the JSON has them all
LINK = re.compile(r"https?://[^\s<>\"']+")
TRAILING = ".,;:!?)]}"  # punctuation after a link in a sentence is not part of it (as the page has it)


class SharedLink(BaseModel):
    url: str
    by: Person
    at: Timestamp


class StageTime(BaseModel):
    id: str
    name: str
    seconds: float


class RoundupRoom(BaseModel):
    id: str
    title: str
    description: str
    host: str


class Roundup(BaseModel):
    room: RoundupRoom
    event: EventRef | None
    status: str
    started_at: Timestamp
    ended_at: Timestamp | None
    peak_listeners: int
    unique_listeners: int
    listeners: list[Person]
    stage: list[StageTime]
    hands_raised: int
    questions: list[Question]
    notes: str
    chat_messages: int
    chat_people: list[Person]  # who posted in the chat, in the order they first did
    links: list[SharedLink]  # the links posted in the chat, in order
    chat: list[ChatMessage]
    reactions: dict[str, int]  # kind -> how many were sent

    @classmethod
    def of(cls, room: Room, attendance: Attendance) -> Roundup:
        return cls(
            room=RoundupRoom(id=room.id, title=room.title, description=room.description, host=room.host.name),
            event=wire.event_ref(room),
            status=room.status,
            started_at=timestamp(room.created_at),
            ended_at=timestamp(room.ended_at) if room.ended_at is not None else None,
            peak_listeners=attendance.peak_listeners,
            unique_listeners=len(attendance.listeners),
            listeners=[wire.person(p) for p in attendance.listeners],
            stage=[StageTime(id=s.who.id, name=s.who.name, seconds=s.seconds) for s in attendance.stage],
            hands_raised=attendance.hands_raised,
            questions=[wire.question(q) for q in attendance.questions],
            notes=attendance.notes,
            chat_messages=len(attendance.chat),
            chat_people=list({m.by.id: wire.person(m.by) for m in attendance.chat}.values()),
            links=[SharedLink(url=url, by=wire.person(m.by), at=timestamp(m.at))
                   for m in attendance.chat for url in _links(m.text)],
            chat=[wire.chat_message(m) for m in attendance.chat],
            reactions=attendance.reactions,
        )

    def to_markdown(self, with_chat: bool = False) -> str:
        """The round-up as Markdown; `with_chat` adds the whole chat (the host's choice)."""
        lines = [f"# {self.room.title} — round-up", ""]
        if self.room.description:
            lines += [self.room.description, ""]
        started = datetime.fromisoformat(self.started_at)
        when = f"{started:%a %d %b %Y, %H:%M} UTC"
        if self.ended_at:
            ended = datetime.fromisoformat(self.ended_at)
            when += f" to {ended:%H:%M} UTC ({_duration((ended - started).total_seconds())})"
        else:
            when += ", still live"
        lines += [
            f"- **When:** {when}",
            f"- **Host:** {self.room.host}",
            f"- **Listeners:** {self.unique_listeners} in all, {self.peak_listeners} at the peak",
            f"- **Hands raised:** {self.hands_raised}",
            f"- **Chat:** {self.chat_messages} message{'s' if self.chat_messages != 1 else ''}"
            f" from {len(self.chat_people)} {'person' if len(self.chat_people) == 1 else 'people'}",
            "- **Reactions:** " + (", ".join(f"{kind.replace('_', ' ')} {n}" for kind, n in sorted(
                self.reactions.items(), key=lambda item: -item[1])) or "none"),
            "",
            "## On stage",
            "",
        ]
        lines += [f"- {s.name} — {_duration(s.seconds)}" for s in self.stage] or ["Nobody took the stage."]
        lines += ["", "## Who came to listen", ""]
        names = [p.name for p in self.listeners]
        lines += [", ".join(names[:LISTED]) + (f", and {len(names) - LISTED} more" if len(names) > LISTED else "")
                  if names else "Nobody listened."]
        lines += ["", "## Questions", ""]
        lines += [
            f"- {q.text} — {q.by.name}, {q.votes} vote{'s' if q.votes != 1 else ''}"
            + (" (answered)" if q.answered else " (not answered)")
            for q in self.questions
        ] or ["No questions were asked."]
        lines += ["", "## Links shared", ""]
        lines += [f"- <{link.url}> — {link.by.name}" for link in self.links] or ["No links were shared."]
        if with_chat:
            lines += ["", "## Chat", ""]
            lines += [f"- {datetime.fromisoformat(m.at):%H:%M} **{m.by.name}:** {m.text}" for m in self.chat] or [
                "Nobody wrote in the chat."]
        if self.notes.strip():
            lines += ["", "## Host's notes", "", self.notes.strip()]
        return "\n".join(lines) + "\n"


def _links(text: str) -> list[str]:
    return [found.rstrip(TRAILING) for found in LINK.findall(text)]


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
