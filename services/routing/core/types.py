"""Value types of the routing core: orders sent to venues, what venues answer, decisions, reports.

Conventions (as everywhere in NexusTrade, see :mod:`nexus.money`):

* prices, quantities and per-share fees are raw fixed-point ``int`` (``value * 10**9``);
* money amounts (notional, fees of a fill) are raw ``int`` at the same scale, unbounded (Python
  ints), so ``price * quantity // SCALE`` is exact for whole and fractional shares alike;
* a fee is positive when paid and negative when it is a rebate received;
* timestamps are event-time integer nanoseconds since the Unix epoch (UTC);
* a limit price of ``0`` means a market order (the router bounds it by the visible book).

All types are frozen ``msgspec.Struct``s so adapters can encode them as they are.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from msgspec import Struct

Side = Literal["BUY", "SELL"]
VenueKind = Literal["EXTERNAL", "INTERNAL"]


class Strategy(StrEnum):
    """How a parent order is routed (docs/routing.md gives each scoring formula)."""

    BEST_PRICE = "BEST_PRICE"
    FASTEST = "FASTEST"
    LOWEST_COST = "LOWEST_COST"
    SMART = "SMART"
    INTERNALIZE_FIRST = "INTERNALIZE_FIRST"
    EXTERNAL_ONLY = "EXTERNAL_ONLY"


class VenueProfile(Struct, frozen=True, kw_only=True):
    """What the router knows about a venue before any statistics.

    ``taker_fee`` is charged per share for removing liquidity (raw; negative on an inverted,
    taker-maker venue that pays takers); ``maker_rebate`` is paid per share for adding it
    (raw; negative when the venue charges makers). ``protected`` says the venue's top of book
    is a protected quotation (automated and displayed) for Rule 611.
    """

    venue_id: str
    kind: VenueKind = "EXTERNAL"
    protected: bool = True
    taker_fee: int = 0
    maker_rebate: int = 0
    expected_latency_ns: int = 1_000_000
    supports_iso: bool = True


class ChildOrder(Struct, frozen=True, kw_only=True):
    """One order the router sends to one venue for part of a parent.

    Children are marketable limit orders, IOC unless ``time_in_force`` says DAY (a residual left
    to rest). ``iso`` marks an intermarket sweep order (FIX ExecInst 'f').
    """

    child_id: str
    parent_id: str
    user_id: str
    venue_id: str
    symbol: str
    side: Side
    quantity: int
    limit_price: int
    iso: bool = False
    time_in_force: Literal["IOC", "DAY"] = "IOC"


class Fill(Struct, frozen=True, kw_only=True):
    """One execution of a child at a venue; ``fill_id`` is the venue's unique execution id."""

    fill_id: str
    child_id: str
    venue_id: str
    price: int
    quantity: int
    fee: int = 0
    liquidity: Literal["TAKER", "MAKER"] = "TAKER"
    ts_event: int = 0


class ChildStatus(StrEnum):
    """Final (or current) state of a child at its venue."""

    FILLED = "FILLED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"  # some filled, the remainder no longer working
    CANCELED = "CANCELED"  # nothing filled, nothing working (IOC found no liquidity, or cancelled)
    REJECTED = "REJECTED"
    WORKING = "WORKING"  # a DAY residual resting at the venue
    UNKNOWN = "UNKNOWN"  # the venue could not confirm the child's fate (session lost)


class ChildReport(Struct, frozen=True, kw_only=True):
    """What a venue answers about one child: its status and *all* its fills so far.

    ``fills`` is cumulative (every fill of the child, not only new ones), so a cancel that
    races a fill reports the fill and the router counts it exactly once (by ``fill_id``).
    ``leaves_quantity`` is what is still working at the venue (0 for a finished IOC).
    """

    child_id: str
    venue_id: str
    status: ChildStatus
    fills: tuple[Fill, ...] = ()
    leaves_quantity: int = 0
    reason: str = ""
    ts_event: int = 0

    @property
    def filled_quantity(self) -> int:
        """Sum of the fills' quantities (raw)."""
        return sum(f.quantity for f in self.fills)


class RouteChild(Struct, frozen=True, kw_only=True):
    """A planned child: venue, quantity and limit price, and why it is there.

    ``kind`` is ``SWEEP`` (liquidity the strategy chose), ``ISO`` (a better protected quote
    taken in full because Rule 611 requires it when trading at a worse price) or ``RESIDUAL``
    (quantity beyond the visible liquidity, sent to the best-ranked venue at the limit).
    """

    venue_id: str
    quantity: int
    limit_price: int
    kind: Literal["SWEEP", "ISO", "RESIDUAL"] = "SWEEP"
    iso: bool = False
    expected_notional: int = 0
    expected_fee: int = 0


class VenueScore(Struct, frozen=True, kw_only=True):
    """One venue as the strategy saw it: its per-share score and the parts of it (raw units)."""

    venue_id: str
    rank: int
    score: float
    price: int
    available: int
    fee: int
    slippage: int
    latency_ns: int
    fill_rate: float
    chosen: bool
    reason: str


