"""Helpers of the surveillance core tests: a background market and a detection run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from services.surveillance.core.engine import SurveillanceEngine
from services.surveillance.core.types import SurveillanceAlert
from tests.unit.surveillance.market import MS, T0, Market, S, background

#: Scripted behaviour starts here, after the background has warmed every statistic.
EPISODE_AT = T0 + 35 * S


def detect(
    events: Iterable[Any],
    owners: dict[str, str] | None = None,
    thresholds: dict[str, Any] | None = None,
    **kw: Any,
) -> list[SurveillanceAlert]:
    """Final alerts of one engine over ``events``."""
    engine = SurveillanceEngine(account_owners=owners, thresholds=thresholds, **kw)
    engine.process_events(list(events))
    engine.flush()
    return engine.final_alerts()


def of_type(alerts: list[SurveillanceAlert], alert_type: str) -> list[SurveillanceAlert]:
    """The alerts of one type."""
    return [a for a in alerts if a.type == alert_type]


@pytest.fixture
def quiet_market() -> Market:
    """A market whose background volatility is calm enough for a burst to stand out."""
    m = Market()
    background(m, seconds=45, seed=4)
    return m


@pytest.fixture
def market() -> Market:
    """A market with 45 s of background flow scheduled (run it after adding a scenario)."""
    m = Market()
    background(m, seconds=45)
    return m


def opposite(side: str) -> str:
    """The other side."""
    return "SELL" if side == "BUY" else "BUY"


def spoof(
    m: Market,
    ts: int,
    user: str = "SPF",
    side: str = "BUY",
    qty: int = 3000,
    behind: int = 1,
    genuine_after_ms: float = 10,
    cancel_after_ms: float = 300,
    genuine_qty: int = 100,
    genuine_account: str | None = None,
    genuine_user: str | None = None,
) -> dict[str, str]:
    """A single large order ``behind`` ticks from the touch, a small IOC on the other side,
    then the cancel. Returns the ids (filled in as the market runs)."""
    ids: dict[str, str] = {}

    def place(t: int) -> None:
        best = m.best(side)
        price = best - behind if side == "BUY" else best + behind
        ids["spoof"] = m.submit(t, user, side, price, qty)
        m.at(t + int(genuine_after_ms * MS), genuine)
        m.at(t + int(cancel_after_ms * MS), lambda t2: m.cancel(t2, ids["spoof"]))

    def genuine(t: int) -> None:
        touch = m.best(side)
        ids["genuine"] = m.submit(
            t,
            genuine_user or user,
            opposite(side),
            touch,
            genuine_qty,
            "IOC",
            account=genuine_account,
        )

    m.at(ts, place)
    return ids


def layers(
    m: Market,
    ts: int,
    user: str = "LAY",
    side: str = "BUY",
    count: int = 4,
    qty: int = 800,
    first_behind: int = 1,
    step: int = 1,
    placement_gap_ms: float = 0,
    genuine_after_ms: float = 20,
    cancel_after_ms: float = 400,
    cancel_gap_ms: float = 1,
    genuine_qty: int = 100,
) -> dict[str, list[str]]:
    """``count`` orders on successive levels behind the touch, a small IOC on the other side,
    then every layer cancelled."""
    ids: dict[str, list[str]] = {"layers": [], "genuine": []}

    def place(t: int) -> None:
        best = m.best(side)
        sign = -1 if side == "BUY" else 1
        for k in range(count):
            price = best + sign * (first_behind + k * step)
            at = t + int(k * placement_gap_ms * MS)
            m.at(at, lambda t2, p=price: ids["layers"].append(m.submit(t2, user, side, p, qty)))
        last = t + int((count - 1) * placement_gap_ms * MS)
        m.at(last + int(genuine_after_ms * MS), genuine)

    def genuine(t: int) -> None:
        ids["genuine"].append(m.submit(t, user, opposite(side), m.best(side), genuine_qty, "IOC"))
        for k in range(count):
            m.at(
                t + int((cancel_after_ms + k * cancel_gap_ms) * MS),
                lambda t2, k=k: m.cancel(t2, ids["layers"][k]),
            )

    m.at(ts, place)
    return ids


def ignition(
    m: Market,
    ts: int,
    user: str = "MOM",
    side: str = "BUY",
    orders: int = 8,
    gap_ms: float = 40,
    through: int = 3,
    size: int = 800,
    unwind: bool = True,
    unwind_after_ms: float = 20,
    unwind_qty: int | None = None,
) -> dict[str, list[str]]:
    """A burst of aggressive IOCs sweeping the far side, then passive orders the other way."""
    ids: dict[str, list[str]] = {"burst": [], "unwind": []}
    sign = 1 if side == "BUY" else -1

    def hit(t: int, k: int) -> None:
        far = m.best(opposite(side))
        if far:
            ids["burst"].append(m.submit(t, user, side, far + sign * through, size, "IOC"))
        if k + 1 < orders:
            m.at(t + int(gap_ms * MS), lambda t2: hit(t2, k + 1))
        elif unwind:
            m.at(t + int(unwind_after_ms * MS), out)

    def out(t: int) -> None:
        near = m.best(opposite(side)) or m.best(side)
        qty = unwind_qty if unwind_qty is not None else size * orders // 3
        for k in range(3):
            ids["unwind"].append(m.submit(t, user, opposite(side), near + sign * k, qty))

    m.at(ts, lambda t: hit(t, 0))
    return ids


Scenario = Callable[[Market, int], Any]
