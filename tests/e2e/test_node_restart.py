"""End to end: the server is killed under a live room (kill -9) and comes back; the pages say
they are reconnecting, rejoin by themselves, and the listener hears the host again."""

from __future__ import annotations

import signal

from playwright.async_api import expect

from support import host_and_listener_pages, packets_on, serving


async def test_pages_reconnect_by_themselves_after_their_node_is_killed(
    server, open_page, redis_server, tmp_path
) -> None:
    host, listener = await open_page(), await open_page()
    await host_and_listener_pages(host, listener)

    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    for page in (host, listener):
        await expect(page.get_by_text("Reconnecting…")).to_be_visible(timeout=5_000)

    port = int(server.base_url.rsplit(":", 1)[1])
    with serving(redis_server.url, tmp_path, port=port):
        await expect(host.get_by_text("Live — you're on stage")).to_be_visible(timeout=15_000)
        received = await packets_on(listener, 100, within_s=15)
        assert received > 100, f"after the restart the listener received only {received} packets in 15 s"
        await expect(listener.get_by_text("Reconnecting…")).to_be_hidden()
