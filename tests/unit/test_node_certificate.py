"""A node's peer connections share one DTLS certificate and SSL context (server/media/certificate.py)."""

from __future__ import annotations

import datetime

from aiortc.rtcdtlstransport import SRTP_PROFILES
from aiortc.sdp import SessionDescription
from coturn import machine_address
from OpenSSL import SSL
from OpenSSL._util import lib as openssl
from test_lean_peer import connected_listener

from server.media.certificate import node_certificate
from server.media.udp_mux import UdpMux


def fingerprint(sdp: str) -> str:
    description = SessionDescription.parse(sdp)
    return next(f.value for f in description.media[0].dtls.fingerprints if f.algorithm == "sha-256")


async def test_two_members_connect_with_the_nodes_one_certificate() -> None:
    mux = UdpMux()
    await mux.open(0, addresses=[machine_address()])
    certificate = node_certificate()
    expected = next(f.value for f in certificate.getFingerprints() if f.algorithm == "sha-256")
    pairs = []
    try:
        for name in ("ada", "grace"):  # each connects: DTLS completes with the shared context
            pairs.append(await connected_listener(mux, name))
        for _, browser in pairs:
            assert fingerprint(browser.remoteDescription.sdp) == expected
        for peer, _ in pairs:
            dtls = peer._microphone.receiver.transport
            assert dtls._ssl.get_context() is certificate._create_ssl_context(SRTP_PROFILES)
    finally:
        for peer, browser in pairs:
            await peer.close()
            await browser.close()
        await mux.close()


def test_the_shared_context_keeps_no_sessions_and_releases_buffers() -> None:
    context = node_certificate()._create_ssl_context(SRTP_PROFILES)
    assert context is node_certificate()._create_ssl_context(SRTP_PROFILES)
    assert context.get_session_cache_mode() == SSL.SESS_CACHE_OFF
    assert openssl.SSL_CTX_set_mode(context._context, 0) & SSL.MODE_RELEASE_BUFFERS  # adds nothing, returns the mode


def test_the_certificate_is_renewed_a_day_before_it_expires() -> None:
    current = node_certificate()
    assert node_certificate(current.expires - datetime.timedelta(days=2)) is current
    renewed = node_certificate(current.expires - datetime.timedelta(hours=12))
    assert renewed is not current
    assert renewed.getFingerprints() != current.getFingerprints()
    assert renewed.expires > current.expires
