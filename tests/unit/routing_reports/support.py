"""Hand-made order sets for the report tests (prices as decimal strings, raw inside)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

S = 10**9
MS = 1_000_000
SEC = 1_000 * MS


def raw(value: str | int) -> int:
    """Raw fixed point of a decimal string."""
    return int(Decimal(str(value)) * S)


def ts(year: int, month: int, day: int, hour: int = 15) -> int:
    """UTC nanoseconds of a date at ``hour``."""
    return int(dt.datetime(year, month, day, hour, tzinfo=dt.UTC).timestamp()) * SEC
