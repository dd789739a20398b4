"""Instrument reference data: symbols, Rule 612 tick bands, lots, effective dates, data files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nexus.errors import ValidationError
from nexus.instruments import (
    RULE_612_BANDS,
    SECTORS,
    Instrument,
    InstrumentTable,
    OddLotQuantity,
    OffTickPrice,
    ReferenceDataError,
    TickBand,
    UnknownInstrument,
    listing,
    simulated_instruments,
    symbol_name,
    utc_date,
)
from nexus.money import to_raw
from nexus.regulation import DOLLAR
from nexus.sim.config import SimConfig
from nexus.sim.runner import simulate
from services.marketdata.core.generator import HistoryConfig, generate_history

DAY = dt.date(2026, 12, 4)


def r(text: str) -> int:
    return to_raw(text)


@pytest.fixture(scope="module")
def table() -> InstrumentTable:
    return simulated_instruments()


def test_issue_examples_are_refused_with_the_field_and_a_clear_message(
    table: InstrumentTable,
) -> None:
    with pytest.raises(UnknownInstrument, match=r"^unknown symbol 'NOPE'$") as unknown:
        table.validate_order("NOPE", r("10"), r("1"), DAY)
    assert unknown.value.field == "$.symbol"
    with pytest.raises(OffTickPrice) as price:
        table.validate_order("SIM0005", r("10.001"), r("1"), DAY)
    assert price.value.field == "$.price"
    assert str(price.value) == (
        "price 10.001 is not a multiple of the tick 0.01 for SIM0005 at that price"
    )
    with pytest.raises(OddLotQuantity) as qty:
        table.validate_order("SIM0005", r("10"), r("0.5"), DAY)
    assert qty.value.field == "$.quantity"
    assert str(qty.value) == "quantity 0.5 is not a multiple of the lot size 1 for SIM0005"
    # every refusal is the project's validation error (422 at the web edge) and a ValueError
    assert isinstance(unknown.value, ValidationError) and isinstance(qty.value, ValueError)


@pytest.mark.parametrize(
    ("price", "ok"),
    [
        ("0.0001", True),
        ("0.9999", True),
        ("0.99995", False),  # below $1: $0.0001 steps
        ("0.5001", True),
        ("1.00", True),  # the band boundary belongs to the upper band
        ("1.0001", False),  # at or above $1: $0.01 steps
        ("1.01", True),
        ("10.001", False),
        ("12345.67", True),
    ],
)
def test_rule_612_bands_decide_the_tick_by_price(
    table: InstrumentTable, price: str, ok: bool
) -> None:
    if ok:
        assert table.validate_order("SIM0001", r(price), r("100"), DAY).symbol == "SIM0001"
    else:
        with pytest.raises(OffTickPrice):
            table.validate_order("SIM0001", r(price), r("100"), DAY)


def test_tick_at_the_band_boundaries() -> None:
    inst = Instrument(symbol="X")
    assert inst.tick_at(DOLLAR - 1) == r("0.0001")
    assert inst.tick_at(DOLLAR) == r("0.01")
    assert inst.tick_at(0) == r("0.0001")


def test_a_market_order_checks_symbol_and_lot_only(table: InstrumentTable) -> None:
    assert table.validate_order("SIM0002", None, r("3"), DAY).symbol == "SIM0002"
    assert table.validate_order("SIM0002", 0, r("3"), DAY).symbol == "SIM0002"
    with pytest.raises(OddLotQuantity):
        table.validate_order("SIM0002", None, r("3.5"), DAY)
    with pytest.raises(UnknownInstrument):
        table.validate_order("NOPE", None, r("3"), DAY)


def test_lot_size_other_than_one_share() -> None:
    table = InstrumentTable([Instrument(symbol="BLK", lot_size=r("100"))])
    assert table.validate_order("BLK", r("5"), r("300"), DAY).lot_size == r("100")
    with pytest.raises(OddLotQuantity, match="lot size 100 for BLK"):
        table.validate_order("BLK", r("5"), r("150"), DAY)


def test_effective_dates_pick_the_version_in_force() -> None:
    old = Instrument(
        symbol="CHG",
        sector="ENERGY",
        lot_size=r("1"),
        effective_from=dt.date(2020, 1, 1),
        effective_to=dt.date(2025, 1, 1),
    )
    new = Instrument(
        symbol="CHG",
        sector="UTILITIES",
        lot_size=r("10"),
        tick_bands=(TickBand(0, r("0.05")),),
        effective_from=dt.date(2025, 1, 1),
    )
    table = InstrumentTable([new, old])
    assert table.lookup("CHG", dt.date(2024, 12, 31)) is old
    assert table.lookup("CHG", dt.date(2025, 1, 1)) is new  # effective_to is exclusive
    table.validate_order("CHG", r("10.01"), r("7"), dt.date(2024, 6, 1))
    with pytest.raises(OffTickPrice, match=r"tick 0\.05"):
        table.validate_order("CHG", r("10.01"), r("10"), dt.date(2025, 6, 1))
    with pytest.raises(OddLotQuantity):
        table.validate_order("CHG", r("10.05"), r("7"), dt.date(2025, 6, 1))
    with pytest.raises(UnknownInstrument, match="'CHG' is not listed on 2019-12-31"):
        table.lookup("CHG", dt.date(2019, 12, 31))
    assert table.symbols(dt.date(2019, 12, 31)) == []
    assert table.sectors(dt.date(2026, 1, 1)) == {"CHG": "UTILITIES"}


def test_a_delisted_symbol_is_refused_after_its_last_day() -> None:
    table = InstrumentTable(
        [Instrument(symbol="GONE", effective_from=dt.date(2020, 1, 1), effective_to=DAY)]
    )
    table.validate_order("GONE", r("2"), r("1"), DAY - dt.timedelta(days=1))
    with pytest.raises(UnknownInstrument, match="not listed"):
        table.validate_order("GONE", r("2"), r("1"), DAY)


def test_overlapping_versions_and_bad_bands_are_refused() -> None:
    with pytest.raises(ReferenceDataError, match="overlap"):
        InstrumentTable(
            [
                Instrument(symbol="A", effective_from=dt.date(2020, 1, 1)),
                Instrument(symbol="A", effective_from=dt.date(2021, 1, 1)),
            ]
        )
    with pytest.raises(ReferenceDataError, match="start at 0"):
        Instrument(symbol="A", tick_bands=(TickBand(DOLLAR, r("0.01")),))
    with pytest.raises(ReferenceDataError, match="ascending"):
        Instrument(symbol="A", tick_bands=(TickBand(0, 1), TickBand(5, 1), TickBand(5, 2)))
    with pytest.raises(ReferenceDataError, match="lot size"):
        Instrument(symbol="A", lot_size=0)
    with pytest.raises(ReferenceDataError, match="effective_to"):
        Instrument(symbol="A", effective_from=DAY, effective_to=DAY)


def test_json_file_round_trips_and_honours_dates(tmp_path: Path) -> None:
    path = tmp_path / "instruments.json"
    path.write_text(
        """{"instruments": [
          {"symbol": "AAPL", "sector": "TECHNOLOGY", "effective_from": "2024-01-02"},
          {"symbol": "PNY", "lot_size": "100",
           "tick_bands": [{"from": "0", "tick": "0.0001"}, {"from": "1", "tick": "0.005"}],
           "effective_from": "2024-01-02", "effective_to": "2026-01-01"}
        ]}"""
    )
    table = InstrumentTable.load(path)
    assert table.lookup("AAPL", DAY).tick_bands == RULE_612_BANDS
    assert table.lookup("AAPL", DAY).sector == "TECHNOLOGY"
    table.validate_order("PNY", r("2.005"), r("200"), dt.date(2025, 6, 1))
    with pytest.raises(UnknownInstrument):
        table.lookup("PNY", DAY)
    with pytest.raises(UnknownInstrument):
        table.lookup("AAPL", dt.date(2024, 1, 1))
    again = InstrumentTable.from_json(table.to_json())
    assert sorted(again, key=lambda i: i.symbol) == sorted(table, key=lambda i: i.symbol)


@pytest.mark.parametrize(
    "text",
    [
        b"{}",
        b'{"instruments": [{"symbol": "A", "lot_size": "0.0000000001"}]}',
        b'{"instruments": [{"symbol": "A", "colour": "red"}]}',
        b'{"instruments": [{"symbol": "A", "effective_from": "yesterday"}]}',
        b"not json",
    ],
)
def test_malformed_data_files_are_refused(text: bytes) -> None:
    with pytest.raises(ReferenceDataError, match="bad instrument data"):
        InstrumentTable.from_json(text)


def test_extended_adds_listings_to_a_table(table: InstrumentTable) -> None:
    wider = table.extended(listing(["AAPL"]))
    assert wider.lookup("AAPL", DAY).symbol == "AAPL"
    assert wider.lookup("SIM0000", DAY).sector == SECTORS[0]
    with pytest.raises(UnknownInstrument):
        table.lookup("AAPL", DAY)


def test_the_simulated_universe_is_the_simulator_and_market_data_list(
    table: InstrumentTable,
) -> None:
    result = simulate(_small_sim())
    assert result.symbols == [symbol_name(i) for i in range(len(result.symbols))]
    assert all(table.get(s, DAY) is not None for s in result.symbols)
    history = generate_history(
        HistoryConfig(n_symbols=13, n_days=3, symbols=tuple(symbol_name(i) for i in range(13)))
    )
    sectors = table.sectors(DAY)
    assert dict(zip(history.symbols, history.sectors, strict=True)) == {
        s: sectors[s] for s in history.symbols
    }
    assert table.get("SIM9999", DAY) is not None and table.get("SIM10000", DAY) is None


def test_the_simulators_orders_pass_the_table(table: InstrumentTable) -> None:
    result = simulate(_small_sim())
    day = utc_date(result.config.start_ns)
    actions = list(result.iter_actions())
    assert actions
    for action in actions:
        if action.op == "cancel":
            continue
        table.validate_order(action.symbol, action.price or None, action.quantity, day)


def test_utc_date_of_event_time() -> None:
    ts = int(dt.datetime(2026, 12, 4, 23, 59, 59, tzinfo=dt.UTC).timestamp()) * 10**9
    assert utc_date(ts) == DAY
    assert utc_date(ts + 10**9) == DAY + dt.timedelta(days=1)


def _small_sim() -> SimConfig:
    return SimConfig(symbols=3, users=20, seconds=2.0, orders_per_second=50.0)
