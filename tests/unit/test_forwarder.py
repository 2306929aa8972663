"""The Forwarder drops non-speakers, never echoes, and writes a well-formed RTP packet per listener."""

from __future__ import annotations

from aiortc.rtp import RtpPacket

from server.media.forwarder import Forwarder
from server.media.outlet import Outlet
from server.media.red import Red, wrap
from support import RecordingSocket


def opus(ssrc: int, seq: int, ts: int, payload: bytes = b"\xfc\x01\x02", marker: int = 0,
         level: int | None = None) -> RtpPacket:
    """An Opus packet as the DTLS transport hands it over; `level` is its RFC 6464 audio level."""
    packet = RtpPacket(payload_type=111, marker=marker, sequence_number=seq, timestamp=ts, ssrc=ssrc, payload=payload)
    if level is not None:
        packet.extensions.audio_level = (False, level)
    return packet


def attach(forwarder: Forwarder, member: str, slots: int = 3, payload_type: int = 111) -> list[RecordingSocket]:
    sockets = [RecordingSocket() for _ in range(slots)]
    forwarder.attach(member, [Outlet(ssrc=1000 * (i + 1) + len(member), payload_type=payload_type, writer=s)
                              for i, s in enumerate(sockets)])
    return sockets


def test_speaker_packet_reaches_every_other_member_unchanged_but_for_the_header() -> None:
    forwarder = Forwarder(3)
    host = attach(forwarder, "host")
    ada = attach(forwarder, "ada", payload_type=109)
    bo = attach(forwarder, "bo")
    forwarder.allow("host", True)
    forwarder.on_packet("host", opus(ssrc=42, seq=7, ts=960, payload=b"opus-frame", marker=1))

    assert all(not s.packets for s in host), "a speaker never hears themselves"
    (to_ada,), (to_bo,) = ada[0].packets, bo[0].packets
    assert to_ada.payload == to_bo.payload == b"opus-frame"
    assert (to_ada.payload_type, to_bo.payload_type) == (109, 111)
    assert to_ada.ssrc == 1003 and to_bo.ssrc == 1002
    assert to_ada.marker == 1 and to_ada.sequence_number == to_bo.sequence_number
    assert not any(s.packets for s in ada[1:] + bo[1:]), "one speaker uses one slot"
    assert forwarder.stats.delivered == 2


def test_packets_from_a_listener_are_dropped() -> None:
    forwarder = Forwarder(3)
    ada = attach(forwarder, "ada")
    attach(forwarder, "bo")
    forwarder.on_packet("bo", opus(1, 1, 1))
    assert not any(s.packets for s in ada)
    assert forwarder.stats.dropped_not_speaker == 1


def test_a_speaker_taken_off_stage_is_silent_from_the_next_packet() -> None:
    forwarder = Forwarder(3)
    ada = attach(forwarder, "ada")
    attach(forwarder, "host")
    forwarder.allow("host", True)
    forwarder.on_packet("host", opus(1, 1, 960))
    forwarder.allow("host", False)
    forwarder.on_packet("host", opus(1, 2, 1920))
    assert len(ada[0].packets) == 1
    assert forwarder.assignment() == [None, None, None]


def test_speakers_take_free_slots_and_give_them_back() -> None:
    announced: list[tuple[set, list]] = []
    now = [0.0]
    forwarder = Forwarder(2, on_speakers_changed=lambda speaking, holders: announced.append((speaking, holders)),
                          clock=lambda: now[0])
    listener = attach(forwarder, "listener", slots=2)
    for name in ("a", "b", "c"):
        forwarder.allow(name, True)
        forwarder.on_packet(name, opus(ord(name), 1, 960))
    assert forwarder.assignment() == ["a", "b"]
    assert forwarder.stats.dropped_no_slot == 1, "a third speaker waits for a slot"
    assert [len(s.packets) for s in listener] == [1, 1]
    forwarder.tick()
    assert announced == [(set(), ["a", "b"])]
    forwarder.detach("a")
    now[0] = 0.02
    forwarder.on_packet("c", opus(ord("c"), 2, 1920))
    assert forwarder.assignment() == ["c", "b"]
    forwarder.tick()
    forwarder.tick()
    assert announced == [(set(), ["a", "b"]), (set(), ["c", "b"])], "announced once per change"
    # The slot stays one stream: c's first packet follows a's in sequence.
    assert listener[0].packets[1].sequence_number == (listener[0].packets[0].sequence_number + 1) % 65536


