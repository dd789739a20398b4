"""The surveillance orchestrator: one engine for the live path and for historical scans.

:class:`SurveillanceEngine` normalises every input (platform events or audit records), keeps
the shared per-symbol state (book reconstruction, tick, typical sizes), feeds every registered
:class:`~services.surveillance.core.detectors.base.PatternDetector`, and turns their findings
into versioned :class:`~services.surveillance.core.types.SurveillanceAlert`\\s: an episode keeps
its id; every batch that changes it re-issues it once with the next version.

Event time only. With ``lateness_ns > 0`` events are held in a reorder buffer and released in
(event time, kind, arrival) order once the watermark (latest event time seen minus the
lateness) passes them, so events that arrive out of order across topics within that bound are
processed as if they had arrived in order; :meth:`flush` releases the rest. A caller that
reads several streams passes their common ``source_watermark`` (see :meth:`process_events`). No I/O: historical
scans read through the ``event_source`` collaborator.
"""

from __future__ import annotations

import heapq
import inspect
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Protocol

import msgspec

from services.surveillance.core import detectors as _detectors  # noqa: F401  (registers)
from services.surveillance.core.book import OrderState
from services.surveillance.core.detectors.base import DETECTORS, Finding, PatternDetector
from services.surveillance.core.normalise import AMEND, CANCEL, LIMIT, NEW, TRADE, Ev, normalise
from services.surveillance.core.profiles import ProfileBook
from services.surveillance.core.state import SymbolState, UserSizes
from services.surveillance.core.types import (
    SurveillanceAlert,
    ThresholdError,
    alert_id_for,
    default_thresholds,
    severity_for_score,
    thresholds_evidence,
    validate_thresholds,
)

#: Detector windows are trimmed every this many events of a symbol.
EXPIRE_EVERY: Final = 512
#: Profiles and episode bookkeeping are trimmed every this many events overall.
PROFILE_TRIM_EVERY: Final = 65_536
#: Episodes untouched for this long (event time) are forgotten (their alerts stay final).
EPISODE_RETENTION_NS: Final = 3_600 * 1_000_000_000
#: Most events the reorder buffer holds; beyond it the oldest are applied (and counted).
MAX_HELD: Final = 200_000


class EventSource(Protocol):
    """Where historical scans read events: batches (lists) of engine inputs in event time."""

    def read(
        self, start_ns: int, end_ns: int, symbols: Sequence[str] | None
    ) -> AsyncIterator[Sequence[Any]] | Iterable[Sequence[Any]]:
        """Batches of events with ``start_ns <= ts < end_ns`` (of ``symbols`` if given)."""
        ...


