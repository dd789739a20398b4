"""Wash trading: trades whose two sides belong to one account, one user or one beneficial owner.

Consecutive linked trades of one owner in one symbol, each within ``max_gap_ms`` of the last,
are one episode (one alert listing every trade). The evidence is how unlikely that many
self-crossings are by chance given the owner's own share of the symbol's buying and selling:
two independent strategies of one owner that each trade a fraction ``b`` and ``s`` of the
volume meet each other in about ``b * s`` of the trades, so a busy owner's occasional internal
cross is expected and a quiet owner's run of them is not. Round trips (the position passed back
and forth between the accounts) and matches that consumed both orders entirely (they traded
with each other and nobody else) strengthen the case.
"""

from __future__ import annotations

from typing import Any, Final

from services.surveillance.core.book import OrderState
from services.surveillance.core.detectors.base import Finding, PatternDetector, register_detector
from services.surveillance.core.normalise import Ev
from services.surveillance.core.state import SymbolState
from services.surveillance.core.stats import (
    DecayedRates,
    equal_fraction,
    evidence_score,
    fisher_combined,
    poisson_sf,
    tail_fraction,
)
from services.surveillance.core.types import WashTradingThresholds

MS: Final = 1_000_000
SCALE: Final = 1e9
#: Time constant of the per-owner volume shares.
SHARE_TAU_S: Final = 300.0
#: The smallest crowd an owner's share is floored against.
MIN_CROWD: Final = 50


class WashEpisode:
    """One owner's run of linked trades in one symbol."""

    __slots__ = (
        "accounts",
        "aggressors",
        "anchor",
        "directions",
        "exclusive",
        "first_ts",
        "kinds",
        "last_ts",
        "notional",
        "order_ids",
        "owner",
        "prices",
        "quantity",
        "share_product",
        "size_tails",
        "symbol_trades_at_start",
        "trade_ids",
        "users",
    )

    def __init__(self, owner: str, anchor: str, ts: int, symbol_trades: int) -> None:
        self.owner = owner
        self.anchor = anchor
        self.first_ts = ts
        self.last_ts = ts
        self.trade_ids: list[str] = []
        self.order_ids: list[str] = []
        self.aggressors: list[str] = []
        self.size_tails: list[float] = []
        self.accounts: set[str] = set()
        self.users: set[str] = set()
        self.directions: set[tuple[str, str]] = set()
        self.kinds: set[str] = set()
        self.exclusive = 0
        self.quantity = 0
        self.notional = 0
        self.prices: list[int] = []
        self.share_product = 0.0
        self.symbol_trades_at_start = symbol_trades


class WashState:
    """Per-symbol wash state: open episodes per owner and decayed buy/sell volumes."""

    __slots__ = ("buy", "episodes", "sell", "trade_rate", "trades")

    def __init__(self) -> None:
        self.episodes: dict[str, WashEpisode] = {}
        self.buy = DecayedRates(SHARE_TAU_S)
        self.sell = DecayedRates(SHARE_TAU_S)
        self.trades = 0
        self.trade_rate = DecayedRates(SHARE_TAU_S)


