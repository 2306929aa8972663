"""RFC 2198 parsing and per-listener rewriting (server/media/red.py)."""

from __future__ import annotations

import pytest

from server.media.red import MalformedRed, Red, wrap


def test_a_primary_only_packet() -> None:
    red = Red.parse(wrap(111, b"\xfcprimary"))
    assert red.payload == b"\x6f\xfcprimary" and red.headers == (0,) and red.payload_type == 111
    assert red.primary() == b"\xfcprimary"
    assert red.for_payload_type(109) == b"\x6d\xfcprimary"


def test_several_redundant_blocks() -> None:
    payload = wrap(111, b"\xfcnow", ((1920, b"\xfcolder"), (960, b"\xfc" + bytes(300))))
    red = Red.parse(payload)
    assert red.headers == (0, 4, 8) and red.primary() == b"\xfcnow"
    # Offsets and lengths as RFC 2198 lays them out: 14-bit offset, 10-bit length.
    assert payload[:4] == bytes((0x80 | 111, 1920 >> 6, (1920 & 0x3F) << 2, 6))
    assert payload[4:8] == bytes((0x80 | 111, 960 >> 6, (960 & 0x3F) << 2 | 1, 301 & 0xFF))
    retagged = red.for_payload_type(109)
    assert [retagged[h] for h in red.headers] == [0x80 | 109, 0x80 | 109, 109]
    assert retagged[1:4] == payload[1:4] and retagged[9:] == payload[9:], "only the payload types change"
    assert red.for_payload_type(111) is payload, "the speaker's own numbering needs no copy"


@pytest.mark.parametrize(
    "payload",
    [
        b"",  # no header at all
        bytes((0x80 | 111, 0, 4)),  # a redundant block header cut short
        bytes((0x80 | 111, 0, 0, 3)),  # no primary's header after it
        bytes((0x80 | 111, 0, 0, 10, 111)) + b"short",  # the redundant block runs past the end
        bytes((0x80 | 111, 0, 0, 2, 111)) + b"ab",  # no primary left after the blocks
        bytes((111,)),  # an empty primary
        bytes((0x80 | 13, 0, 0, 1, 111)) + b"cn" + b"\xfc",  # blocks of different formats
    ],
)
def test_malformed_red_is_refused(payload: bytes) -> None:
    with pytest.raises(MalformedRed):
        Red.parse(payload)
