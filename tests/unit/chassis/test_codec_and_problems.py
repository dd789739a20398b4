"""JSON codec (exact money) and problem details."""

from __future__ import annotations

import decimal

import msgspec
import pytest

from nexus.money import Fixed, Money
from nexus.web.codec import decode_json, encode_json
from nexus.web.problems import PROBLEM_BASE, field_error_of, problem_type


class Fill(msgspec.Struct):
    price: Fixed
    notional: Money
    fee: decimal.Decimal


class Nested(msgspec.Struct):
    a: list[int]


def test_money_types_encode_as_decimal_strings() -> None:
    fill = Fill(Fixed("101.25"), Money("1012.5"), decimal.Decimal("0.10"))
    assert encode_json(fill) == b'{"price":"101.25","notional":"1012.5","fee":"0.10"}'


def test_money_types_decode_from_strings_exactly() -> None:
    fill = decode_json(b'{"price":"0.000000001","notional":"1000","fee":"1.5"}', Fill)
    assert fill.price == Fixed.from_raw(1)
    assert fill.notional == Money("1000")


@pytest.mark.parametrize(
    "text", ["1e3", "99999999999999999999", "9999999999", "NaN", "", "+1", "1.0000000001", "١"]
)
def test_money_text_outside_the_documented_pattern_is_a_validation_error(text: str) -> None:
    """Exponents and out-of-range values used to escape the hook as FixedPointOverflowError."""
    body = b'{"price":"%s","notional":"1","fee":"1"}' % text.encode()
    with pytest.raises(msgspec.ValidationError) as info:
        decode_json(body, Fill)
    assert field_error_of(info.value).field == "$.price"


def test_price_as_json_number_is_validation_error_at_its_path() -> None:
    with pytest.raises(msgspec.ValidationError) as info:
        decode_json(b'{"price":101.25,"notional":"1","fee":"1"}', Fill)
    assert field_error_of(info.value).field == "$.price"


def test_validation_message_is_split_into_path_and_message() -> None:
    with pytest.raises(msgspec.ValidationError) as info:
        msgspec.json.decode(b'{"a": [1, "x"]}', type=Nested)
    error = field_error_of(info.value, "query")
    assert (error.field, error.message, error.location) == (
        "$.a[1]",
        "Expected `int`, got `str`",
        "query",
    )


def test_problem_types_are_stable_uris() -> None:
    assert problem_type(422) == PROBLEM_BASE + "validation-failed"
    assert problem_type(418) == PROBLEM_BASE + "http-418"
