"""On stage without renegotiation: a listener invited up is heard by everyone through a slot; once
muted, the server drops their packets whatever their client sends."""

from __future__ import annotations

import asyncio

from signaling.participant import Participant, ToneTrack
from support import hosted_room, wait_until


async def test_a_listener_brought_on_stage_is_heard_then_silenced_by_a_mute(server) -> None:
    room_id, host = hosted_room(server)
    ada = Participant(server.ws_url, server.identity("Ada"))
    audience = [Participant(server.ws_url, server.identity(f"Listener {i}")) for i in range(2)]
    everyone = [host, ada, *audience]
    try:
        for p in everyone:
            await p.join(room_id)
        await host.connect_media(ToneTrack(440))
        for p in [ada, *audience]:
            await p.connect_media()

        async def host_heard() -> bool:
            return all([(await p.packets_per_slot())[0] > 10 for p in [ada, *audience]])

        await wait_until(host_heard)

        await ada.client.request("raise_hand")
        await host.client.request("invite", target=ada.welcome.you.id)
        await ada.client.request("accept_invite")
        await ada.client.request("unmute_self")  # a new speaker arrives muted
        ada.replace_microphone(ToneTrack(660))  # what the browser does: no renegotiation

        async def ada_heard() -> bool:
            return all([(await p.packets_per_slot())[1] > 10 for p in audience])

        await wait_until(ada_heard, timeout=5)
        sent_before = await ada.packets_sent()
        heard_before = [(await p.packets_per_slot())[1] for p in audience]
        await asyncio.sleep(3)
        sent = await ada.packets_sent() - sent_before
        heard = [(await p.packets_per_slot())[1] - before for p, before in zip(audience, heard_before)]
        assert sent > 100
        for count in heard:
            assert count >= 0.95 * sent, f"a listener got {count} of Ada's {sent} packets"
        assert (await host.packets_per_slot())[1] > 0, "the host hears Ada too"
        assert (await ada.packets_per_slot())[1] == 0, "Ada never hears herself"

        await host.client.request("mute", target=ada.welcome.you.id)
        await asyncio.sleep(0.2)  # packets already in flight when the mute landed
        frozen = [(await p.packets_per_slot())[1] for p in [host, *audience]]
        ada_before = await ada.packets_sent()
        await asyncio.sleep(2)
        assert await ada.packets_sent() - ada_before > 50, "Ada's client kept sending"
        assert [(await p.packets_per_slot())[1] for p in [host, *audience]] == frozen
    finally:
        await asyncio.gather(*(p.close() for p in everyone), return_exceptions=True)
