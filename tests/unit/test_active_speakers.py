"""Slot assignment from audio levels: free slots at once, hysteresis when they are all taken."""

from __future__ import annotations

from server.media.active_speakers import PACKET_S, SlotAssignment

SILENCE = 127


class Room:
    """Drives a SlotAssignment with 20 ms packets from several speakers on one clock."""

    def __init__(self, slots: int) -> None:
        self.assignment = SlotAssignment(slots)
        self.now = 0.0

    def talk(self, seconds: float, **levels: int) -> None:
        """Each named speaker sends a packet at the given level every 20 ms; rebalances as the router's clock does."""
        for step in range(round(seconds / PACKET_S)):
            self.now += PACKET_S
            for member, level in levels.items():
                self.assignment.on_packet(member, level, self.now)
            if step % 15 == 14:  # the router ticks every 300 ms
                self.assignment.rebalance(self.now)
        self.assignment.rebalance(self.now)

    @property
    def holders(self) -> list[str | None]:
        return list(self.assignment.holders)


def test_the_first_voice_takes_a_free_slot_at_once() -> None:
    room = Room(2)
    assert room.assignment.on_packet("ada", 35, 0.0) == 0
    assert room.assignment.on_packet("bo", SILENCE, 0.0) is None, "silence does not claim a slot"
    assert room.assignment.on_packet("bo", 40, 0.02) == 1
    assert room.holders == ["ada", "bo"]


def test_a_cough_does_not_steal_the_slot_of_someone_mid_sentence() -> None:
    room = Room(1)
    room.talk(2.0, ada=35, bo=SILENCE)
    room.talk(0.2, ada=35, bo=15)  # bo coughs, loudly, while ada talks
    room.talk(1.0, ada=35, bo=SILENCE)
    assert room.holders == ["ada"]


def test_a_short_noise_does_not_take_the_slot_of_a_silent_holder_either() -> None:
    room = Room(1)
    room.talk(1.0, ada=35, bo=SILENCE)
    room.talk(3.0, ada=SILENCE, bo=SILENCE)
    room.talk(0.2, ada=SILENCE, bo=15)  # a door slams near bo's microphone
    room.talk(1.0, ada=SILENCE, bo=SILENCE)
    assert room.holders == ["ada"]


def test_a_short_pause_keeps_the_slot_but_a_long_silence_gives_it_up() -> None:
    room = Room(1)
    room.talk(2.0, ada=35, bo=SILENCE)
    room.talk(0.25, ada=SILENCE, bo=35)  # ada pauses for breath; bo starts
    assert room.holders == ["ada"], "not before bo has talked for a while"
    room.talk(1.5, ada=SILENCE, bo=35)
    assert room.holders == ["bo"]


def test_a_switch_happens_within_a_second_of_the_holder_falling_silent() -> None:
    room = Room(1)
    room.talk(2.0, ada=35, bo=SILENCE)
    start = room.now
    while room.holders != ["bo"]:
        room.talk(0.02, ada=SILENCE, bo=35)
        assert room.now - start < 1.0


def test_with_more_talkers_than_slots_the_loudest_hold_them() -> None:
    room = Room(2)
    room.talk(0.1, quiet=60, soft=45, loud=20, louder=10)  # quiet is below the voice threshold
    room.talk(3.0, quiet=60, soft=45, loud=20, louder=10)
    assert set(room.holders) == {"loud", "louder"}


def test_holders_talking_at_similar_levels_are_not_displaced() -> None:
    room = Room(2)
    room.talk(2.0, ada=30, bo=30)
    room.talk(3.0, ada=30, bo=30, cy=25)  # only 5 dB louder: within the hysteresis
    assert set(room.holders) == {"ada", "bo"}


def test_a_speaker_who_leaves_frees_their_slot_for_the_next_voice() -> None:
    room = Room(1)
    room.talk(1.0, ada=35, bo=35)
    assert room.holders == ["ada"]
    assert room.assignment.remove("ada") == 0
    assert room.holders == [None]
    assert room.assignment.on_packet("bo", 35, room.now + PACKET_S) == 0
    assert room.assignment.remove("nobody") is None


def test_speaking_follows_the_voice_and_fades_after_it() -> None:
    room = Room(3)
    room.talk(0.3, ada=35, bo=SILENCE)
    assert room.assignment.speaking(room.now) == {"ada"}
    room.talk(1.0, ada=SILENCE, bo=SILENCE)
    assert room.assignment.speaking(room.now) == set()


def test_speaking_holds_through_the_pauses_between_words() -> None:
    room = Room(3)
    for _ in range(4):
        room.talk(0.3, ada=35)
        assert room.assignment.speaking(room.now) == {"ada"}
        room.talk(0.5, ada=SILENCE)  # a pause between words
        assert room.assignment.speaking(room.now) == {"ada"}
    room.talk(0.6, ada=SILENCE)
    assert room.assignment.speaking(room.now) == set()


def test_a_speaker_whose_packets_stop_fades_too() -> None:
    room = Room(3)
    room.talk(0.5, ada=35)
    assert room.assignment.speaking(room.now) == {"ada"}
    assert room.assignment.speaking(room.now + 1.0) == set(), "muted or DTX: no packets counts as silence"


def test_packets_without_an_audio_level_count_as_voice() -> None:
    room = Room(1)
    assert room.assignment.on_packet("bot", None, 0.0) == 0
