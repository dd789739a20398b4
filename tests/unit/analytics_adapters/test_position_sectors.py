"""Positions carry the instrument reference data's sector, so stress sector shocks apply.

Issue 11: analytics positions had ``sector: ""`` although market data lists sectors (nothing
filled the analytics ``instruments`` table), so a scenario's sector shocks never applied.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec

from nexus.instruments import SECTORS, Instrument, InstrumentTable, symbol_name
from services.analytics.core.stress import StressScenario, apply_scenario
from services.analytics.store import PositionStore

NOW_NS = int(dt.datetime(2026, 12, 4, 15, tzinfo=dt.UTC).timestamp()) * 10**9
P = 10**9


class FakePool:
    """Answers the positions query with fixed rows (the LEFT JOIN's columns, None when absent)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    async def fetch(self, query: str, *args: Any) -> list[dict[str, Any]]:
        assert "FROM positions" in query
        return self.rows


class FakeDatabase:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.pool = FakePool(rows)


def _row(symbol: str, qty: int, sector: str | None = None) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "quantity_raw": qty * P,
        "asset_class": None,
        "sector": sector,
        "currency": None,
    }


async def test_positions_without_a_stored_sector_take_the_reference_sector() -> None:
    # SIM0007 is the 8th simulated symbol: TECHNOLOGY; SIM0006 FINANCIALS
    assert (SECTORS[7], SECTORS[6]) == ("TECHNOLOGY", "FINANCIALS")
    store = PositionStore(
        FakeDatabase(
            [
                _row(symbol_name(7), 10),
                _row(symbol_name(6), -5),
                _row("ZZZ", 1),
                _row("SIM0001", 2, sector="utilities"),
            ]
        ),
        clock_ns=lambda: NOW_NS,
    )
    held = {p.symbol: p for p in await store.positions("alice")}
    assert held["SIM0007"].sector == "technology"
    assert held["SIM0006"].sector == "financials"
    assert held["ZZZ"].sector == ""  # not listed: no sector to give
    assert held["SIM0001"].sector == "utilities"  # a stored classification wins (not MATERIALS)


async def test_a_sector_shock_applies_to_positions_in_that_sector() -> None:
    store = PositionStore(
        FakeDatabase([_row("SIM0007", 10), _row("SIM0006", 4), _row("SIM0000", 3)]),
        clock_ns=lambda: NOW_NS,
    )
    held = [msgspec.structs.replace(p, price="100") for p in await store.positions("alice")]
    scenario = StressScenario(
        name="tech_rout",
        default_shock="-0.01",
        sector_shocks={"technology": "-0.30", "financials": "0.05"},
    )
    result = apply_scenario(held, scenario)
    by_symbol = {r.symbol: r for r in result.positions}
    assert (by_symbol["SIM0007"].shock, by_symbol["SIM0007"].shock_source) == ("-0.30", "sector")
    assert by_symbol["SIM0007"].stressed_price == "70"
    assert (by_symbol["SIM0006"].shock, by_symbol["SIM0006"].shock_source) == ("0.05", "sector")
    assert by_symbol["SIM0000"].shock_source == "default"  # ENERGY: not shocked by sector
    # 10 x -30 + 4 x +5 + 3 x -1
    assert Decimal(result.total_pnl) == Decimal(-283)


async def test_the_sector_follows_the_reference_data_in_force_today() -> None:
    table = InstrumentTable(
        [
            Instrument(
                symbol="CHG",
                sector="ENERGY",
                effective_from=dt.date(2020, 1, 1),
                effective_to=dt.date(2026, 12, 1),
            ),
            Instrument(symbol="CHG", sector="UTILITIES", effective_from=dt.date(2026, 12, 1)),
        ]
    )
    store = PositionStore(
        FakeDatabase([_row("CHG", 1)]), instruments=table, clock_ns=lambda: NOW_NS
    )
    [held] = await store.positions("alice")
    assert held.sector == "utilities"
