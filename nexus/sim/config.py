"""Parameters of the order-flow simulator: background flow and manipulation episodes.

Every tunable lives here with its unit. Prices are in ticks relative to the mid, sizes in lots,
times in milliseconds or seconds as named; the simulator converts to raw fixed point
(:mod:`nexus.money`) and to nanoseconds of simulated time.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

import msgspec
from msgspec import Meta

from nexus.errors import ConfigError
from nexus.instruments import SIM_UNIVERSE

Positive = Annotated[float, Meta(gt=0)]
Fraction = Annotated[float, Meta(ge=0, le=1)]
Count = Annotated[int, Meta(ge=0)]

#: One run is held in memory (~300 bytes per order): beyond this, use windows.
MAX_ORDERS_PER_RUN = 30_000_000

#: 2026-01-05 14:30:00 UTC (a Monday's US open), the default start of simulated time.
DEFAULT_START_NS = 1_767_623_400_000_000_000


class Range(msgspec.Struct, frozen=True, array_like=True):
    """A closed interval ``[low, high]`` drawn uniformly (integers when both ends are)."""

    low: float
    high: float


class EpisodeConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How many episodes of one type to inject and their shape.

    * ``size_multiple``: the manipulative orders' size as a multiple of the median lot count;
    * ``orders``: orders per episode (layers, ignition burst, wash pairs; 1 for spoofing);
    * ``cancel_after_ms``: delay from placement to cancel of the non-bona-fide orders;
    * ``gap_ms``: spacing between consecutive orders of an episode;
    * ``depth_multiple``: when set, the manipulative orders are sized against the displayed
      depth instead (a spoof or each layer: a multiple of its own level's quantity; each
      ignition order: of the far touch's quantity), as real manipulation is.
    """

    count: Count
    size_multiple: Range = Range(15, 40)
    orders: Range = Range(1, 1)
    cancel_after_ms: Range = Range(50, 800)
    gap_ms: Range = Range(1, 20)
    depth_multiple: Range | None = None


class LegitConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Legitimate behaviour that looks like manipulation to a naive detector (all off by
    default; on in :func:`nexus.sim.profiles.realistic_config`). Each actor is a dedicated
    user (owners of their own accounts) with no background activity.

    * ``market_makers``: two-sided normal-size quotes at the touch, re-quoted all day;
    * ``hft``: small orders near the touch cancelled within milliseconds, an order-to-trade
      ratio of roughly 50-110;
    * ``institutions``: a large resting order (``institution_depth_multiple`` of its level)
      cancelled after seconds or minutes, no activity on the other side;
    * ``sliced_parents``: a parent order worked as several aggressive IOC children in one
      direction;
    * ``news_jumps``: many background participants buying (or selling) aggressively at once,
      some taking profit afterwards;
    * ``related_accounts``: two users of one beneficial owner quoting the same symbol (one
      bids, one offers) without ever crossing each other.
    Counts of actors (market makers, hft) and of episodes (the rest) over the whole run.
    """

    market_makers: Count = 0
    hft: Count = 0
    institutions: Count = 0
    sliced_parents: Count = 0
    news_jumps: Count = 0
    related_accounts: Count = 0
    institution_depth_multiple: Range = Range(1.0, 3.0)
    institution_rest_s: Range = Range(2.0, 120.0)

    @property
    def actors(self) -> int:
        """Dedicated users the behaviours need."""
        return (
            self.market_makers
            + self.hft
            + self.institutions
            + self.sliced_parents
            + 2 * self.related_accounts
        )


class SimConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole simulation: market, population, background flow and episodes."""

    seed: int = 1
    symbols: Annotated[int, Meta(ge=1, le=SIM_UNIVERSE)] = 20
    users: Annotated[int, Meta(ge=2, le=1_000_000)] = 300
    seconds: Positive = 60.0
    start_ns: Annotated[int, Meta(ge=0)] = DEFAULT_START_NS
    id_prefix: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.:\-]{0,16}$")] = ""
    # market
    tick: str = "0.01"
    lot_size: Annotated[int, Meta(ge=1)] = 100
    start_price: Range = Range(20, 300)
    #: One reference price per symbol (decimal strings, e.g. market data's last closes): each
    #: symbol's fundamental starts there instead of a draw from ``start_price``.
    start_prices: list[str] | None = None
    mid_vol_ticks_per_sqrt_s: Annotated[float, Meta(ge=0)] = 0.5
    # background flow
    orders_per_second: Positive = 400.0
    rate_dispersion: Annotated[float, Meta(ge=0)] = 0.5
    marketable_fraction: Fraction = 0.03
    cancel_probability: Fraction = 0.95
    amend_fraction: Fraction = 0.10
    lifetime_ms: Positive = 1000.0
    passive_offset_p: Annotated[float, Meta(gt=0, le=1)] = 0.3
    size_tail_alpha: Positive = 1.6
    max_lots: Annotated[int, Meta(ge=1)] = 200
    accounts_per_user: Range = Range(1, 3)
    shared_owner_fraction: Fraction = 0.10
    # episodes
    spoofing: EpisodeConfig = EpisodeConfig(count=8)
    layering: EpisodeConfig = EpisodeConfig(count=6, orders=Range(3, 6))
    wash_trading: EpisodeConfig = EpisodeConfig(
        count=6, size_multiple=Range(2, 6), orders=Range(3, 8), gap_ms=Range(200, 2000)
    )
    momentum_ignition: EpisodeConfig = EpisodeConfig(
        count=5, size_multiple=Range(3, 8), orders=Range(6, 15), gap_ms=Range(2, 30)
    )
    # legitimate look-alikes (off unless set; see LegitConfig)
    legit: LegitConfig = LegitConfig()

    def validate(self) -> None:
        """Raise :class:`ConfigError` for combinations the types cannot express."""
        for name in ("start_price", "accounts_per_user"):
            r = getattr(self, name)
            if not 0 < r.low <= r.high:
                raise ConfigError(f"{name} must be a positive, ordered range")
        for kind in ("spoofing", "layering", "wash_trading", "momentum_ignition"):
            ep: EpisodeConfig = getattr(self, kind)
            for name in ("size_multiple", "orders", "cancel_after_ms", "gap_ms"):
                r = getattr(ep, name)
                if not 0 <= r.low <= r.high:
                    raise ConfigError(f"{kind}.{name} must be a non-negative, ordered range")
            if ep.orders.low < 1 or ep.size_multiple.low <= 0:
                raise ConfigError(f"{kind}: orders >= 1 and size_multiple > 0")
        if self.start_prices is not None:
            if len(self.start_prices) != self.symbols:
                raise ConfigError("start_prices must have one price per symbol")
            if any(not _positive_decimal(p) for p in self.start_prices):
                raise ConfigError("start_prices must be positive decimal strings")
        expected = self.orders_per_second * self.seconds * self.symbols
        if expected > MAX_ORDERS_PER_RUN:
            raise ConfigError(
                f"~{expected:,.0f} orders in one run exceeds {MAX_ORDERS_PER_RUN:,} (memory): "
                "simulate shorter windows (nexus.sim.live.run_continuous)"
            )
        if self.accounts_per_user.high < 2 and self.wash_trading.count:
            raise ConfigError("wash trading needs owners with at least two accounts")


def _positive_decimal(text: str) -> bool:
    try:
        return Decimal(text).is_finite() and Decimal(text) > 0
    except InvalidOperation:
        return False
