"""Recording a room: the host switches it on and everyone is told (joiners before they join); the
room's slots become Ogg Opus files that PyAV reads back at the length recorded, with a timeline
of who held which slot; only those who may listen get the files, and only hosts delete them."""

from __future__ import annotations

import asyncio
import contextlib
import io
import signal
from collections.abc import Iterator
from datetime import timedelta

import av
import httpx
import pytest

from signaling.client import RequestFailed
from signaling.participant import Participant, ToneTrack
from support import CLUSTER_SECRET, RunningServer, busy, hosted_room, serving, wait_until


@pytest.fixture
def sharing_nodes(redis_server, tmp_path, redis) -> Iterator[tuple[RunningServer, RunningServer]]:
    """Two nodes of one Dropin that share their recordings' folder, as docker/compose.yml's do."""
    with contextlib.ExitStack() as stack:
        yield tuple(stack.enter_context(serving(
            redis_server.url, tmp_path / name, DROPIN_SECRET=CLUSTER_SECRET,
            DROPIN_RECORDINGS_DIR=str(tmp_path / "recordings"))) for name in "ab")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ogg_seconds(body: bytes) -> tuple[str, str, float]:
    """(container, codec, seconds of decoded audio) of an Ogg file."""
    with av.open(io.BytesIO(body)) as container:
        codec = container.streams.audio[0].codec_context.name
        seconds = sum(frame.samples for frame in container.decode(audio=0)) / 48_000
        return container.format.name, codec, seconds


def loudness(body: bytes) -> float:
    """The mean level (0 to 1) of an Ogg Opus file's decoded audio."""
    with av.open(io.BytesIO(body)) as container:
        levels = [abs(frame.to_ndarray()).mean() for frame in container.decode(audio=0)]
        return float(sum(levels) / len(levels))


async def test_a_recorded_room_plays_back_as_ogg_opus_per_slot_with_its_timeline(server) -> None:
    room_id, host = hosted_room(server, "Grace")
    listener = Participant(server.ws_url, server.identity("Linus"))
    try:
        await host.join(room_id)
        await listener.join(room_id)
        assert not listener.welcome.recording
        await host.connect_media(ToneTrack(440))
        await listener.connect_media()
        await wait_until(lambda: _heard(listener), what="the listener hears the host")

        with pytest.raises(RequestFailed) as refused:
            await listener.client.request("set_recording", on=True)
        assert refused.value.code == "forbidden"
        assert not server.room(room_id)["recording"]

        await host.client.request("set_recording", on=True)
        changed = await listener.client.next_event("recording_changed")
        assert changed.recording is True
        assert server.room(room_id)["recording"] is True, "a joiner is told before joining"
        late = Participant(server.ws_url, server.identity("Late"))
        await late.join(room_id)
        assert late.welcome.recording
        await late.close()

        await asyncio.sleep(3)
        await host.client.request("set_recording", on=False)
        assert (await listener.client.next_event("recording_changed")).recording is False

        async with httpx.AsyncClient(base_url=server.base_url) as http:
            async def finished() -> bool:
                reply = await http.get(f"/api/rooms/{room_id}/recordings", headers=bearer(host.token))
                found = reply.json()["recordings"]
                return len(found) == 1 and found[0]["seconds"] is not None

            await wait_until(finished, what="the recording is finished")
            listing = (await http.get(f"/api/rooms/{room_id}/recordings", headers=bearer(listener.token))).json()
            (recording,) = listing["recordings"]
            assert not listing["may_delete"]
            assert 2.5 < recording["seconds"] < 4.5
            assert len(recording["slots"]) == 3
            held = {holder["name"] for moment in recording["timeline"] for holder in moment["holders"] if holder}
            assert held == {"Grace"}
            for url in recording["slots"]:
                reply = await http.get(url)
                assert reply.status_code == 200 and reply.headers["content-type"] == "audio/ogg"
                container, codec, seconds = ogg_seconds(reply.content)
                assert (container, codec) == ("ogg", "opus")
                assert abs(seconds - recording["seconds"]) < 0.1, "every slot runs the whole recording, in step"

            stranger = server.identity("Stranger")
            reply = await http.get(f"/api/rooms/{room_id}/recordings", headers=bearer(stranger))
            assert reply.status_code == 403
            forged = recording["slots"][0].split("?")[0] + "?grant=" + stranger
            assert (await http.get(forged)).status_code == 403

            one = f"/api/rooms/{room_id}/recordings/{recording['id']}"
            assert (await http.delete(one, headers=bearer(listener.token))).status_code == 403
            assert (await http.get(recording["slots"][0])).status_code == 200, "a refused delete deletes nothing"
            assert (await http.delete(one, headers=bearer(host.token))).json() == {"id": recording["id"]}
            assert (await http.get(recording["slots"][0])).status_code == 404
            listing = (await http.get(f"/api/rooms/{room_id}/recordings", headers=bearer(host.token))).json()
            assert listing == {"recordings": [], "may_delete": True}
    finally:
        await asyncio.gather(host.close(), listener.close(), return_exceptions=True)


