"""Fixed/Money fail closed: bounded parsing, exact operators, None refused, errors quote input.

Each test here failed before the fix it names (issue 11 section 2, issue 18 item 3).
"""

from __future__ import annotations

from decimal import Context, Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus.money import (
    Fixed,
    FixedPointOverflowError,
    InexactValueError,
    InvalidNumberError,
    Money,
    Rounding,
    format_raw,
    parse_raw,
)

# Inputs that cost seconds (10 ** shift) or crashed str(int) before the bounds.
HUGE_EXPONENTS = ["1e10000000", "1E+999999999", "-7e400000", "0.5e123456789"]
TINY_EXPONENTS = ["1e-10000000", "-3E-999999999"]


@pytest.mark.parametrize("text", HUGE_EXPONENTS)
@pytest.mark.parametrize("kind", [Fixed, Money])
def test_parse_huge_exponent_raises_overflow_before_arithmetic(kind: Any, text: str) -> None:
    with pytest.raises(FixedPointOverflowError, match="out of range"):
        kind(text)


@pytest.mark.parametrize("text", TINY_EXPONENTS)
def test_parse_tiny_exponent_is_inexact_without_rounding(text: str) -> None:
    with pytest.raises(InexactValueError):
        Fixed(text)


@pytest.mark.parametrize(
    ("text", "mode", "raw"),
    [
        ("1e-10000000", Rounding.HALF_EVEN, 0),
        ("1e-10000000", Rounding.UP, 1),
        ("1e-10000000", Rounding.CEILING, 1),
        ("-1e-10000000", Rounding.FLOOR, -1),
        ("-1e-10000000", Rounding.DOWN, 0),
        ("5e-10", Rounding.HALF_UP, 1),
        ("5e-10", Rounding.HALF_EVEN, 0),
    ],
)
def test_parse_tiny_exponent_rounds_like_decimal(text: str, mode: Rounding, raw: int) -> None:
    assert Fixed(text, mode).raw == raw


def test_zero_with_any_exponent_is_zero() -> None:
    assert Fixed("0e10000000").raw == 0
    assert Fixed("0E-999999999").raw == 0


def test_trailing_zeros_do_not_count_as_digits() -> None:
    assert Fixed(Decimal("1." + "0" * 200)) == Fixed("1")
    assert Money(Decimal("1" + "0" * 20)) == Money("100000000000000000000")


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
        lambda d: abs(d) < Decimal("1e20")
    ),
    st.sampled_from(list(Rounding)[1:]),
)
def test_decimal_of_any_length_rounds_like_decimal_quantize(value: Decimal, mode: Rounding) -> None:
    expected = value.quantize(
        Decimal("1e-9"), rounding=mode.decimal_mode, context=Context(prec=200)
    )
    assert Money(value, mode).to_decimal() == expected


def test_float_decimals_with_hundreds_of_digits_round_quickly() -> None:
    tiny = Decimal(float("1e-300"))  # the binary expansion: 700+ significant digits
    assert len(tiny.as_tuple().digits) > 600
    assert Fixed(tiny, Rounding.UP).raw == 1
    assert Fixed(-tiny, Rounding.HALF_EVEN).raw == 0
    assert Fixed(Decimal(float("0.15")), Rounding.HALF_EVEN) == Fixed("0.15")


def test_overlong_text_is_refused_and_message_is_short() -> None:
    with pytest.raises(InvalidNumberError, match="longer than 64") as info:
        Fixed("1" * 1_000_000)
    assert len(str(info.value)) < 200


@pytest.mark.parametrize("text", ["١٢٣", "１２", "12\u0663", "1.5\u0661", "²"])
def test_non_ascii_digits_are_refused(text: str) -> None:
    with pytest.raises(InvalidNumberError, match="not a decimal number"):
        Fixed(text)


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "nan",
        "sNaN",
        "Infinity",
        "-inf",
        "1_000",
        " 1",
        "1 ",
        "1\x00",
        "0x10",
        "1e",
        "e5",
        "1.2.3",
        "--1",
        "+-1",
        "1e+",
        ".",
        "-",
        "1,5",
    ],
)
def test_text_outside_the_decimal_pattern_is_refused(text: str) -> None:
    with pytest.raises(InvalidNumberError):
        Fixed(text)


def test_huge_int_overflow_message_does_not_format_the_int() -> None:
    with pytest.raises(FixedPointOverflowError, match="bits") as info:
        Fixed(10**100_000)
    assert len(str(info.value)) < 200
    with pytest.raises(FixedPointOverflowError, match="bits"):
        Fixed.from_raw(10**100_000)
    with pytest.raises(FixedPointOverflowError):
        Money(10**100_000)


def test_overflow_message_quotes_the_text_the_user_sent() -> None:
    with pytest.raises(FixedPointOverflowError, match="'99999999999999999999'"):
        Fixed("99999999999999999999")
    with pytest.raises(FixedPointOverflowError, match="'1e15'"):
        Fixed("1e15")