def to_ns(value: int | datetime) -> int:
    """UTC nanoseconds of an int (already ns) or an aware datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ThresholdError("datetimes must be timezone-aware (UTC)", field="time")
        return int(value.timestamp()) * 1_000_000_000 + value.microsecond * 1_000
    return int(value)


class SurveillanceEngine:
    """Detects manipulation in order and trade events; pure (no I/O), event time only.

    ``account_owners`` maps account id -> beneficial owner id (KYC); an unknown account's
    owner is the first user seen on it. ``thresholds`` overrides defaults per detector type
    (validated).
    """

    def __init__(
        self,
        event_source: EventSource | None = None,
        *,
        account_owners: Mapping[str, str] | None = None,
        thresholds: Mapping[str, Any] | None = None,
        lateness_ns: int = 0,
        detector_types: Sequence[str] | None = None,
        max_held: int = MAX_HELD,
    ) -> None:
        self.event_source = event_source
        self.lateness_ns = max(0, int(lateness_ns))
        self.max_held = max(1, int(max_held))
        #: Events applied before their watermark because the buffer was full.
        self.forced_releases = 0
        #: Events that arrived after the event time they belong to had been released.
        self.late_events = 0
        self._released_to = -1
        self._owners: dict[str, str] = dict(account_owners or {})
        #: account without a KYC owner -> the first user seen on it (its owner)
        self._account_users: dict[str, str] = {}
        self._thresholds: dict[str, Any] = default_thresholds()
        for name, value in (thresholds or {}).items():
            self._thresholds[name] = validate_thresholds(name, value)
        self.user_sizes = UserSizes()
        self.profiles = ProfileBook()
        self._symbols: dict[str, SymbolState] = {}
        names = list(detector_types) if detector_types is not None else list(DETECTORS)
        self._detectors: dict[str, PatternDetector] = {}
        for name in names:
            if name not in DETECTORS:
                raise ThresholdError(f"unknown detector type {name!r}", field="detector_type")
            self._detectors[name] = DETECTORS[name](self, self._thresholds[name])
        self._detector_list = list(self._detectors.values())
        self._alerts: dict[str, SurveillanceAlert] = {}
        self._touched: dict[str, int] = {}
        #: alert id -> (latest finding, its event time, whether any finding of the batch reached
        #: the detector's min_score)
        self._dirty: dict[str, tuple[Finding, int, bool]] = {}
        self._pending: list[tuple[tuple[int, int, int], Ev]] = []
        self._watermark = 0
        self._seq = 0
        self._events = 0
        self._last_sweep = 0

    # -- configuration ------------------------------------------------------------------------
    def set_account_owners(self, account_owners: Mapping[str, str]) -> None:
        """Add or replace account -> beneficial owner links (from the next event on)."""
        self._owners.update(account_owners)

    def owner_of(self, account_id: str, user_id: str) -> str:
        """Beneficial owner of an account: its KYC owner; for an account without one, the
        first user seen trading on it (an account shared by several users is one owner: the
        account is the link); the user itself when no account is given."""
        owner = self._owners.get(account_id)
        if owner:
            return owner
        if not account_id:
            return user_id
        return self._account_users.setdefault(account_id, user_id)

    def update_thresholds(self, detector_type: str, thresholds: Any) -> None:
        """Validate and apply new thresholds for one detector type (a mapping, possibly
        partial, or the thresholds struct); the version goes up by one. Raises
        :class:`ThresholdError`."""
        new = validate_thresholds(detector_type, thresholds, self._thresholds.get(detector_type))
        self._thresholds[detector_type] = new
        detector = self._detectors.get(detector_type)
        if detector is not None:
            detector.set_thresholds(new)

    def get_thresholds(self, detector_type: str) -> Any:
        """The current thresholds of one detector type."""
        try:
            return self._thresholds[detector_type]
        except KeyError:
            raise ThresholdError(
                f"unknown detector type {detector_type!r}", field="detector_type"
            ) from None

    @property
    def thresholds(self) -> dict[str, Any]:
        """Current thresholds per detector type."""
        return dict(self._thresholds)

    @property
    def events_processed(self) -> int:
        """Events applied so far (after normalisation and reordering)."""
        return self._events

    # -- the contract -------------------------------------------------------------------------
    async def process_order_event(self, event: Any) -> list[SurveillanceAlert]:
        """Process one order event; returns the alerts it created or updated."""
        return self.process_events((event,))

    async def process_trade_event(self, event: Any) -> list[SurveillanceAlert]:
        """Process one trade event; returns the alerts it created or updated."""
        return self.process_events((event,))

    async def get_user_profile(self, user_id: str, lookback_days: int = 30) -> dict[str, Any]:
        """The user's :class:`TradingProfile` overall and per symbol, as plain dicts."""
        overall = self.profiles.profile(user_id, None, lookback_days)
        per_symbol = {
            symbol: msgspec.structs.asdict(self.profiles.profile(user_id, symbol, lookback_days))
            for symbol in self.profiles.symbols_of(user_id, lookback_days)
        }
        return {
            "user_id": user_id,
            "profile": msgspec.structs.asdict(overall),
            "symbols": per_symbol,
        }

    async def run_historical_scan(
        self,
        start_time: int | datetime,
        end_time: int | datetime,
        symbols: Sequence[str] | None = None,
        users: Sequence[str] | None = None,
    ) -> list[SurveillanceAlert]:
        """Re-run the detectors over history from the event source, in a fresh engine with the
        current thresholds and owner links; returns the final version of every alert (of
        ``users`` if given), ordered by start time."""
        if self.event_source is None:
            raise ThresholdError("this engine has no event source for historical scans")
        start_ns, end_ns = to_ns(start_time), to_ns(end_time)
        scan = self.fork()
        batches = self.event_source.read(start_ns, end_ns, list(symbols) if symbols else None)
        if inspect.isasyncgen(batches) or hasattr(batches, "__aiter__"):
            async for batch in batches:
                scan.process_events(batch)
        else:
            for batch in batches:
                scan.process_events(batch)
        scan.flush()
        wanted = set(users) if users else None
        return [
            a
            for a in scan.final_alerts()
            if wanted is None or a.user_id in wanted or wanted.intersection(a.user_ids)
        ]

    # -- batch entry point --------------------------------------------------------------------
    def fork(self) -> SurveillanceEngine:
        """A fresh engine with this one's thresholds, owner links and lateness (no state)."""
        return SurveillanceEngine(
            self.event_source,
            account_owners=self._owners,
            thresholds=self._thresholds,
            lateness_ns=self.lateness_ns,
            detector_types=list(self._detectors),
        )

    def process_events(
        self, batch: Iterable[Any], *, source_watermark: int | None = None
    ) -> list[SurveillanceAlert]:
        """Process a batch of inputs (any form :func:`normalise` accepts); returns every alert
        created or updated by the batch, each once at its new version.

        ``source_watermark`` (event time, ns): the caller's promise that no input older than
        this is still to come (the live service passes the least of its input partitions'
        latest event times, so a symbol's orders and trades read from two topics at different
        speeds are applied in event-time order). With it, or with ``lateness_ns > 0``, events
        are held and released in (event time, kind, arrival) order once both bounds pass them.
        """
        if self.lateness_ns == 0 and source_watermark is None and not self._pending:
            for raw in batch:
                ev = normalise(raw)
                if ev is not None:
                    self._apply(ev)
            return self._publish()
        pending = self._pending
        for raw in batch:
            ev = normalise(raw)
            if ev is None:
                continue
            self._seq += 1
            ev.seq = self._seq
            if ev.ts < self._released_to:
                self.late_events += 1  # its moment has been applied: it goes next, late
            heapq.heappush(pending, (ev.sort_key(), ev))
            if ev.ts > self._watermark:
                self._watermark = ev.ts
        limit = self._watermark - self.lateness_ns
        if source_watermark is not None:
            limit = min(limit, source_watermark)
        return self.release_until(limit)

    def release_until(self, ts: int) -> list[SurveillanceAlert]:
        """Apply every held event at or before event time ``ts``; returns the alerts."""
        pending = self._pending
        self._released_to = max(self._released_to, ts)
        while pending and pending[0][0][0] <= ts:
            self._apply(heapq.heappop(pending)[1])
        while len(pending) > self.max_held:  # a stream stuck in the past holds nothing forever
            self.forced_releases += 1
            self._apply(heapq.heappop(pending)[1])
        return self._publish()

    @property
    def held(self) -> int:
        """How many events wait in the reorder buffer."""
        return len(self._pending)

    def flush(self) -> list[SurveillanceAlert]:
        """Release every held event (end of a scan or of the stream)."""
        pending = self._pending
        while pending:
            self._apply(heapq.heappop(pending)[1])
        return self._publish()

    def final_alerts(self) -> list[SurveillanceAlert]:
        """The latest version of every alert raised so far, by start time."""
        return sorted(self._alerts.values(), key=lambda a: (a.start_ns, a.alert_id))

    # -- internals ----------------------------------------------------------------------------
    def _symbol(self, symbol: str) -> SymbolState:
        st = self._symbols.get(symbol)
        if st is None:
            st = self._symbols[symbol] = SymbolState(symbol)
        return st

    def _apply(self, ev: Ev) -> None:
        sym = self._symbol(ev.symbol)
        if ev.ts > sym.last_ts:
            sym.last_ts = ev.ts
        self._events += 1
        kind = ev.kind
        book = sym.book
        if kind == NEW:
            order = self._new_order(ev, sym)
            for d in self._detector_list:
                d.handle_new(ev, sym, order)
            self.user_sizes.add(ev.user_id, order.quantity)
            sym.sizes.add(order.quantity)
            sym.sample_levels()
            sym.order_rate.add((order.owner_id, order.side), ev.ts)
            sym.order_rate.add("*", ev.ts)
            self.profiles.on_new(ev, order)
        elif kind == TRADE:
            sym.observe_price(ev.price)
            buy = book.get(ev.buy_order_id)
            sell = book.get(ev.sell_order_id)
            _fill_identity(ev, buy, sell)
            if buy is not None:
                book.fill(buy, ev.quantity)
                buy.ts_last = ev.ts
            if sell is not None:
                book.fill(sell, ev.quantity)
                sell.ts_last = ev.ts
            sym.last_trade_price = ev.price
            sym.trade_sizes.add(ev.quantity)
            for account, user in ((ev.buy_account, ev.buy_user), (ev.sell_account, ev.sell_user)):
                owner = self.owner_of(account, user)
                if owner:  # an anonymous side counts for nobody
                    sym.exec_rate.add(owner, ev.ts)
            sym.exec_rate.add("*", ev.ts)
            taker = buy if ev.side > 0 else sell
            if taker is not None:
                sym.aggressive_flow.add((taker.owner_id, ev.side), ev.ts, float(ev.quantity))
            sym.trades.append((ev.ts, ev.price, ev.quantity, ev.side, ev.trade_id))
            for d in self._detector_list:
                d.handle_trade(ev, sym, buy, sell)
            self.profiles.on_trade(ev, buy, sell)
        elif kind == CANCEL:
            gone = book.get(ev.order_id)
            if gone is not None:
                book.cancel(gone, ev.remaining)
                if gone.order_type == LIMIT:
                    sym.cancel_rate.add(gone.owner_id, ev.ts)
                gone.ts_last = gone.ts_cancel = ev.ts
                for d in self._detector_list:
                    d.handle_cancel(ev, sym, gone)
                self.profiles.on_cancel(ev, gone)
        elif kind == AMEND:
            moved = book.get(ev.order_id)
            if moved is None:
                self._new_order(ev, sym)
            else:
                sym.observe_price(ev.price)
                replaced = moved.resting and (
                    (ev.price and ev.price != moved.price) or ev.remaining > moved.remaining
                )
                book.amend(moved, ev.price, ev.remaining, ev.quantity)
                moved.ts_last = ev.ts
                if replaced:
                    _replace_context(moved, sym)
                    moved.replaced_ts = ev.ts
                for d in self._detector_list:
                    d.handle_amend(ev, sym, moved)
        sym.events += 1
        if sym.events % EXPIRE_EVERY == 0:
            for d in self._detector_list:
                d.expire(sym, sym.last_ts)
            sym.trim(sym.last_ts)
        if self._events - self._last_sweep >= PROFILE_TRIM_EVERY:
            self._sweep(ev.ts)

    def _new_order(self, ev: Ev, sym: SymbolState) -> OrderState:
        book = sym.book
        order = OrderState(
            ev.order_id,
            ev.symbol,
            ev.user_id,
            ev.account_id,
            self.owner_of(ev.account_id, ev.user_id),
            ev.side,
            ev.order_type,
            ev.price,
            ev.remaining if ev.kind == AMEND else ev.quantity,
            ev.ts,
        )
        if ev.kind == AMEND and ev.quantity > order.quantity:
            order.quantity = ev.quantity
        sym.observe_price(ev.price)
        same = book.best(ev.side)
        opp = book.best(-ev.side)
        order.best_same_at_new = same
        order.best_opp_at_new = opp
        if ev.order_type == LIMIT and ev.price > 0:
            if opp and (ev.price - opp) * ev.side >= 0:
                order.aggressive = True
            order.level_depth_before = book.depth_at(ev.side, ev.price)
            if same:
                behind = (same - ev.price) * ev.side
                order.distance_ticks = max(0, round(sym.ticks(behind))) if behind > 0 else 0
        book.add(order)
        return order

    def _sweep(self, now_ns: int) -> None:
        self._last_sweep = self._events
        horizon = now_ns - EPISODE_RETENTION_NS
        stale = [k for k, ts in self._touched.items() if ts < horizon]
        for k in stale:
            del self._touched[k]
        self.profiles.trim(now_ns)

    def report(self, finding: Finding, ts: int) -> None:
        """Record a detector's finding (see :class:`DetectorContext`)."""
        alert_id = alert_id_for(
            finding.alert_type, finding.symbol, finding.owner_id, finding.anchor
        )
        # An episode is alerted once any of its findings reaches min_score, even if later
        # evidence in the same batch lowers the score: the alerts do not depend on where a
        # stream is cut into batches (one event at a time live, large blocks in a scan).
        prev = self._dirty.get(alert_id)
        reached = finding.score >= self._thresholds[finding.alert_type].min_score or (
            prev is not None and prev[2]
        )
        self._dirty[alert_id] = (finding, ts, reached)
        self._touched[alert_id] = ts

    def _publish(self) -> list[SurveillanceAlert]:
        if not self._dirty:
            return []
        out: list[SurveillanceAlert] = []
        for alert_id, (f, ts, reached) in self._dirty.items():
            thresholds = self._thresholds[f.alert_type]
            previous = self._alerts.get(alert_id)
            if previous is None and not reached:
                continue
            score = round(min(100.0, max(0.0, f.score)), 2)
            alert = SurveillanceAlert(
                alert_id=alert_id,
                version=1 if previous is None else previous.version + 1,
                type=f.alert_type,  # type: ignore[arg-type]
                severity=severity_for_score(score),
                score=score,
                user_id=f.user_id,
                account_ids=sorted(set(f.account_ids)),
                owner_id=f.owner_id,
                symbol=f.symbol,
                start_ns=f.start_ns,
                end_ns=f.end_ns,
                order_ids=list(f.order_ids),
                trade_ids=list(f.trade_ids),
                user_ids=sorted(set(f.user_ids or [f.user_id])),
                evidence=f.evidence,
                thresholds=thresholds_evidence(thresholds),
                explanation=f.explanation,
                detected_ns=ts,
            )
            if previous is not None and _same_content(previous, alert):
                continue
            self._alerts[alert_id] = alert
            out.append(alert)
        self._dirty.clear()
        return out