async def test_ending_a_room_finishes_its_recording(server) -> None:
    room_id, host = hosted_room(server)
    try:
        await host.join(room_id)
        await host.connect_media(ToneTrack(440))
        await host.client.request("set_recording", on=True)
        await asyncio.sleep(2)
        httpx.post(f"{server.base_url}/api/rooms/{room_id}/end", headers=bearer(host.token)).raise_for_status()
        assert not server.room(room_id)["recording"]

        async def finished() -> bool:
            found = httpx.get(f"{server.base_url}/api/rooms/{room_id}/recordings", headers=bearer(host.token)).json()
            return len(found["recordings"]) == 1 and found["recordings"][0]["seconds"] is not None

        await wait_until(finished, what="the ended room's recording is finished")
    finally:
        await host.close()


async def test_when_the_recording_node_dies_the_next_origin_records_on(sharing_nodes, redis) -> None:
    a, b = sharing_nodes
    room_id, host = hosted_room(a, "Grace")
    sol = Participant(b.ws_url, b.identity("Sol"))
    try:
        async with busy(redis, b):
            await host.join(room_id)  # the room's origin, and so its recorder, is node A
        await sol.join(room_id)
        await sol.client.request("raise_hand")
        await host.client.request("invite", target=sol.welcome.you.id)
        await sol.client.request("accept_invite")
        await sol.client.request("unmute_self")
        await host.client.request("make_moderator", target=sol.welcome.you.id)  # the room goes on without A
        await sol.connect_media(ToneTrack(880))
        await host.client.request("set_recording", on=True)
        await asyncio.sleep(3)
        a.process.send_signal(signal.SIGKILL)

        async with httpx.AsyncClient(base_url=b.base_url) as http:
            async def listing() -> list[dict]:
                reply = await http.get(f"/api/rooms/{room_id}/recordings", headers=bearer(sol.token))
                return reply.json()["recordings"]

            async def taken_over() -> bool:
                return len(await listing()) == 2

            await wait_until(taken_over, timeout=20, interval=0.5, what="node B records the room on")
            await sol.client.next_event("host_changed")
            await asyncio.sleep(2)
            await sol.client.request("set_recording", on=False)

            async def finished() -> bool:
                return (await listing())[1]["seconds"] is not None

            await wait_until(finished, what="node B's recording is finished")
            cut_short, carried_on = await listing()
            assert cut_short["seconds"] is None, "the dead node never finished its recording"
            levels = [loudness((await http.get(url)).content) for url in cut_short["slots"]]
            assert max(levels) > 0.05, "what the dead node wrote before it died plays"
            _, _, seconds = ogg_seconds((await http.get(cut_short["slots"][0])).content)
            assert seconds > 1.5, "the dead node's pages reached the file as it wrote them"
            assert carried_on["seconds"] > 1.5
            assert max([loudness((await http.get(url)).content) for url in carried_on["slots"]]) > 0.05
    finally:
        await asyncio.gather(host.close(), sol.close(), return_exceptions=True)


