"""Value types of surveillance: alerts, trading profiles and the detectors' thresholds.

Units: prices and quantities are raw fixed-point integers inside (``value * 10**9``,
:mod:`nexus.money`) and decimal strings in an alert's ``evidence``; times are UTC nanoseconds of
*event* time. Scores are 0-100 and map to a severity through :func:`severity_for_score`:

=========  ============
score      severity
=========  ============
[0, 40)    LOW
[40, 60)   MEDIUM
[60, 80)   HIGH
[80, 100]  CRITICAL (the service asks risk to halt the user)
=========  ============

Thresholds are one frozen ``msgspec.Struct`` per detector with ``Meta`` constraints: decoding
*is* validation (:func:`validate_thresholds`), and every change bumps ``version``. Every alert
records the thresholds (and their version) it was judged against.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta, Struct

from nexus.errors import ValidationError, split_error_path

AlertType = Literal["SPOOFING", "LAYERING", "WASH_TRADING", "MOMENTUM_IGNITION"]
Severity = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
ALERT_TYPES: Final[tuple[AlertType, ...]] = (
    "SPOOFING",
    "LAYERING",
    "WASH_TRADING",
    "MOMENTUM_IGNITION",
)
ALERT_FORMAT_VERSION: Final = 1

#: Lower bounds of each severity band on the 0-100 score (see the module docstring).
SEVERITY_BANDS: Final[tuple[tuple[float, Severity], ...]] = (
    (80.0, "CRITICAL"),
    (60.0, "HIGH"),
    (40.0, "MEDIUM"),
    (0.0, "LOW"),
)


class ThresholdError(ValidationError):
    """Thresholds that fail validation (unknown detector, bad field, out-of-range value)."""


def severity_for_score(score: float) -> Severity:
    """The severity band of a 0-100 score (clamped)."""
    s = min(100.0, max(0.0, score))
    for low, name in SEVERITY_BANDS:
        if s >= low:
            return name
    return "LOW"  # pragma: no cover - the last band starts at 0


def alert_id_for(alert_type: str, symbol: str, owner_id: str, anchor: str) -> str:
    """Deterministic alert id: the same episode (type, symbol, owner, first order or trade id)
    always gets the same id, whatever process or run detects it."""
    digest = hashlib.sha256(f"{alert_type}|{symbol}|{owner_id}|{anchor}".encode()).hexdigest()
    return f"SV-{alert_type[:2]}-{digest[:24]}"


class SurveillanceAlert(Struct, frozen=True, kw_only=True):
    """One suspected manipulation episode, at one version.

    The same episode keeps its ``alert_id``; as fills and cancels arrive it is re-issued with a
    higher ``version`` (1, 2, ...), never duplicated. ``score`` is 0-100 and ``severity`` its
    band. ``start_ns``/``end_ns`` bound the episode in event time. ``evidence`` holds the
    measured quantities (sizes and prices as decimal strings), ``thresholds`` the effective
    threshold values judged against (with their ``version``), ``explanation`` plain language
    for a compliance officer. ``detected_ns`` is the event time of the event that produced this
    version.
    """

    alert_id: str
    version: Annotated[int, Meta(ge=1)] = 1
    type: AlertType
    severity: Severity
    score: Annotated[float, Meta(ge=0.0, le=100.0)]
    user_id: str
    account_ids: list[str]
    owner_id: str
    symbol: str
    start_ns: int
    end_ns: int
    order_ids: list[str] = []
    trade_ids: list[str] = []
    user_ids: list[str] = []
    evidence: dict[str, Any] = {}
    thresholds: dict[str, Any] = {}
    explanation: str = ""
    detected_ns: int = 0
    format_version: int = ALERT_FORMAT_VERSION


class TradingProfile(Struct, frozen=True, kw_only=True):
    """Behaviour of one user (``symbol`` None: across symbols) over a lookback.

    Ratios are plain floats; ``order_to_trade`` is orders per execution (inf with none);
    ``median_lifetime_ms`` is the median time from placement to cancel or final fill;
    ``size_*`` are in quantity units (decimal shares, as floats); ``aggressiveness`` is the
    fraction of orders that took liquidity; ``participation`` the user's share of the traded
    volume of the symbols they traded. ``anomaly_self`` is a robust z-score of the latest day's
    cancel ratio and order-to-trade against the user's own earlier days; ``anomaly_peers``
    against all users in the same window (0 when there is too little history).
    """

    user_id: str
    symbol: str | None = None
    lookback_days: int
    orders: int
    cancels: int
    executions: int
    traded_quantity: float
    order_to_trade: float
    cancel_ratio: float
    median_lifetime_ms: float
    size_median: float
    size_p90: float
    size_max: float
    aggressiveness: float
    participation: float
    anomaly_self: float
    anomaly_peers: float
    days: int


# -- thresholds ----------------------------------------------------------------------------------
Ratio = Annotated[float, Meta(gt=0.0, le=1e6)]
Fraction = Annotated[float, Meta(ge=0.0, le=1.0)]
Millis = Annotated[float, Meta(gt=0.0, le=86_400_000.0)]
Ticks = Annotated[int, Meta(ge=0, le=10_000)]
Score = Annotated[float, Meta(ge=0.0, le=100.0)]
Version = Annotated[int, Meta(ge=1)]


class SpoofingThresholds(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A single large order near the touch, cancelled quickly with little fill, while the
    same user or beneficial owner executes on the opposite side.

    *Large* is relative: against the user's own median order size (once the user has
    ``min_user_history`` orders; the symbol's median otherwise), against the symbol's median
    order size, and against the displayed depth already at its price level.
    """

    version: Version = 1
    min_size_vs_user_median: Ratio = 4.0
    min_size_vs_symbol_median: Ratio = 5.0
    min_size_vs_level_depth: Ratio = 0.1
    min_user_history: Annotated[int, Meta(ge=1, le=1_000_000)] = 20
    max_distance_ticks: Ticks = 3
    max_lifetime_ms: Millis = 30_000.0
    max_fill_ratio: Fraction = 0.25
    max_opposite_open_ratio: Annotated[float, Meta(ge=0.0, le=1e6)] = 0.5
    opposite_window_ms: Millis = 2_000.0
    min_score: Score = 50.0


