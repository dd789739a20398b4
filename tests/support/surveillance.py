"""Surveillance service test support: event factories and a scripted detector.

The service tests check the service (storage, redelivery, publication, halts, REST), not the
detectors' judgement, so they install :class:`SelfTradeDetector` in place of the registered
detectors: a trade whose buyer and seller account are one account is wash trading, one
episode per (symbol, owner), scored 50 / 70 / 90 after 1 / 2 / 3+ trades, so an episode goes
MEDIUM v1 -> HIGH v2 -> CRITICAL v3 deterministically. :func:`make_service` builds the
service on the in-memory stand-ins of :mod:`tests.support.surveillance_fakes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from nexus.events import OrderCancel, OrderNew, Trade
from services.surveillance.core.detectors.base import (
    DETECTORS,
    Finding,
    PatternDetector,
)
from services.surveillance.core.types import WashTradingThresholds
from services.surveillance.service import SurveillanceService
from tests.support.surveillance_fakes import (
    FakeAlertStore,
    FakeArchive,
    FakeOwners,
    FakePublisher,
    FakeThresholds,
)

P = 10**9
T0 = 1_800_000_000_000_000_000
SCORES = {1: 50.0, 2: 70.0}


class SelfTradeDetector(PatternDetector):
    """Scripted wash-trading detector (see the module docstring)."""

    alert_type = "WASH_TRADING"
    thresholds_type = WashTradingThresholds

    def handle_trade(self, ev: Any, sym: Any, buy: Any, sell: Any) -> None:
        """Count self-trades per owner."""
        if ev.buy_account != ev.sell_account:
            return
        episodes = self.state(sym, dict)
        owner = self.ctx.owner_of(ev.buy_account, ev.buy_user)
        episode = episodes.setdefault(owner, {"anchor": ev.trade_id, "start": ev.ts, "trades": []})
        episode["trades"].append(ev.trade_id)
        n = len(episode["trades"])
        self.ctx.report(
            Finding(
                alert_type=self.alert_type,
                symbol=ev.symbol,
                anchor=episode["anchor"],
                user_id=ev.buy_user,
                owner_id=owner,
                account_ids=[ev.buy_account],
                start_ns=episode["start"],
                end_ns=ev.ts,
                score=SCORES.get(n, 90.0),
                order_ids=[ev.buy_order_id, ev.sell_order_id],
                trade_ids=list(episode["trades"]),
                evidence={"self_trades": n},
                explanation=f"{n} trades of account {ev.buy_account} with itself",
            ),
            ev.ts,
        )

    def expire(self, sym: Any, now_ns: int) -> None:
        """Nothing to trim (tests are short)."""


def install_self_trade_detector() -> dict[str, type[PatternDetector]]:
    """Replace the registered detectors by :class:`SelfTradeDetector`; returns the old ones."""
    saved = dict(DETECTORS)
    DETECTORS.clear()
    DETECTORS["WASH_TRADING"] = SelfTradeDetector
    return saved


@pytest.fixture
def self_trade_detector() -> Any:
    """Only the scripted detector is registered during the test."""
    saved = install_self_trade_detector()
    yield SelfTradeDetector
    DETECTORS.clear()
    DETECTORS.update(saved)


@dataclass
class ServiceParts:
    """A service on in-memory stand-ins, and the stand-ins a test inspects."""

    service: SurveillanceService
    store: FakeAlertStore
    archive: FakeArchive
    publisher: FakePublisher


def make_service(**options: Any) -> ServiceParts:
    """A :class:`SurveillanceService` on fresh fakes; ``options`` are its keyword options
    (``halts``, ``idle_s``, ``clock``, ...)."""
    store, archive, publisher = FakeAlertStore(), FakeArchive(), FakePublisher()
    service = SurveillanceService(
        store,  # type: ignore[arg-type]
        archive,  # type: ignore[arg-type]
        publisher,
        thresholds=FakeThresholds(),  # type: ignore[arg-type]
        owners=FakeOwners(),  # type: ignore[arg-type]
        **options,
    )
    return ServiceParts(service, store, archive, publisher)


def new_order(
    order_id: str, user: str, symbol: str, side: str, price: int, qty: int, ts: int
) -> OrderNew:
    """A resting limit order (price and quantity in whole units)."""
    return OrderNew(
        event_id=f"new-{symbol}-{order_id}",
        ts_event=T0 + ts,
        symbol=symbol,
        order_id=order_id,
        user_id=user,
        account_id=f"{user}-acc",
        side=side,  # type: ignore[arg-type]
        order_type="LIMIT",
        price=price * P,
        quantity=qty * P,
    )


def cancel(order: OrderNew, ts: int) -> OrderCancel:
    """Cancel the whole of ``order``."""
    return OrderCancel(
        event_id=f"cxl-{order.order_id}",
        ts_event=T0 + ts,
        symbol=order.symbol,
        order_id=order.order_id,
        user_id=order.user_id,
        account_id=order.account_id,
        side=order.side,
        price=order.price,
        cancelled_quantity=order.quantity,
    )


def self_trade(trade_id: str, user: str, symbol: str, ts: int, price: int = 100) -> Trade:
    """A trade of ``user``'s account with itself."""
    return trade(trade_id, user, user, symbol, ts, price)


def trade(trade_id: str, buyer: str, seller: str, symbol: str, ts: int, price: int = 100) -> Trade:
    """A trade of 10 units between two users' accounts; its id is ``<symbol>-<trade_id>``
    (ids are unique across a test module's shared topics)."""
    return Trade(
        event_id=f"{symbol}-{trade_id}",
        ts_event=T0 + ts,
        symbol=symbol,
        price=price * P,
        quantity=10 * P,
        aggressor_side="BUY",
        buy_order_id=f"b-{trade_id}",
        sell_order_id=f"s-{trade_id}",
        buyer_user_id=buyer,
        buyer_account_id=f"{buyer}-acc",
        seller_user_id=seller,
        seller_account_id=f"{seller}-acc",
    )