async def _heard(participant: Participant) -> bool:
    return await participant.packets_received() > 10


async def test_a_room_over_two_nodes_is_recorded_once_by_its_origin_and_served_by_either(sharing_nodes, redis) -> None:
    a, b = sharing_nodes
    room_id, host = hosted_room(a, "Grace")
    speaker = Participant(b.ws_url, b.identity("Sol"))
    try:
        async with busy(redis, b):
            await host.join(room_id)  # the room's origin is node A
        await speaker.join(room_id)
        await speaker.client.request("raise_hand")
        await host.client.request("invite", target=speaker.welcome.you.id)
        await speaker.client.request("accept_invite")
        await speaker.client.request("unmute_self")
        await host.connect_media(ToneTrack(440))
        await speaker.connect_media(ToneTrack(880))
        await wait_until(lambda: _heard(host), what="the host hears the speaker on the other node")

        await host.client.request("set_recording", on=True)
        await asyncio.sleep(3)
        await host.client.request("set_recording", on=False)

        async with httpx.AsyncClient(base_url=b.base_url) as http:
            async def finished() -> list[dict]:
                reply = await http.get(f"/api/rooms/{room_id}/recordings", headers=bearer(speaker.token))
                return [found for found in reply.json()["recordings"] if found["seconds"] is not None]

            await wait_until(finished, what="the recording is finished")
            await asyncio.sleep(1.5)  # a second node writing one too would have by now
            (recording,) = (await http.get(f"/api/rooms/{room_id}/recordings",
                                           headers=bearer(speaker.token))).json()["recordings"]
            held = {holder["name"] for moment in recording["timeline"] for holder in moment["holders"] if holder}
            assert held == {"Grace", "Sol"}
            levels = sorted([loudness((await http.get(url)).content) for url in recording["slots"]])
            assert levels[0] < 0.001 < 0.05 < levels[1], f"two voices on two slots, one slot quiet: {levels}"
    finally:
        await asyncio.gather(host.close(), speaker.close(), return_exceptions=True)


async def test_a_club_rooms_recordings_are_listed_for_the_clubs_members(server) -> None:
    from test_clubs_events import Person, error, local, schedule

    ada, bo, cy = Person(server, "Ada"), Person(server, "Bo"), Person(server, "Cy")
    club = ada.post("/api/clubs", {"name": "L&D Thursdays"}).json()
    assert bo.post(f"/api/clubs/{club['id']}/follow").status_code == 200
    series = schedule(ada, club_id=club["id"], start=local(timedelta(minutes=5)), title="Club hour")
    room_id = ada.post(f"/api/events/{series['id']}/occurrences/{series['next']['date']}/open").json()["room_id"]
    host = Participant(server.ws_url, ada.token)
    try:
        await host.join(room_id)
        await host.connect_media(ToneTrack(440))
        await host.client.request("set_recording", on=True)
        await asyncio.sleep(2)
        await host.client.request("set_recording", on=False)

        async def listed() -> bool:
            found = bo.get(f"/api/clubs/{club['id']}/recordings").json()["recordings"]
            return len(found) == 1 and found[0]["recording"]["seconds"] is not None

        await wait_until(listed, what="a member sees the club's recording")
        (entry,) = bo.get(f"/api/clubs/{club['id']}/recordings").json()["recordings"]
        assert entry["room_id"] == room_id and entry["title"] == "Club hour"
        assert entry["roundup"] == f"/rooms/{room_id}/roundup"
        assert error(cy.get(f"/api/clubs/{club['id']}/recordings")) == (403, "forbidden")
        assert error(cy.get(f"/api/rooms/{room_id}/recordings")) == (403, "forbidden"), "not a member, not there"
        assert len(bo.get(f"/api/rooms/{room_id}/recordings").json()["recordings"]) == 1
    finally:
        await host.close()