@register_detector
class WashTradingDetector(PatternDetector):
    """Self-crossing trades of one account, user or beneficial owner."""

    alert_type = "WASH_TRADING"
    thresholds_type = WashTradingThresholds

    def _ws(self, sym: SymbolState) -> WashState:
        st: WashState = self.state(sym, WashState)
        return st

    def handle_trade(
        self, ev: Ev, sym: SymbolState, buy: OrderState | None, sell: OrderState | None
    ) -> None:
        t: WashTradingThresholds = self.thresholds
        st = self._ws(sym)
        st.trades += 1
        st.trade_rate.add("*", ev.ts)
        buy_owner = self.ctx.owner_of(ev.buy_account, ev.buy_user)
        sell_owner = self.ctx.owner_of(ev.sell_account, ev.sell_user)
        # Shares are read before this trade is counted, so the episode does not explain itself.
        b_share = self._share(st.buy, buy_owner, ev.ts)
        s_share = self._share(st.sell, sell_owner, ev.ts)
        if buy_owner != sell_owner or not buy_owner:
            # Only trades with someone else show the owner's independent buying and selling;
            # counting its self-crossings would let a busy wash trader explain itself away.
            qty = ev.quantity / SCALE
            if buy_owner:
                st.buy.add(buy_owner, ev.ts, qty)
            st.buy.add("*", ev.ts, qty)
            if sell_owner:
                st.sell.add(sell_owner, ev.ts, qty)
            st.sell.add("*", ev.ts, qty)
        # An empty id is unknown, never a link (a venue may report only one side's ids).
        if ev.buy_account and ev.buy_account == ev.sell_account:
            kind, ok = "same_account", t.same_account
        elif ev.buy_user and ev.buy_user == ev.sell_user:
            kind, ok = "same_user", t.same_user
        elif buy_owner and buy_owner == sell_owner:
            kind, ok = "same_owner", t.same_owner
        else:
            return
        if not ok:
            return
        owner = buy_owner
        ep = st.episodes.get(owner)
        if ep is None or ev.ts - ep.last_ts > t.max_gap_ms * MS:
            ep = st.episodes[owner] = WashEpisode(owner, ev.trade_id, ev.ts, st.trades - 1)
        ep.last_ts = max(ep.last_ts, ev.ts)
        ep.trade_ids.append(ev.trade_id)
        aggressor_order = ev.buy_order_id if ev.side > 0 else ev.sell_order_id
        new_crossing = aggressor_order not in ep.aggressors
        if new_crossing:
            ep.aggressors.append(aggressor_order)
        for oid in (ev.buy_order_id, ev.sell_order_id):
            if oid not in ep.order_ids:
                ep.order_ids.append(oid)
        ep.accounts.update((ev.buy_account, ev.sell_account))
        ep.users.update((ev.buy_user, ev.sell_user))
        ep.directions.add((ev.sell_account, ev.buy_account))
        ep.kinds.add(kind)
        ep.quantity += ev.quantity
        ep.notional += ev.quantity * ev.price // 10**9
        ep.prices.append(ev.price)
        # Floor each share at one trade in fifty, so a newcomer is not infinitely surprising.
        if new_crossing:
            # A share is floored at one owner in the crowd, so a newcomer is not infinitely
            # surprising.
            floor = 1.0 / max(MIN_CROWD, len(st.buy))
            ep.share_product += max(b_share, floor) * max(s_share, floor)
            # How unusual the crossing's size is among the symbol's trades (before it).
            p_cross = tail_fraction(sym.trade_sizes.sorted_window(), ev.quantity)
            aggressor = buy if ev.side > 0 else sell
            maker = sell if ev.side > 0 else buy
            if (
                aggressor is not None
                and maker is not None
                and aggressor.quantity == ev.quantity
                and maker.remaining <= 0
            ):
                # Arranged: the aggressor asked for exactly what the linked resting order had
                # left, and the two traded with each other and nobody else.
                ep.exclusive += 1
                p_cross *= equal_fraction(sym.sizes.sorted_window(), ev.quantity)
            ep.size_tails.append(p_cross)
        self._report(ev, sym, ep)

    @staticmethod
    def _share(rates: DecayedRates, owner: str, ts: int) -> float:
        total = rates.rate("*", ts)
        return rates.rate(owner, ts) / total if total > 0 else 1.0

    def _report(self, ev: Ev, sym: SymbolState, ep: WashEpisode) -> None:
        t: WashTradingThresholds = self.thresholds
        n = len(ep.trade_ids)
        if n < t.min_trades:
            return
        # Crossings are counted per aggressive order (one order sweeping three of the owner's
        # resting orders is one crossing); the chance model compares them with what the
        # owner's shares of buying and selling would produce among the symbol's trades.
        k = len(ep.aggressors)
        # The window is the episode plus one gap before it: a run is judged against what the
        # symbol's trading would produce over a comparable stretch, not only its own span.
        st = self._ws(sym)
        rate = st.trade_rate.rate("*", ep.last_ts)
        horizon_s = (ep.last_ts - ep.first_ts) / 1e9 + t.max_gap_ms / 1000.0
        window_trades = max(k, st.trades - ep.symbol_trades_at_start, rate * horizon_s)
        lam = ep.share_product / k * window_trades
        p_count = poisson_sf(k, lam)
        p_size = fisher_combined(ep.size_tails)
        p = p_count * p_size
        round_trip = len(ep.directions) >= 2 and len(ep.accounts) >= 2
        score = evidence_score(p)
        span_s = (ep.last_ts - ep.first_ts) / 1e9
        qty = ep.quantity / SCALE
        lo, hi = min(ep.prices), max(ep.prices)
        how = (
            "the same account on both sides"
            if ep.kinds == {"same_account"}
            else "the same user on both sides"
            if ep.kinds <= {"same_account", "same_user"}
            else "accounts of one beneficial owner on both sides"
        )
        evidence: dict[str, Any] = {
            "trades": n,
            "crossings": k,
            "trade_ids": list(ep.trade_ids),
            "accounts": sorted(ep.accounts),
            "users": sorted(ep.users),
            "links": sorted(ep.kinds),
            "directions": sorted(f"{a}->{b}" for a, b in ep.directions),
            "round_trip": round_trip,
            "exclusive_matches": ep.exclusive,
            "quantity": f"{qty:g}",
            "notional": f"{ep.notional / SCALE:.2f}",
            "price_low": f"{lo / SCALE:g}",
            "price_high": f"{hi / SCALE:g}",
            "span_ms": round(span_s * 1000, 3),
            "expected_by_chance": round(lam, 6),
            "p_count": p_count,
            "p_crossings": p_size,
            "p_chance": p,
            "net_beneficial_position_change": "0",
        }
        explanation = (
            f"{n} trades in {sym.symbol} over {span_s:.1f} s had {how} "
            f"(beneficial owner {ep.owner}; accounts {', '.join(sorted(ep.accounts))}), "
            f"{qty:g} shares in total at {lo / SCALE:g}-{hi / SCALE:g}"
            f"{', passed back and forth between the accounts' if round_trip else ''}; "
            f"the owner's net position did not change. At this owner's own share of the "
            f"symbol's buying and selling about {lam:.2g} such crossings would be expected by "
            f"chance (chance of {n} or more: {p:.1e})."
        )
        self.ctx.report(
            Finding(
                alert_type=self.alert_type,
                symbol=sym.symbol,
                anchor=ep.anchor,
                user_id=min(ep.users),
                owner_id=ep.owner,
                account_ids=sorted(ep.accounts),
                start_ns=ep.first_ts,
                end_ns=ep.last_ts,
                score=score,
                order_ids=list(ep.order_ids),
                trade_ids=list(ep.trade_ids),
                evidence=evidence,
                explanation=explanation,
                user_ids=sorted(ep.users),
            ),
            ev.ts,
        )

    def expire(self, sym: SymbolState, now_ns: int) -> None:
        st = self._ws(sym)
        gap = self.thresholds.max_gap_ms * MS
        for owner in [o for o, ep in st.episodes.items() if now_ns - ep.last_ts > gap]:
            del st.episodes[owner]
        st.buy.trim(now_ns)
        st.sell.trim(now_ns)
