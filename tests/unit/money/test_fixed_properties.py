"""Fixed-point arithmetic against Decimal as the oracle (property-based)."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from nexus.money import (
    Fixed,
    FixedPointOverflowError,
    InexactValueError,
    InvalidNumberError,
    Money,
    Rounding,
    float_to_money,
    format_raw,
    raw_to_decimal,
    to_raw,
)

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
Q = Decimal("1e-9")
CTX = decimal.Context(prec=80, traps=[decimal.InvalidOperation])

raws = st.integers(INT64_MIN, INT64_MAX)
small_raws = st.integers(-(10**15), 10**15)
modes = st.sampled_from([m for m in Rounding if m is not Rounding.EXACT])


def dec(raw: int) -> Decimal:
    return CTX.multiply(Decimal(raw), Q)


def fits(value: Decimal) -> bool:
    return INT64_MIN <= CTX.multiply(value, Decimal(10**9)) <= INT64_MAX


@given(raws)
def test_str_round_trip_is_exact(raw: int) -> None:
    value = Fixed.from_raw(raw)
    assert Fixed(str(value)) == value
    assert value.to_decimal() == dec(raw)
    assert Fixed.from_decimal(value.to_decimal()).raw == raw


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=9, min_value=-(10**9), max_value=10**9
    )
)
def test_decimal_with_nine_places_converts_exactly(value: Decimal) -> None:
    assert Fixed(value).to_decimal() == value
    assert Fixed(str(value)).to_decimal() == value


@given(raws, raws)
def test_add_and_sub_match_decimal_or_raise_overflow(a: int, b: int) -> None:
    for op, expected in ((Fixed.__add__, a + b), (Fixed.__sub__, a - b)):
        if INT64_MIN <= expected <= INT64_MAX:
            assert op(Fixed.from_raw(a), Fixed.from_raw(b)).raw == expected
        else:
            with pytest.raises(FixedPointOverflowError):
                op(Fixed.from_raw(a), Fixed.from_raw(b))


@given(raws, raws, modes)
def test_mul_matches_decimal_quantized_with_same_rounding(a: int, b: int, mode: Rounding) -> None:
    exact = CTX.multiply(dec(a), dec(b))
    expected = exact.quantize(Q, rounding=mode.decimal_mode, context=CTX)
    if fits(expected):
        assert Fixed.from_raw(a).mul(Fixed.from_raw(b), mode).to_decimal() == expected
    else:
        with pytest.raises(FixedPointOverflowError):
            Fixed.from_raw(a).mul(Fixed.from_raw(b), mode)


@given(raws, raws.filter(bool), modes)
def test_div_matches_decimal_quantized_with_same_rounding(a: int, b: int, mode: Rounding) -> None:
    exact = CTX.divide(dec(a), dec(b))
    expected = (
        CTX.divide(Decimal(a) * 10**9, Decimal(b)).quantize(
            Decimal(1), rounding=mode.decimal_mode, context=CTX
        )
        * Q
    )
    assume(abs(exact) < Decimal(10) ** 40)
    if fits(expected):
        assert Fixed.from_raw(a).div(Fixed.from_raw(b), mode).to_decimal() == expected
    else:
        with pytest.raises(FixedPointOverflowError):
            Fixed.from_raw(a).div(Fixed.from_raw(b), mode)


@given(raws, raws, modes)
def test_notional_is_exact_for_any_pair_of_fixed(a: int, b: int, mode: Rounding) -> None:
    expected = CTX.multiply(dec(a), dec(b)).quantize(Q, rounding=mode.decimal_mode, context=CTX)
    assert Fixed.from_raw(a).notional(Fixed.from_raw(b), mode).to_decimal() == expected


def test_notional_of_billion_shares_at_million_is_exact() -> None:
    price, quantity = Fixed("1000000.123456789"), Fixed("1000000000")
    assert price.notional(quantity).to_decimal() == Decimal("1000000123456789")


@given(
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**8), max_value=10**8), modes
)
def test_parse_with_rounding_matches_decimal_quantize(value: Decimal, mode: Rounding) -> None:
    expected = value.quantize(Q, rounding=mode.decimal_mode, context=CTX)
    assert Fixed(str(value), mode).to_decimal() == expected
    assert Fixed(value, mode).to_decimal() == expected
    assert Money(value, mode).to_decimal() == expected


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=12, min_value=-1000, max_value=1000)
)
def test_parse_without_rounding_raises_only_when_inexact(value: Decimal) -> None:
    if value == value.quantize(Q, context=CTX):
        assert Fixed(value).to_decimal() == value
    else:
        with pytest.raises(InexactValueError):
            Fixed(value)


@given(small_raws, small_raws, small_raws)
def test_money_sums_are_exact_and_associative(a: int, b: int, c: int) -> None:
    x, y, z = Money.from_raw(a), Money.from_raw(b), Money.from_raw(c)
    assert (x + y) + z == x + (y + z)
    assert ((x + y) - z).to_decimal() == dec(a) + dec(b) - dec(c)


@given(raws, st.integers(0, 9), modes)
def test_money_quantize_matches_decimal(raw: int, places: int, mode: Rounding) -> None:
    expected = dec(raw).quantize(
        Decimal(1).scaleb(-places), rounding=mode.decimal_mode, context=CTX
    )
    assert Money.from_raw(raw).quantize(places, mode).to_decimal() == expected


@given(st.integers(-(10**20), 10**20), raws.filter(lambda r: r > 0), modes)
def test_money_per_unit_matches_decimal(money_raw: int, qty_raw: int, mode: Rounding) -> None:
    expected = (
        CTX.divide(Decimal(money_raw) * 10**9, Decimal(qty_raw)).quantize(
            Decimal(1), rounding=mode.decimal_mode, context=CTX
        )
        * Q
    )
    if fits(expected):
        assert (
            Money.from_raw(money_raw).per_unit(Fixed.from_raw(qty_raw), mode).to_decimal()
            == expected
        )
    else:
        with pytest.raises(FixedPointOverflowError):
            Money.from_raw(money_raw).per_unit(Fixed.from_raw(qty_raw), mode)


@given(raws, raws)
def test_comparisons_agree_with_decimal(a: int, b: int) -> None:
    x, y = Fixed.from_raw(a), Fixed.from_raw(b)
    assert (x < y) == (a < b)
    assert (x <= y) == (a <= b)
    assert (x == y) == (a == b)
    assert (x != y) == (a != b)
    assert (x > y) == (a > b)
    assert (x >= y) == (a >= b)
    assert (hash(x) == hash(y)) or a != b


@pytest.mark.parametrize(
    "text", ["", "-", ".", "1.2.3", "abc", "1e", "NaN", "Infinity", "1_000", " 1", "0x10"]
)
def test_parse_garbage_raises_invalid_number(text: str) -> None:
    with pytest.raises(InvalidNumberError):
        Fixed(text)


@pytest.mark.parametrize("value", [1.5, True, None, [1]])
def test_non_exact_inputs_are_refused(value: object) -> None:
    with pytest.raises(InvalidNumberError):
        Fixed(value)


def test_exponent_notation_is_exact() -> None:
    assert Fixed("1.5e3") == Fixed("1500")
    assert Fixed("-2E-9").raw == -2


def test_overflow_on_parse_and_negation_is_raised() -> None:
    with pytest.raises(FixedPointOverflowError):
        Fixed("9223372037")
    with pytest.raises(FixedPointOverflowError):
        -Fixed.from_raw(INT64_MIN)
    with pytest.raises(FixedPointOverflowError):
        Money.from_raw(2**127)


def test_division_by_zero_raises() -> None:
    with pytest.raises(ZeroDivisionError):
        Fixed("1") / Fixed("0")
    with pytest.raises(ZeroDivisionError):
        Money("1").per_unit(Fixed("0"))


def test_unknown_rounding_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="rounding mode"):
        Fixed("1", 42)


def test_exact_mode_arithmetic_raises_when_rounding_needed() -> None:
    with pytest.raises(InexactValueError):
        Fixed("1").div(Fixed("3"), Rounding.EXACT)
    assert Fixed("1").div(Fixed("4"), Rounding.EXACT) == Fixed("0.25")
    assert Fixed("0.5").mul(Fixed("0.5"), Rounding.EXACT) == Fixed("0.25")
    with pytest.raises(InexactValueError):
        Fixed("0.000000001").notional(Fixed("0.1"), Rounding.EXACT)


def test_canonical_text_has_no_exponent_and_no_trailing_zeros() -> None:
    assert str(Fixed("101.2500")) == "101.25"
    assert str(Fixed("-0.000000001")) == "-0.000000001"
    assert str(Fixed("7")) == "7"
    assert repr(Money("1.10")) == "Money('1.1')"
    assert format_raw(-1_500_000_000) == "-1.5"


def test_helpers_convert_between_raw_decimal_and_float_statistics() -> None:
    assert to_raw("1.25") == 1_250_000_000
    assert raw_to_decimal(1) == Decimal("0.000000001")
    assert float_to_money(1234.5678, 2) == Money("1234.57")
    assert float_to_money(-0.125, 2, Rounding.HALF_EVEN) == Money("-0.12")
    with pytest.raises(InvalidNumberError):
        float_to_money(float("nan"))
    with pytest.raises(FixedPointOverflowError):
        to_raw(Money("1e12"))


def test_values_pickle_and_convert_between_types() -> None:
    import pickle

    assert pickle.loads(pickle.dumps(Fixed("1.5"))) == Fixed("1.5")
    assert pickle.loads(pickle.dumps(Money("1e20"))) == Money("1e20")
    assert Fixed("2.5").to_money() == Money("2.5")
    assert Money("2.5").to_fixed() == Fixed("2.5")
    assert abs(Fixed("-3")) == Fixed("3")
    assert abs(Money("-3")) == Money("3")
    assert -Money("3") == Money("-3")
    assert Money("2").mul(Fixed("0.5")) == Money("1")
    assert not Fixed("0")
    assert Fixed("0.5").as_float() == 0.5
    assert Money("0.5").as_float() == 0.5
