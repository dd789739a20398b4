"""PostgreSQL helpers: pools, database creation, migrations, idempotent inserts, money codecs.

Migrations are ``NNN_name.sql`` files in a service's ``migrations/`` directory, applied in
version order, each in its own transaction, recorded in ``schema_migrations`` with a SHA-256
checksum. The runner holds a session advisory lock, so two processes migrating at once are
safe (the second waits, then finds nothing to do). Editing an applied file raises
:class:`MigrationChecksumError`.

Money columns are ``NUMERIC(38, 9)`` (read/write with :func:`fixed_to_db` /
:func:`fixed_from_db` / :func:`money_from_db`) or ``BIGINT`` raw fixed-point
(``Fixed.from_raw(row["price_raw"])`` / ``price.raw``). Never ``float``/``double precision``.
"""

from __future__ import annotations

import decimal
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import asyncpg

from nexus.config import with_database
from nexus.errors import NexusError
from nexus.money import Fixed, Money


class Database(Protocol):
    """Something holding a service's pool once it has started (the service runtime): what
    every store is given, so a store can be built before the pool exists."""

    @property
    def pool(self) -> asyncpg.Pool: ...


#: Advisory lock key of the migrations runner (per database).
MIGRATIONS_LOCK_KEY = 0x6E65787573  # "nexus"

_MIGRATION_FILE = re.compile(r"^(\d{3,})_([A-Za-z0-9_]+)\.sql$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    checksum    TEXT NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


class MigrationError(NexusError):
    """The migrations directory or a migration is invalid."""


class MigrationChecksumError(MigrationError):
    """An applied migration's file changed since it was applied."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str
    checksum: str


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, **kwargs: Any
) -> asyncpg.Pool:
    """An asyncpg pool on ``dsn`` (pass ``init=`` etc. through ``kwargs``)."""
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, **kwargs)
    if pool is None:  # only None when the pool is not awaited; keeps the type honest
        raise MigrationError("asyncpg returned no pool")
    return pool


async def ensure_database(dsn: str, *, maintenance_db: str = "postgres") -> bool:
    """Create the database named in ``dsn`` if missing; True if this call created it.

    Safe when several processes race: losing the race is not an error.
    """
    name = urlsplit(dsn).path.lstrip("/")
    if not _IDENTIFIER.match(name):
        raise MigrationError(f"refusing to create database with unsafe name {name!r}")
    conn = await asyncpg.connect(with_database(dsn, maintenance_db))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            return False
        return True
    finally:
        await conn.close()


async def drop_database(dsn: str, *, maintenance_db: str = "postgres") -> None:
    """Drop the database named in ``dsn`` if present (tests), closing other sessions."""
    name = urlsplit(dsn).path.lstrip("/")
    if not _IDENTIFIER.match(name):
        raise MigrationError(f"refusing to drop database with unsafe name {name!r}")
    conn = await asyncpg.connect(with_database(dsn, maintenance_db))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def load_migrations(directory: str | Path) -> list[Migration]:
    """The ``NNN_name.sql`` files of ``directory`` in version order (other files ignored)."""
    found: dict[int, Migration] = {}
    for path in sorted(Path(directory).iterdir()):
        match = _MIGRATION_FILE.match(path.name)
        if match is None:
            continue
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations share version {version} in {directory}")
        sql = path.read_text(encoding="utf-8")
        checksum = hashlib.sha256(sql.encode()).hexdigest()
        found[version] = Migration(version, match.group(2), sql, checksum)
    return [found[v] for v in sorted(found)]


async def migrate(
    conn: asyncpg.Connection, directory: str | Path, *, lock_key: int = MIGRATIONS_LOCK_KEY
) -> list[int]:
    """Apply the pending migrations of ``directory`` on ``conn``; returns applied versions.

    Running twice is a no-op; concurrent runners serialise on a session advisory lock.
    """
    migrations = load_migrations(directory)
    await conn.execute("SELECT pg_advisory_lock($1)", lock_key)
    try:
        await conn.execute(_SCHEMA_MIGRATIONS)
        rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
        applied = {row["version"]: row["checksum"] for row in rows}
        done: list[int] = []
        for migration in migrations:
            known = applied.get(migration.version)
            if known is not None:
                if known != migration.checksum:
                    raise MigrationChecksumError(
                        f"migration {migration.version:03d}_{migration.name} changed after "
                        "it was applied; add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            done.append(migration.version)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)


async def migrate_dsn(dsn: str, directory: str | Path, *, create: bool = True) -> list[int]:
    """Create the database if asked, then :func:`migrate` it over a dedicated connection."""
    if create:
        await ensure_database(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        return await migrate(conn, directory)
    finally:
        await conn.close()


async def execute_idempotent(conn: asyncpg.Connection | asyncpg.Pool, sql: str, *args: Any) -> bool:
    """Run an ``INSERT ... ON CONFLICT DO NOTHING``; True if a row was inserted."""
    status: str = await conn.execute(sql, *args)
    return status.rsplit(" ", 1)[-1] != "0"


async def insert_idempotent(
    conn: asyncpg.Connection | asyncpg.Pool,
    table: str,
    values: dict[str, Any],
    *,
    conflict: tuple[str, ...] = (),
) -> bool:
    """``INSERT INTO table (...) VALUES (...) ON CONFLICT [(conflict)] DO NOTHING``.

    True if this call inserted the row, False if a row with the same key already existed.
    """
    columns = list(values)
    for name in (table, *columns, *conflict):
        if not _IDENTIFIER.match(name):
            raise ValueError(f"not a safe SQL identifier: {name!r}")
    target = f" ({', '.join(conflict)})" if conflict else ""
    placeholders = ", ".join(f"${i + 1}" for i in range(len(columns)))
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) "
        f"ON CONFLICT{target} DO NOTHING"
    )
    return await execute_idempotent(conn, sql, *values.values())


def fixed_to_db(value: Fixed | Money) -> decimal.Decimal:
    """A ``NUMERIC(38, 9)`` parameter of an exact value."""
    return value.to_decimal()


def fixed_from_db(value: decimal.Decimal) -> Fixed:
    """A :class:`Fixed` from a ``NUMERIC`` column (exact; raises if not representable)."""
    return Fixed.from_decimal(value)


def money_from_db(value: decimal.Decimal) -> Money:
    """A :class:`Money` from a ``NUMERIC`` column (exact; raises if not representable)."""
    return Money.from_decimal(value)
