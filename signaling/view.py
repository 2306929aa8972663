"""RoomView: a member's picture of a room, from the `joined` snapshot and the room events after it.

What a client shows (stage, hands, its own role and invitation) is a function of this; two
clients that saw the same events hold equal views.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from signaling import messages as m


@dataclass
class RoomView:
    seq: int
    you: m.You
    host: m.Person
    stage: dict[str, m.MemberView] = field(default_factory=dict)
    hands: dict[str, m.Hand] = field(default_factory=dict)
    questions: dict[str, m.Question] = field(default_factory=dict)
    chat: dict[str, m.ChatMessage] = field(default_factory=dict)  # the recent and live messages, in order
    chat_state: m.ChatState = field(default_factory=m.ChatState)
    recording: bool = False
    ended: bool = False
    removed: bool = False

    @classmethod
    def from_welcome(cls, welcome: m.Welcome) -> RoomView:
        return cls(
            seq=welcome.seq,
            you=welcome.you,
            host=welcome.room.host,
            stage={member.id: member for member in welcome.stage},
            hands={hand.id: hand for hand in welcome.hands},
            questions={question.id: question for question in welcome.questions},
            chat={message.id: message for message in welcome.chat_recent},
            chat_state=welcome.chat,
            recording=welcome.recording,
        )

    def apply(self, event: m.Message) -> None:
        """Apply one room event; events already in the view (by sequence number) are ignored."""
        if isinstance(event, m.HandsEvent):
            self.hands = {hand.id: hand for hand in event.hands}
            return
        seq = getattr(event, "seq", None)
        if seq is None or seq <= self.seq:
            return
        self.seq = seq
        if isinstance(event, (m.MemberJoined, m.MemberUpdated)):
            self._update(event.member)
        elif isinstance(event, m.MemberLeft):
            self.stage.pop(event.id, None)
        elif isinstance(event, m.MemberRemoved):
            self.stage.pop(event.id, None)
            self.hands.pop(event.id, None)
            self.removed = self.removed or event.id == self.you.id
        elif isinstance(event, m.HandRaised):
            if self._moderating or event.hand.id == self.you.id:
                self.hands[event.hand.id] = event.hand
            if event.hand.id == self.you.id:
                self.you = self.you.model_copy(update={"hand_raised": True})
        elif isinstance(event, m.HandLowered):
            self.hands.pop(event.id, None)
            if event.id == self.you.id:
                self.you = self.you.model_copy(update={"hand_raised": False})
        elif isinstance(event, m.Invited) and event.id == self.you.id:
            self.you = self.you.model_copy(update={"invitation": event.invitation})
        elif isinstance(event, m.InviteEnded) and event.id == self.you.id:
            self.you = self.you.model_copy(update={"invitation": None})
        elif isinstance(event, (m.QuestionAsked, m.QuestionUpdated)):
            self.questions[event.question.id] = event.question
        elif isinstance(event, m.ChatPosted):
            self.chat[event.message.id] = event.message
        elif isinstance(event, m.ChatDeleted):
            self.chat.pop(event.id, None)
        elif isinstance(event, m.ChatHidden):
            self.chat = {id: message for id, message in self.chat.items() if message.by.id != event.id}
        elif isinstance(event, m.ChatChanged):
            self.chat_state = event.chat
        elif isinstance(event, m.RecordingChanged):
            self.recording = event.recording
        elif isinstance(event, m.HostChanged):
            self.host = event.host
        elif isinstance(event, m.RoomEnded):
            self.ended = True

    @property
    def _moderating(self) -> bool:
        return self.you.role in ("host", "moderator")

    def _update(self, member: m.MemberView) -> None:
        if member.role == "listener":
            self.stage.pop(member.id, None)
        else:
            self.stage[member.id] = member
        if member.id == self.you.id:
            self.you = self.you.model_copy(update=member.model_dump())
            if not self._moderating:
                self.hands = {k: v for k, v in self.hands.items() if k == self.you.id}
