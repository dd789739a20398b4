"""US equity market-structure parameters as data with effective dates (Reg NMS Rules 610, 612).

Routing and matching read the rule set in force on an order's date instead of constants, so a
rule change is a new row and a replay of an old day applies that day's rules. Prices are raw
fixed-point ints (``value * 10**9``, :mod:`nexus.money`); quantities raw shares.

Rows (SEC Release 34-101070, September 2024, amending Rules 610 and 612 and the round lot
definition; its compliance date is data too, ``AMENDMENT_2024_EFFECTIVE``, so a postponement
is an edit of one date):

* Rule 610(c) access-fee cap for protected quotations: $0.003 per share at or above $1 and 0.3%
  of the quotation price below $1 before the amendment; $0.001 per share and 0.1% after.
* Rule 612 minimum price increment: $0.01 at or above $1 and $0.0001 below $1; after the
  amendment a half-penny ($0.005) tier for NMS stocks whose time-weighted average quoted spread
  was $0.015 or less in the evaluation period (which symbols are in it is data too).
* Round lot: 100 shares for every price before; after, by price tier: 100 shares up to
  $250.00, 40 up to $1,000.00, 10 up to $10,000.00, 1 share above.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass, field

from nexus.money import SCALE

#: Raw value of one dollar.
DOLLAR = SCALE
#: The compliance date of the 2024 amendments (Rule 610 cap, Rule 612 tiers, round lots).
AMENDMENT_2024_EFFECTIVE = dt.date(2025, 11, 3)


@dataclass(frozen=True, slots=True)
class PriceTier:
    """A value that applies to prices up to ``max_price`` inclusive (raw; None = no bound)."""

    max_price: int | None
    value: int


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The Reg NMS parameters in force from ``effective`` until the next rule set.

    ``fee_cap_per_share`` is the Rule 610 cap at or above $1 (raw per share);
    ``fee_cap_sub_dollar_bps`` the cap below $1 in basis points of the quotation price;
    ``tick_*`` Rule 612 increments (raw); ``half_penny_symbols`` the symbols in the half-penny
    tier (only meaningful when ``tick_half_penny`` is not None); ``round_lots`` share counts
    by price tier (raw shares).
    """

    name: str
    effective: dt.date
    fee_cap_per_share: int
    fee_cap_sub_dollar_bps: int
    tick_at_or_above_dollar: int
    tick_below_dollar: int
    tick_half_penny: int | None
    round_lots: tuple[PriceTier, ...]
    half_penny_symbols: frozenset[str] = field(default_factory=frozenset)

    def access_fee_cap(self, price: int) -> int:
        """The most a venue may charge per share to take a protected quote at ``price`` (raw)."""
        if price >= DOLLAR:
            return self.fee_cap_per_share
        return price * self.fee_cap_sub_dollar_bps // 10_000

    def capped_fee(self, fee: int, price: int) -> int:
        """A venue's per-share take fee as Rule 610 lets it be charged (rebates unchanged)."""
        return min(fee, self.access_fee_cap(price))

    def tick_size(self, symbol: str, price: int) -> int:
        """The minimum quoting increment for ``symbol`` at ``price`` (raw)."""
        if price < DOLLAR:
            return self.tick_below_dollar
        if self.tick_half_penny is not None and symbol in self.half_penny_symbols:
            return self.tick_half_penny
        return self.tick_at_or_above_dollar

    def is_on_tick(self, symbol: str, price: int) -> bool:
        """Whether ``price`` is a multiple of its tick."""
        return price % self.tick_size(symbol, price) == 0

    def round_lot(self, price: int) -> int:
        """Shares in a round lot at ``price`` (raw shares)."""
        for tier in self.round_lots:
            if tier.max_price is None or price <= tier.max_price:
                return tier.value
        return self.round_lots[-1].value  # pragma: no cover - the last tier is unbounded

    def with_half_penny_symbols(self, symbols: frozenset[str]) -> RuleSet:
        """The same rule set with ``symbols`` assigned to the half-penny tier."""
        return RuleSet(
            name=self.name,
            effective=self.effective,
            fee_cap_per_share=self.fee_cap_per_share,
            fee_cap_sub_dollar_bps=self.fee_cap_sub_dollar_bps,
            tick_at_or_above_dollar=self.tick_at_or_above_dollar,
            tick_below_dollar=self.tick_below_dollar,
            tick_half_penny=self.tick_half_penny,
            round_lots=self.round_lots,
            half_penny_symbols=symbols,
        )


_SHARE = SCALE
_CENT = DOLLAR // 100

REG_NMS_2005 = RuleSet(
    name="REG_NMS_2005",
    effective=dt.date(2007, 3, 5),
    fee_cap_per_share=3 * DOLLAR // 1000,
    fee_cap_sub_dollar_bps=30,
    tick_at_or_above_dollar=_CENT,
    tick_below_dollar=DOLLAR // 10_000,
    tick_half_penny=None,
    round_lots=(PriceTier(None, 100 * _SHARE),),
)

REG_NMS_2024 = RuleSet(
    name="REG_NMS_2024_AMENDMENT",
    effective=AMENDMENT_2024_EFFECTIVE,
    fee_cap_per_share=DOLLAR // 1000,
    fee_cap_sub_dollar_bps=10,
    tick_at_or_above_dollar=_CENT,
    tick_below_dollar=DOLLAR // 10_000,
    tick_half_penny=_CENT // 2,
    round_lots=(
        PriceTier(250 * DOLLAR, 100 * _SHARE),
        PriceTier(1_000 * DOLLAR, 40 * _SHARE),
        PriceTier(10_000 * DOLLAR, 10 * _SHARE),
        PriceTier(None, 1 * _SHARE),
    ),
)


class RuleBook:
    """Rule sets ordered by effective date; answers which one applies on a date."""

    def __init__(self, rule_sets: tuple[RuleSet, ...] = (REG_NMS_2005, REG_NMS_2024)) -> None:
        if not rule_sets:
            raise ValueError("a rule book needs at least one rule set")
        self._sets = tuple(sorted(rule_sets, key=lambda r: r.effective))
        self._dates = [r.effective for r in self._sets]

    @property
    def rule_sets(self) -> tuple[RuleSet, ...]:
        """Every rule set, oldest first."""
        return self._sets

    def on(self, day: dt.date) -> RuleSet:
        """The rule set in force on ``day`` (the oldest one for days before all of them)."""
        i = bisect_right(self._dates, day) - 1
        return self._sets[max(i, 0)]

    def at(self, ts_ns: int) -> RuleSet:
        """The rule set in force at event time ``ts_ns`` (UTC nanoseconds; the UTC date decides)."""
        day = dt.datetime.fromtimestamp(ts_ns // 10**9, tz=dt.UTC).date()
        return self.on(day)


def date_ns(day: dt.date) -> int:
    """UTC midnight of ``day`` in nanoseconds since the epoch."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * 10**9


__all__ = [
    "AMENDMENT_2024_EFFECTIVE",
    "DOLLAR",
    "REG_NMS_2005",
    "REG_NMS_2024",
    "PriceTier",
    "RuleBook",
    "RuleSet",
    "date_ns",
]