# -- exact operators (issue 18.3) --------------------------------------------------------------
def test_mul_operator_is_exact_and_raises_when_rounding_is_needed() -> None:
    with pytest.raises(InexactValueError, match="rounding"):
        Fixed("0.000000001") * Fixed("0.5")
    assert Fixed("0.000000001").mul(Fixed("0.5"), Rounding.HALF_EVEN) == Fixed("0")
    assert Fixed("0.000000001").mul(Fixed("0.5"), rounding=Rounding.UP) == Fixed("0.000000001")
    assert Fixed("1.5") * Fixed("2") == Fixed("3")


def test_div_operator_is_exact_and_raises_when_rounding_is_needed() -> None:
    with pytest.raises(InexactValueError, match="rounding"):
        Fixed("1") / Fixed("3")
    assert Fixed("1").div(Fixed("3"), Rounding.HALF_EVEN) == Fixed("0.333333333")
    assert Fixed("1") / Fixed("4") == Fixed("0.25")


def test_mul_and_div_methods_default_to_exact() -> None:
    with pytest.raises(InexactValueError):
        Fixed("0.1").mul(Fixed("0.000000001"))
    with pytest.raises(InexactValueError):
        Fixed("2").div(Fixed("3"))


_RAW = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@given(_RAW, _RAW)
def test_exact_mul_equals_rounded_mul_or_raises(a: int, b: int) -> None:
    x, y = Fixed.from_raw(a), Fixed.from_raw(b)
    product = a * b
    if product % 10**9:
        with pytest.raises(InexactValueError):
            x * y
    elif not -(2**63) <= product // 10**9 < 2**63:
        with pytest.raises(FixedPointOverflowError):
            x * y
    else:
        assert (x * y).raw == product // 10**9


@given(_RAW, _RAW.filter(bool))
def test_exact_div_equals_rounded_div_or_raises(a: int, b: int) -> None:
    x, y = Fixed.from_raw(a), Fixed.from_raw(b)
    n = a * 10**9
    if n % b:
        with pytest.raises(InexactValueError):
            x / y
    elif not -(2**63) <= n // b < 2**63:
        with pytest.raises(FixedPointOverflowError):
            x / y
    else:
        assert (x / y).raw == n // b


def test_exact_div_by_zero_raises_zero_division() -> None:
    with pytest.raises(ZeroDivisionError):
        Fixed("1") / Fixed("0")
    with pytest.raises(ZeroDivisionError):
        Fixed("1").div(Fixed("0"), Rounding.HALF_EVEN)


# -- None and wrong types on every binary operation (issue 11.2) -------------------------------
ONE = Fixed("1")
M = Money("1")
WRONG: list[Any] = [None, 1, 1.0, "1", Decimal("1"), M]

BINARY_METHODS = [
    ("Fixed.mul", lambda o: ONE.mul(o)),
    ("Fixed.mul rounded", lambda o: ONE.mul(o, 0)),
    ("Fixed.div", lambda o: ONE.div(o)),
    ("Fixed.div rounded", lambda o: ONE.div(o, 0)),
    ("Fixed.notional", lambda o: ONE.notional(o)),
    ("Money.per_unit", lambda o: M.per_unit(o)),
    ("Money.mul", lambda o: M.mul(o)),
]


@pytest.mark.parametrize("other", WRONG, ids=repr)
@pytest.mark.parametrize(("name", "call"), BINARY_METHODS, ids=[n for n, _ in BINARY_METHODS])
def test_binary_method_with_none_or_wrong_type_raises_type_error(
    name: str, call: Any, other: Any
) -> None:
    with pytest.raises(TypeError):
        call(other)


OPERATORS = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a * b,
    lambda a, b: a / b,
    lambda a, b: a < b,
    lambda a, b: a <= b,
    lambda a, b: a > b,
    lambda a, b: a >= b,
]


@pytest.mark.parametrize("other", [None, 1, 1.0, "1", Decimal("1")], ids=repr)
@pytest.mark.parametrize("value", [ONE, M], ids=["Fixed", "Money"])
@pytest.mark.parametrize("op", OPERATORS)
def test_operators_with_none_or_wrong_type_raise_type_error(
    op: Any, value: Any, other: Any
) -> None:
    with pytest.raises(TypeError):
        op(value, other)
    with pytest.raises(TypeError):
        op(other, value)


def test_fixed_and_money_do_not_mix_in_operators() -> None:
    with pytest.raises(TypeError):
        ONE + M  # type: ignore[operator]
    assert (ONE == M) is False


@pytest.mark.parametrize(
    "call",
    [
        lambda: Fixed.from_str(None),
        lambda: Money.from_str(None),
        lambda: Fixed.from_decimal(None),
        lambda: Money.from_decimal(None),
        lambda: Fixed.from_decimal("1"),
        lambda: parse_raw(None),
        lambda: format_raw(None),
        lambda: format_raw("1"),
    ],
)
def test_constructors_refuse_none(call: Any) -> None:
    with pytest.raises(TypeError):
        call()


def test_default_constructed_values_are_zero() -> None:
    assert Fixed().raw == 0
    assert Money().raw == 0
    assert Money() + Money("1.5") == Money("1.5")
