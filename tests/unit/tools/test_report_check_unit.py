"""``tools.report_check`` pieces that need no database: its DSN and the raw-row rules."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from nexus.config import load_settings
from tools.report_check import RawParent, default_dsn, mid_at, type_606

S = 10**9


def test_the_configured_server_wins_over_the_embedded_one(tmp_path: Path) -> None:
    settings = replace(load_settings({}), pg_dsn="postgresql://u@db:5432/postgres")
    assert default_dsn(settings).endswith("/nexus_routing")
    routing = replace(load_settings({}), service_pg_dsns={"routing": "postgresql://x/r"})
    assert default_dsn(routing) == "postgresql://x/r"


def test_without_a_server_the_make_run_socket_directory_is_used(tmp_path: Path) -> None:
    settings = replace(load_settings({}), pg_dsn=None, data_dir=str(tmp_path))
    assert default_dsn(settings) == (
        f"postgresql://postgres@/nexus_routing?host={tmp_path / 'stack' / 'pgdata'}"
    )


def _parent(side: int, limit: str | None) -> RawParent:
    return RawParent(
        "P1",
        "SIM0001",
        side,
        Decimal(100),
        None if limit is None else Decimal(limit),
        0,
        bid=10 * S,
        ask=10 * S + S // 100,
    )


def test_order_types_follow_the_nbbo_at_receipt() -> None:
    assert type_606(_parent(1, None)) == "market"
    assert type_606(_parent(1, "10.01")) == "marketable_limit"
    assert type_606(_parent(1, "10.00")) == "non_marketable_limit"
    assert type_606(_parent(-1, "10.00")) == "marketable_limit"
    assert type_606(_parent(-1, "10.01")) == "non_marketable_limit"


def test_the_mid_is_the_last_quote_at_or_before_and_none_on_an_empty_side() -> None:
    quotes = [(100, 10 * S, 12 * S), (200, 0, 12 * S), (300, 20 * S, 22 * S)]
    assert mid_at(quotes, 99) is None
    assert mid_at(quotes, 100) == 11.0
    assert mid_at(quotes, 250) is None
    assert mid_at(quotes, 10**12) == 21.0
