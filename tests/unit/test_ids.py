"""The ids Dropin makes can be typed into a shell command as arguments."""

from server.domain.ids import new_id


def test_ids_never_start_with_a_dash_and_are_url_safe() -> None:
    ids = [new_id() for _ in range(5000)]  # one in 64 of token_urlsafe's would start with '-'
    assert not [value for value in ids if value.startswith("-")]
    assert all(len(value) == 11 and value.replace("-", "").replace("_", "").isalnum() for value in ids)
    assert len(set(ids)) == len(ids)
