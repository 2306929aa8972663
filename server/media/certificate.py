"""The node's DTLS certificate: one for all of its peer connections, as Janus and mediasoup have.

aiortc makes a key, a certificate and an OpenSSL context for every peer connection. A node needs
one of each: the browser checks the fingerprint in our answer, not who else shares it. Sharing
saves about 0.35 ms of CPU and 45 KB of memory per member (measured in docs/benchmarks.md), and
the shared context lets OpenSSL free each connection's record buffers while it is idle. The
certificate is renewed a day before it expires (aiortc's are good for 30 days); connections made
before keep theirs.
"""

from __future__ import annotations

import datetime

from aiortc import RTCPeerConnection
from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsFingerprint, SRTPProtectionProfile
from OpenSSL import SSL

RENEW_BEFORE = datetime.timedelta(days=1)


class NodeCertificate(RTCCertificate):
    """An RTCCertificate whose fingerprints and SSL context are made once."""

    def __init__(self, certificate: RTCCertificate) -> None:
        super().__init__(key=certificate._key, cert=certificate._cert)
        self._fingerprints = super().getFingerprints()
        self._contexts: dict[tuple[bytes, ...], SSL.Context] = {}

    def getFingerprints(self) -> list[RTCDtlsFingerprint]:
        return self._fingerprints

    def _create_ssl_context(self, srtp_profiles: list[SRTPProtectionProfile]) -> SSL.Context:
        key = tuple(profile.openssl_profile for profile in srtp_profiles)
        context = self._contexts.get(key)
        if context is None:
            context = self._contexts[key] = super()._create_ssl_context(srtp_profiles)
            context.set_mode(SSL.MODE_RELEASE_BUFFERS)  # no idle 34 KB record buffers per connection
            context.set_session_cache_mode(SSL.SESS_CACHE_OFF)  # a shared context must not collect sessions
        return context


_current: NodeCertificate | None = None


def node_certificate(now: datetime.datetime | None = None) -> NodeCertificate:
    """This process's certificate, made on first use and renewed a day before it expires."""
    global _current
    now = now or datetime.datetime.now(datetime.UTC)
    if _current is None or _current.expires - now < RENEW_BEFORE:
        _current = NodeCertificate(RTCCertificate.generateCertificate())
    return _current


def use_node_certificate(pc: RTCPeerConnection) -> None:
    """Make `pc` use the node's certificate (before it negotiates: its DTLS transports take it then)."""
    pc._RTCPeerConnection__certificates = [node_certificate()]  # type: ignore[attr-defined]
