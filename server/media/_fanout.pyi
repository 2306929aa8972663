"""Types for the compiled fan-out loop (server/media/_fanout.c)."""

from collections.abc import Sequence

# (socket descriptor, srtp_t address, host, port, Opus payload type, payload type of a RED packet
# (RED's, or Opus's for a listener without it), index of its variant of a RED packet, SSRC, an
# object kept alive with the target)
Target = tuple[int, int, str, int, int, int, int, int, object]

class FanOut:
    """One slot's listeners: protect and send a packet to each of them."""

    def __init__(self, srtp_protect: int, /) -> None: ...
    def set_targets(self, targets: Sequence[Target], /) -> None: ...
    def send(self, seq: int, ts: int, marker: int, payloads: tuple[bytes, ...], red: bool, /) -> tuple[int, int]: ...
    def count(self) -> int: ...