class LayeringThresholds(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Several orders by one user on one side at successive price levels (each within
    ``max_level_gap_ticks`` of the next; distances in "ticks" are in the symbol's price unit:
    the tick, or the typical spacing of its displayed levels where that is coarser), placed within ``max_placement_span_ms``, together
    large against the user's and the symbol's median size and the displayed depth of that side,
    an execution on the opposite side by the same owner, then the layers cancelled."""

    version: Version = 1
    min_layers: Annotated[int, Meta(ge=2, le=100)] = 2
    max_level_gap_ticks: Annotated[int, Meta(ge=1, le=1000)] = 2
    max_distance_ticks: Ticks = 10
    max_placement_span_ms: Millis = 1_000.0
    min_total_vs_user_median: Ratio = 4.0
    min_total_vs_symbol_median: Ratio = 5.0
    min_layer_vs_symbol_median: Ratio = 2.0
    min_total_vs_side_depth: Ratio = 0.02
    min_user_history: Annotated[int, Meta(ge=1, le=1_000_000)] = 20
    max_lifetime_ms: Millis = 600_000.0
    max_fill_ratio: Fraction = 0.25
    max_opposite_open_ratio: Annotated[float, Meta(ge=0.0, le=1e6)] = 0.5
    min_cancelled_fraction: Fraction = 0.75
    opposite_window_ms: Millis = 2_000.0
    min_score: Score = 50.0


class WashTradingThresholds(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Trades whose buyer and seller are one account, one user or accounts of one beneficial
    owner; consecutive such trades of one owner and symbol within ``max_gap_ms`` are one
    episode, alerted once it holds ``min_trades`` trades."""

    version: Version = 1
    min_trades: Annotated[int, Meta(ge=1, le=10_000)] = 2
    max_gap_ms: Millis = 120_000.0
    same_account: bool = True
    same_user: bool = True
    same_owner: bool = True
    min_score: Score = 50.0


class MomentumIgnitionThresholds(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A burst of ``min_aggressive_orders`` aggressive orders (market, IOC, marketable limit)
    by one user, consecutive ones within ``max_gap_ms``, that moves the price by
    ``min_move_sigmas`` of the symbol's own volatility over the burst's horizon (and at least
    ``min_move_ticks``) while the user is ``min_burst_share`` of the aggressive volume, followed
    within ``reversal_window_ms`` by the user trading (or quoting to trade) the other way with
    at least ``min_reversal_ratio`` of the burst's quantity."""

    version: Version = 1
    min_aggressive_orders: Annotated[int, Meta(ge=2, le=10_000)] = 3
    max_gap_ms: Millis = 2_000.0
    max_burst_ms: Millis = 30_000.0
    min_move_sigmas: Ratio = 3.0
    min_move_ticks: Ticks = 1
    vol_horizon_ms: Millis = 1_000.0
    min_burst_share: Fraction = 0.5
    reversal_window_ms: Millis = 300_000.0
    min_reversal_ratio: Fraction = 0.2
    min_score: Score = 50.0


AnyThresholds = (
    SpoofingThresholds | LayeringThresholds | WashTradingThresholds | MomentumIgnitionThresholds
)

THRESHOLD_TYPES: Final[dict[str, type[Any]]] = {
    "SPOOFING": SpoofingThresholds,
    "LAYERING": LayeringThresholds,
    "WASH_TRADING": WashTradingThresholds,
    "MOMENTUM_IGNITION": MomentumIgnitionThresholds,
}


def default_thresholds() -> dict[str, Any]:
    """A fresh default threshold set per detector type."""
    return {name: cls() for name, cls in THRESHOLD_TYPES.items()}


def validate_thresholds(detector_type: str, value: Any, current: Any | None = None) -> Any:
    """Validate ``value`` (a threshold Struct or a mapping of fields) for ``detector_type``.

    A mapping may be partial: missing fields keep ``current``'s values (or the defaults). The
    result's ``version`` is ``current.version + 1`` (so every change is versioned). Raises
    :class:`ThresholdError` naming the bad field.
    """
    cls = THRESHOLD_TYPES.get(detector_type)
    if cls is None:
        raise ThresholdError(f"unknown detector type {detector_type!r}", field="detector_type")
    base = current if current is not None else cls()
    if isinstance(value, Struct):
        if not isinstance(value, cls):
            raise ThresholdError(
                f"{type(value).__name__} are not {detector_type} thresholds", field="thresholds"
            )
        fields = msgspec.structs.asdict(value)
    elif isinstance(value, dict):
        fields = {**msgspec.structs.asdict(base), **value}
    else:
        raise ThresholdError("thresholds must be a mapping or a thresholds struct")
    fields["version"] = base.version + 1 if current is not None else fields.get("version", 1)
    try:
        return msgspec.convert(fields, type=cls)
    except msgspec.ValidationError as exc:
        message = str(exc)
        field = split_error_path(message)[1]
        raise ThresholdError(message, field=field) from exc


def thresholds_evidence(thresholds: Any) -> dict[str, Any]:
    """The threshold values as a plain dict (recorded in every alert)."""
    out: dict[str, Any] = msgspec.structs.asdict(thresholds)
    return out