def test_who_is_speaking_is_announced_from_audio_levels() -> None:
    announced: list[tuple[set, list]] = []
    now = [0.0]
    forwarder = Forwarder(3, on_speakers_changed=lambda speaking, holders: announced.append((speaking, holders)),
                          clock=lambda: now[0])
    attach(forwarder, "listener")
    forwarder.allow("ada", True)
    for i in range(15):  # 300 ms of speech at -30 dBov
        now[0] = i * 0.02
        forwarder.on_packet("ada", opus(7, i, 960 * i, level=30))
    forwarder.tick()
    assert announced[-1] == ({"ada"}, ["ada", None, None])
    for i in range(15, 65):  # a second of silence
        now[0] = i * 0.02
        forwarder.on_packet("ada", opus(7, i, 960 * i, level=127))
    forwarder.tick()
    assert announced[-1] == (set(), ["ada", None, None]), "silent, but still holding the slot"


def test_silence_from_a_speaker_without_a_slot_does_not_take_one() -> None:
    forwarder = Forwarder(1)
    listener = attach(forwarder, "listener", slots=1)
    forwarder.allow("ada", True)
    forwarder.on_packet("ada", opus(7, 1, 960, level=127))
    assert forwarder.assignment() == [None] and not listener[0].packets
    forwarder.on_packet("ada", opus(7, 2, 1920, level=20))
    assert forwarder.assignment() == ["ada"] and len(listener[0].packets) == 1


def test_a_member_with_fewer_slots_or_a_dead_socket_is_skipped() -> None:
    forwarder = Forwarder(3)
    one_slot = attach(forwarder, "one", slots=1)
    gone = attach(forwarder, "gone")
    for socket in gone:
        socket.connected = False
    for name in ("a", "b"):
        forwarder.allow(name, True)
        forwarder.on_packet(name, opus(ord(name), 1, 960))
    assert len(one_slot[0].packets) == 1
    assert forwarder.stats.delivered == 1


def red_listener(forwarder: Forwarder, member: str, opus_type: int, red_type: int | None) -> RecordingSocket:
    socket = RecordingSocket()
    forwarder.attach(member, [Outlet(ssrc=7000 + len(member), payload_type=opus_type, writer=socket,
                                     red_payload_type=red_type)])
    return socket


