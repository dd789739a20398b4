"""Price and Quantity: distinct to the type checker, plain Fixed at run time."""

from __future__ import annotations

from pathlib import Path

from mypy import api as mypy_api

from nexus.money import Fixed, Price, Quantity

ROOT = Path(__file__).resolve().parents[3]

SNIPPET = """
from nexus.money import Fixed, Price, Quantity

def quote(price: Price, quantity: Quantity) -> Fixed:
    return price * quantity

p = Price("101.25")
q = Quantity("10")
quote(p, q)
quote(q, p)
quote(Fixed("1"), q)
"""


def test_at_run_time_both_are_fixed_itself() -> None:
    assert Price is Fixed and Quantity is Fixed
    price = Price("101.25")
    assert type(price) is Fixed and price == Fixed("101.25")
    assert Quantity.from_raw(7).raw == 7


def test_a_quantity_or_a_bare_fixed_where_a_price_is_expected_fails_type_checking(
    tmp_path: Path,
) -> None:
    stdout, _, status = mypy_api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "mypy_cache"),
            "--no-error-summary",
            "--hide-error-context",
            "-c",
            SNIPPET,
        ]
    )
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    assert status == 1
    # the correct call (line 9) passes; the swapped one fails on both arguments; a bare Fixed too
    assert [line.split(":")[1] for line in errors] == ["10", "10", "11"], stdout
    assert '"Quantity"; expected "Price"' in errors[0]
    assert '"Price"; expected "Quantity"' in errors[1]
    assert '"Fixed"; expected "Price"' in errors[2]


def test_fixed_point_errors_are_nexus_errors_and_stay_arithmetic_errors() -> None:
    from nexus._ext.fixed import (
        FixedPointError,
        FixedPointOverflowError,
        InexactValueError,
        InvalidNumberError,
    )
    from nexus.errors import NexusError

    for error in (FixedPointError, FixedPointOverflowError, InexactValueError, InvalidNumberError):
        assert issubclass(error, NexusError) and issubclass(error, ArithmeticError)
