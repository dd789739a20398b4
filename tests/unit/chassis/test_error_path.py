"""The one reader of msgspec's error path (``nexus.errors.split_error_path``)."""

from __future__ import annotations

import msgspec
import pytest

from nexus.errors import split_error_path
from nexus.events import ORDER_CODEC, EventDecodeError


class Leg(msgspec.Struct):
    qty: int


class Ticket(msgspec.Struct, forbid_unknown_fields=True):
    legs: list[Leg]
    note: str = ""


def _error(raw: bytes) -> str:
    with pytest.raises(msgspec.ValidationError) as info:
        msgspec.json.decode(raw, type=Ticket)
    return str(info.value)


def test_a_nested_error_is_split_into_message_and_path() -> None:
    assert split_error_path(_error(b'{"legs": [{"qty": 1}, {"qty": "x"}]}')) == (
        "Expected `int`, got `str`",
        "$.legs[1].qty",
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{}", "Object missing required field `legs`"),
        (b'{"legs": [], "nope": 1}', "Object contains unknown field `nope`"),
    ],
)
def test_an_error_at_the_root_has_no_path(raw: bytes, message: str) -> None:
    assert split_error_path(_error(raw)) == (message, None)


def test_caller_text_that_only_looks_like_a_path_is_not_taken_for_one() -> None:
    text = "Expected a decimal string, got '1 - at `$.evil`x'"
    assert split_error_path(text) == (text, None)
    assert split_error_path("bad - at `nowhere`") == ("bad - at `nowhere`", None)


def test_the_last_suffix_is_the_path_msgspec_appended() -> None:
    text = "Expected a decimal string, got '1 - at `$.evil`' - at `$.price`"
    assert split_error_path(text) == ("Expected a decimal string, got '1 - at `$.evil`'", "$.price")


def test_event_decode_errors_name_their_field_through_it() -> None:
    with pytest.raises(EventDecodeError) as info:
        ORDER_CODEC.decode_json(b'{"type": "new", "order_id": 5}')
    assert info.value.field == "$.order_id"
    with pytest.raises(EventDecodeError) as root:
        ORDER_CODEC.decode_json(b'{"order_id": "o1"}')
    assert root.value.field is None