class ProtectionException(Struct, frozen=True, kw_only=True):
    """An order-protection exception applied to one quote (Rule 611(b) and (c))."""

    kind: Literal["ISO", "CROSSED_MARKET", "FLICKERING_QUOTE", "SELF_HELP"]
    venue_id: str
    price: int
    quantity: int
    detail: str


class NbboSnapshot(Struct, frozen=True, kw_only=True):
    """The consolidated protected best bid and offer at one instant (0 = that side is empty)."""

    symbol: str
    bid_price: int = 0
    bid_size: int = 0
    bid_venues: tuple[str, ...] = ()
    ask_price: int = 0
    ask_size: int = 0
    ask_venues: tuple[str, ...] = ()
    state: Literal["NORMAL", "LOCKED", "CROSSED", "ONE_SIDED", "EMPTY"] = "EMPTY"
    ts_event: int = 0


class RoutingDecision(Struct, frozen=True, kw_only=True):
    """Where a parent (or its remainder) goes, why, and under which rules.

    ``rationale`` says it in words; ``metrics`` in numbers (objective value, expected average
    price, fees, size relative to displayed liquidity, urgency...); ``alternatives`` lists
    every venue considered with its score; ``rule_set`` and ``rule_set_effective`` name the
    regulatory parameters applied (:mod:`nexus.regulation`), ``protection`` the order-protection
    policy and ``protection_exceptions`` the exceptions it used.
    """

    decision_id: str
    order_id: str
    user_id: str
    symbol: str
    side: Side
    quantity: int
    limit_price: int
    strategy: Strategy
    children: tuple[RouteChild, ...]
    rationale: str
    metrics: dict[str, float]
    alternatives: tuple[VenueScore, ...]
    rule_set: str
    rule_set_effective: str
    protection: str
    protection_exceptions: tuple[ProtectionException, ...]
    nbbo: NbboSnapshot
    ts_event: int
    round: int = 0

    @property
    def routed_quantity(self) -> int:
        """Sum of the children's quantities (equals ``quantity``)."""
        return sum(c.quantity for c in self.children)


class ChildExecution(Struct, frozen=True, kw_only=True):
    """A child as sent and as it ended: the order, the venue's final report, timings."""

    order: ChildOrder
    report: ChildReport
    round: int
    sent_ns: int
    done_ns: int
    timed_out: bool = False
    nbbo_at_execution: NbboSnapshot | None = None

    @property
    def latency_ns(self) -> int:
        """Time from sending to the final report (clock of the router)."""
        return self.done_ns - self.sent_ns


class ExecutionQuality(Struct, frozen=True, kw_only=True):
    """Quality of one parent's execution against the NBBO at the first decision.

    ``price_improvement`` is raw money, positive when the fills beat the NBBO (bought below
    the offer, sold above the bid); ``effective_spread`` is the Rule 605 measure,
    2 x |average price - midpoint| (raw per share); ``trade_throughs`` counts fills at a price
    worse than a protected quote displayed at the time, without an exception.
    """

    price_improvement: int = 0
    price_improvement_per_share: int = 0
    effective_spread: int = 0
    fill_rate: float = 0.0
    children_sent: int = 0
    children_rejected: int = 0
    children_timed_out: int = 0
    rounds: int = 0
    trade_throughs: int = 0


class ExecutionReport(Struct, frozen=True, kw_only=True):
    """The outcome of ``route_and_execute`` for one parent order.

    Quantities are exact: ``filled_quantity + leaves_quantity + in_doubt_quantity == quantity``.
    ``in_doubt_quantity`` is what a venue could not confirm (session lost): it is never routed
    again, so the parent cannot over-fill. ``average_price`` is the notional over the filled
    quantity, rounded half-even to the raw unit; ``fees`` is the net of all fills (negative =
    net rebate).
    """

    order_id: str
    user_id: str
    symbol: str
    side: Side
    quantity: int
    limit_price: int
    strategy: Strategy
    status: Literal["FILLED", "PARTIALLY_FILLED", "UNFILLED"]
    filled_quantity: int
    leaves_quantity: int
    in_doubt_quantity: int
    average_price: int
    notional: int
    fees: int
    fills: tuple[Fill, ...]
    children: tuple[ChildExecution, ...]
    decisions: tuple[RoutingDecision, ...]
    quality: ExecutionQuality
    ts_start: int
    ts_end: int


class VenueStats(Struct, frozen=True, kw_only=True):
    """A venue's statistics learned from execution reports, exponentially decayed in event time.

    ``fill_rate`` is filled over sent quantity; ``reject_rate`` the share of children rejected;
    ``latency_p50_ns``/``latency_p99_ns`` quantiles of child latency; ``price_improvement`` the
    mean improvement per share against the NBBO at decision (raw, positive = better);
    ``effective_spread`` the mean Rule 605 effective spread per share (raw). ``weight`` is the
    decayed number of observations behind the figures (0 = priors only).
    """

    venue_id: str
    fill_rate: float
    reject_rate: float
    latency_p50_ns: int
    latency_p99_ns: int
    price_improvement: float
    effective_spread: float
    weight: float
    observations: int
    updated_ns: int
