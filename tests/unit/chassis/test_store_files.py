"""Migration files and money column codecs (no database needed)."""

from __future__ import annotations

import decimal
from pathlib import Path

import pytest

from nexus.money import Fixed, Money
from nexus.store import (
    MigrationError,
    fixed_from_db,
    fixed_to_db,
    load_migrations,
    money_from_db,
)


def test_migrations_load_in_version_order_ignoring_other_files(tmp_path: Path) -> None:
    (tmp_path / "010_later.sql").write_text("SELECT 2;")
    (tmp_path / "002_first.sql").write_text("SELECT 1;")
    (tmp_path / "README.md").write_text("notes")
    (tmp_path / "3_bad_name.sql").write_text("SELECT 3;")
    migrations = load_migrations(tmp_path)
    assert [(m.version, m.name) for m in migrations] == [(2, "first"), (10, "later")]
    assert len(migrations[0].checksum) == 64


def test_duplicate_migration_versions_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "001_a.sql").write_text("SELECT 1;")
    (tmp_path / "001_b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError):
        load_migrations(tmp_path)


def test_money_columns_round_trip_through_numeric_exactly() -> None:
    price = Fixed("101.123456789")
    assert fixed_to_db(price) == decimal.Decimal("101.123456789")
    assert fixed_from_db(fixed_to_db(price)) == price
    notional = Money("12345678901234567890.5")
    assert money_from_db(fixed_to_db(notional)) == notional