def _replace_context(order: OrderState, sym: SymbolState) -> None:
    """An amend to a new price or a larger size re-places the order (it loses priority):
    record the book it now joins, as at placement (its own quantity left out)."""
    book = sym.book
    same = book.best(order.side)
    order.best_same_at_new = same
    order.best_opp_at_new = book.best(-order.side)
    order.level_depth_before = max(0, book.depth_at(order.side, order.price) - order.remaining)
    order.side_depth_before = 0
    behind = (same - order.price) * order.side if same else 0
    order.distance_ticks = max(0, round(sym.ticks(behind))) if behind > 0 else 0


def _fill_identity(ev: Ev, buy: OrderState | None, sell: OrderState | None) -> None:
    """Complete a trade's missing user and account ids from the orders it filled (a venue may
    report only one side's ids, or only the order ids)."""
    if buy is not None:
        ev.buy_user = ev.buy_user or buy.user_id
        ev.buy_account = ev.buy_account or buy.account_id
    if sell is not None:
        ev.sell_user = ev.sell_user or sell.user_id
        ev.sell_account = ev.sell_account or sell.account_id


def _same_content(a: SurveillanceAlert, b: SurveillanceAlert) -> bool:
    return msgspec.structs.replace(a, version=b.version, detected_ns=b.detected_ns) == b
