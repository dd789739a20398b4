"""Migrations, idempotent inserts and money columns against real PostgreSQL."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from nexus.config import with_database
from nexus.money import Fixed, Money
from nexus.store import (
    MigrationChecksumError,
    create_pool,
    drop_database,
    ensure_database,
    fixed_from_db,
    fixed_to_db,
    insert_idempotent,
    migrate,
    migrate_dsn,
    money_from_db,
)

pytestmark = pytest.mark.integration

MIGRATIONS = {
    "001_fills.sql": """
        CREATE TABLE fills (
            fill_id   TEXT PRIMARY KEY,
            price     NUMERIC(38, 9) NOT NULL,
            notional  NUMERIC(38, 9) NOT NULL,
            qty_raw   BIGINT NOT NULL
        );
    """,
    "002_counter.sql": """
        CREATE TABLE applied_log (n SERIAL PRIMARY KEY, note TEXT NOT NULL);
        INSERT INTO applied_log (note) VALUES ('002 ran');
    """,
}


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    for name, sql in MIGRATIONS.items():
        (tmp_path / name).write_text(textwrap.dedent(sql))
    return tmp_path


async def test_migrating_twice_applies_once(fresh_db: str, migrations_dir: Path) -> None:
    assert await migrate_dsn(fresh_db, migrations_dir) == [1, 2]
    assert await migrate_dsn(fresh_db, migrations_dir) == []
    conn = await asyncpg.connect(fresh_db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM applied_log") == 1
        versions = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in versions] == [1, 2]
    finally:
        await conn.close()


async def test_concurrent_migrations_in_one_process_apply_once(
    fresh_db: str, migrations_dir: Path
) -> None:
    results = await asyncio.gather(*(migrate_dsn(fresh_db, migrations_dir) for _ in range(4)))
    assert sorted(map(tuple, results)) == [(), (), (), (1, 2)]


async def test_concurrent_migrations_in_two_processes_apply_once(
    fresh_db: str, migrations_dir: Path
) -> None:
    script = (
        "import asyncio, sys; from nexus.store import migrate_dsn; "
        "print(asyncio.run(migrate_dsn(sys.argv[1], sys.argv[2])))"
    )
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            script,
            fresh_db,
            str(migrations_dir),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = []
    for proc in procs:
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        outputs.append(out.decode().strip())
    assert sorted(outputs) == ["[1, 2]", "[]"]
    conn = await asyncpg.connect(fresh_db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM applied_log") == 1
    finally:
        await conn.close()


async def test_changed_applied_migration_raises_checksum_error(
    fresh_db: str, migrations_dir: Path
) -> None:
    await migrate_dsn(fresh_db, migrations_dir)
    (migrations_dir / "001_fills.sql").write_text("CREATE TABLE fills (x INT);")
    conn = await asyncpg.connect(fresh_db)
    try:
        with pytest.raises(MigrationChecksumError):
            await migrate(conn, migrations_dir)
        # the advisory lock was released: another runner is not blocked
        assert await conn.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0
    finally:
        await conn.close()


async def test_ensure_database_is_idempotent_and_race_tolerant(fresh_db: str) -> None:
    assert await ensure_database(fresh_db) is False
    name = urlsplit(fresh_db).path.lstrip("/")
    target = with_database(fresh_db, name + "_race")
    try:
        results = await asyncio.gather(*(ensure_database(target) for _ in range(3)))
        assert results.count(True) <= 1
        conn = await asyncpg.connect(target)
        await conn.close()
    finally:
        await drop_database(target)


async def test_idempotent_insert_reports_first_insert_only_and_money_is_exact(
    chassis_db: str, migrations_dir: Path
) -> None:
    await migrate_dsn(chassis_db, migrations_dir)
    pool = await create_pool(chassis_db)
    try:
        row = {
            "fill_id": "f-1",
            "price": fixed_to_db(Fixed("101.123456789")),
            "notional": fixed_to_db(Money("99999999999999999999.000000001")),
            "qty_raw": Fixed("3.5").raw,
        }
        assert await insert_idempotent(pool, "fills", row, conflict=("fill_id",)) is True
        assert await insert_idempotent(pool, "fills", row, conflict=("fill_id",)) is False
        stored = await pool.fetchrow("SELECT * FROM fills WHERE fill_id = 'f-1'")
        assert stored is not None
        assert fixed_from_db(stored["price"]) == Fixed("101.123456789")
        assert money_from_db(stored["notional"]) == Money("99999999999999999999.000000001")
        assert Fixed.from_raw(stored["qty_raw"]) == Fixed("3.5")
    finally:
        await pool.close()
