"""No input stalls the fixed-point parser: the worst inputs each take well under 1 ms.

Before issue 11.2's fix ``Fixed("1e10000000")`` (22 bytes) blocked for 13 s building
``10 ** 10_000_009``; over-long text and huge ints cost seconds in arithmetic or in formatting
the error message. Each case is timed (best of several, time.perf_counter) and must also fail
the right way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

import msgspec
import pytest

from nexus.money import (
    Fixed,
    FixedPointOverflowError,
    InexactValueError,
    InvalidNumberError,
    Money,
    Rounding,
)
from nexus.web.codec import decode_json

BOUND_S = 1e-3


class Body(msgspec.Struct):
    price: Fixed


MEGA_DIGITS = "9" * 1_000_000
MEGA_FRACTION = "0." + "1" * 1_000_000
DECIMAL_100K = Decimal("1" * 100_000)
TINY_DECIMAL = Decimal("1e-100000")
HUGE_INT = 1 << 300_000
LONG_JSON = b'{"price":"' + b"9" * 500_000 + b'"}'

WORST: list[tuple[str, Callable[[], object], type[BaseException] | None]] = [
    ("huge exponent", lambda: Fixed("1e10000000"), FixedPointOverflowError),
    ("huge exponent, Money", lambda: Money("9E999999999"), FixedPointOverflowError),
    ("tiny exponent", lambda: Fixed("1e-10000000"), InexactValueError),
    ("tiny exponent rounded", lambda: Fixed("1e-999999999", Rounding.UP), None),
    ("megabyte of digits", lambda: Fixed(MEGA_DIGITS), InvalidNumberError),
    ("megabyte of fraction", lambda: Fixed(MEGA_FRACTION), InvalidNumberError),
    ("Decimal of 100k digits", lambda: Fixed(DECIMAL_100K), FixedPointOverflowError),
    ("Decimal 1e-100000 rounded", lambda: Fixed(TINY_DECIMAL, Rounding.UP), None),
    ("int of 300k bits", lambda: Fixed(HUGE_INT), FixedPointOverflowError),
    ("raw of 300k bits", lambda: Fixed.from_raw(HUGE_INT), FixedPointOverflowError),
    ("NaN", lambda: Fixed("NaN"), InvalidNumberError),
    ("Decimal NaN", lambda: Fixed(Decimal("NaN")), InvalidNumberError),
    ("Decimal with 100k-digit exponent", lambda: Money(Decimal("1e-99999")), InexactValueError),
    (
        "JSON exponent",
        lambda: decode_json(b'{"price":"1e10000000"}', Body),
        msgspec.ValidationError,
    ),
    (
        "JSON long",
        lambda: decode_json(LONG_JSON, Body),
        msgspec.ValidationError,
    ),
]


@pytest.mark.parametrize(("name", "call", "error"), WORST, ids=[w[0] for w in WORST])
def test_worst_input_is_refused_in_under_a_millisecond(
    name: str, call: Callable[[], object], error: type[BaseException] | None
) -> None:
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        if error is None:
            call()
        else:
            with pytest.raises(error):
                call()
        best = min(best, time.perf_counter() - t0)
    assert best < BOUND_S, f"{name}: {best * 1e6:.0f} us"