def test_red_goes_as_red_to_who_negotiated_it_and_as_its_primary_to_the_others(monkeypatch) -> None:
    forwarder = Forwarder(1)
    chromium = red_listener(forwarder, "chromium", 111, 63)
    firefox = red_listener(forwarder, "firefox", 109, 120)
    firefox2 = red_listener(forwarder, "firefox2", 109, 120)
    plain = red_listener(forwarder, "aiortc", 96, None)
    forwarder.allow("host", True)
    made: list[int] = []
    rewrite = Red.for_payload_type
    monkeypatch.setattr(Red, "for_payload_type", lambda self, pt: made.append(pt) or rewrite(self, pt))

    payload = wrap(111, b"\xfcnow", ((960, b"\xfcbefore"),))
    forwarder.on_packet("host", opus(ssrc=42, seq=7, ts=1920, payload=payload, level=20), red=True)
    assert sorted(made) == [109, 111], "one variant per distinct Opus payload type, not per listener"

    (to_chromium,), (to_firefox,), (to_plain,) = chromium.packets, firefox.packets, plain.packets
    assert (to_chromium.payload_type, to_chromium.payload) == (63, payload)
    assert to_firefox.payload_type == 120 and to_firefox.payload == Red.parse(payload).for_payload_type(109)
    assert Red.parse(to_firefox.payload).payload_type == 109
    assert firefox2.packets[0].payload == to_firefox.payload
    assert (to_plain.payload_type, to_plain.payload) == (96, b"\xfcnow")
    assert to_chromium.sequence_number == to_plain.sequence_number and to_chromium.timestamp == to_plain.timestamp
    assert (forwarder.stats.red_passed, forwarder.stats.red_unwrapped) == (3, 1)

    forwarder.on_packet("host", opus(ssrc=42, seq=8, ts=2880, payload=b"\xfcplain", level=20))
    assert [(s.packets[-1].payload_type, s.packets[-1].payload) for s in (chromium, firefox, plain)] == [
        (111, b"\xfcplain"), (109, b"\xfcplain"), (96, b"\xfcplain")], "plain Opus goes to everyone as Opus"
    assert (forwarder.stats.red_passed, forwarder.stats.red_unwrapped) == (3, 1)


def test_malformed_red_is_dropped_and_counted_and_takes_no_slot() -> None:
    forwarder = Forwarder(1)
    listener = red_listener(forwarder, "bo", 111, 63)
    forwarder.allow("host", True)
    forwarder.on_packet("host", opus(ssrc=42, seq=7, ts=960, payload=bytes((0x80 | 111, 0, 0, 40, 111)) + b"x",
                                     level=20), red=True)
    assert not listener.packets and forwarder.assignment() == [None]
    assert forwarder.stats.dropped_malformed_red == 1 and forwarder.stats.delivered == 0


def test_an_echo_test_returns_red_as_the_member_negotiated_it() -> None:
    forwarder = Forwarder(1)
    with_red = red_listener(forwarder, "ada", 109, 120)
    without = red_listener(forwarder, "bo", 111, None)
    payload = wrap(111, b"\xfcnow", ((960, b"\xfcbefore"),))
    forwarder.echo("ada", 5)
    forwarder.echo("bo", 5)
    forwarder.on_packet("ada", opus(ssrc=1, seq=1, ts=960, payload=payload), red=True)
    forwarder.on_packet("bo", opus(ssrc=2, seq=1, ts=960, payload=payload), red=True)
    echoed = with_red.packets[0]
    assert (echoed.payload_type, echoed.payload) == (120, Red.parse(payload).for_payload_type(109))
    assert (without.packets[0].payload_type, without.packets[0].payload) == (111, b"\xfcnow")


def test_a_newcomer_joins_the_fan_out_when_their_connection_comes_up(monkeypatch) -> None:
    forwarder = Forwarder(1)
    attach(forwarder, "host", slots=1)
    rebuilds: list[int] = []
    set_fanout = forwarder._set_fanout
    monkeypatch.setattr(forwarder, "_set_fanout", lambda index: rebuilds.append(index) or set_fanout(index))
    connecting = RecordingSocket(connected=False)
    forwarder.attach("ada", [Outlet(ssrc=5, payload_type=111, writer=connecting)])
    assert rebuilds == [], "nothing can reach her yet: no slot's fan-out is rebuilt for her"
    connecting.connected = True
    forwarder.refresh()  # what her Peer does when her connection comes up
    assert rebuilds == [0]
    forwarder.allow("host", True)
    forwarder.on_packet("host", opus(ssrc=42, seq=1, ts=960))
    assert len(connecting.packets) == 1
    before = len(rebuilds)
    forwarder.attach("ada", [Outlet(ssrc=6, payload_type=111, writer=RecordingSocket(connected=False))])
    assert len(rebuilds) == before + 1, "new outlets replacing hers are rebuilt at once, whatever their state"
