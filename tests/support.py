"""Helpers shared by the tests (importable because tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from signaling import messages as m
from signaling.client import SignalingClient
from signaling.participant import Participant, ToneTrack
from signaling.view import RoomView


def free_port() -> int:
    """A TCP port on loopback that nothing is listening on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def host_and_listener(server) -> tuple[str, Participant, Participant]:
    """A new room whose host sends a tone, and one listener; both joined and connected. The
    caller closes them."""
    host_token = server.identity("Host")
    room_id = server.create_room(host_token)
    host = Participant(server.ws_url, host_token)
    listener = Participant(server.ws_url, server.identity("Listener"))
    try:
        await host.join(room_id)
        await listener.join(room_id)
        await host.connect_media(ToneTrack())
        await listener.connect_media()
    except BaseException:
        await asyncio.gather(host.close(), listener.close(), return_exceptions=True)
        raise
    return room_id, host, listener


class Member:
    """A room member driven over the websocket protocol, keeping a RoomView of what it was told."""

    def __init__(self, client: SignalingClient, welcome: m.Joined) -> None:
        self.client = client
        self.welcome = welcome
        self.view = RoomView.from_welcome(welcome)

    @property
    def id(self) -> str:
        return self.welcome.you.id

    @classmethod
    async def enter(cls, ws_url: str, room_id: str, token: str, last_seq: int | None = None) -> "Member":
        client = await SignalingClient.connect(ws_url)
        fields = {"last_seq": last_seq} if last_seq is not None else {}
        return cls(client, await client.request("join", room=room_id, token=token, **fields))

    async def act(self, action: str, **fields: object) -> m.Message:
        """Take a room action; returns the reply (raises RequestFailed on an error)."""
        return await self.client.request(action, **fields)

    async def expect(self, event_type: str, timeout: float = 5.0) -> m.Message:
        """Wait for the next event of a type, applying every event on the way to the view."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self.client.events.get()
                self.view.apply(event)
                if event.type == event_type:
                    return event

    async def until(self, condition: Callable[[RoomView], bool], timeout: float = 5.0) -> None:
        """Apply events until the view satisfies `condition`."""
        async with asyncio.timeout(timeout):
            while not condition(self.view):
                self.view.apply(await self.client.events.get())

    async def settle(self, quiet_s: float = 0.3) -> None:
        """Apply events until none has come for `quiet_s`."""
        while True:
            try:
                event = await asyncio.wait_for(self.client.events.get(), quiet_s)
            except TimeoutError:
                return
            self.view.apply(event)
