"""PositionStore.apply_fills over an in-memory pool that keeps the SQL contract it relies on.

The fake answers exactly the statements the store sends (``LOCK_POSITIONS``, ``INSERT_FILL``
with ``ON CONFLICT (trade_id, side) DO NOTHING RETURNING``, ``UPSERT_POSITION``), inside a
transaction that is committed whole or rolled back whole, and hands NUMERIC columns back as
``Decimal`` as asyncpg does. What it checks is the store's own logic: one transaction per
batch, positions locked before any fill, a redelivered fill skipped, fills of one batch
chained through the same position, and what is written back read again exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus.money import Fixed, Money
from nexus.store import Database
from services.orders import store as sql
from services.orders.core import Fill, Position, apply_fill
from services.orders.store import PositionStore

Row = dict[str, Any]


class WriteFailed(Exception):
    """The fake server dropped the connection mid-transaction."""


class FakeConnection:
    def __init__(self, pool: FakePool) -> None:
        self._pool = pool
        self._fills: dict[tuple[str, str], Row] | None = None
        self._positions: dict[tuple[str, str], Row] | None = None
        self.statements: list[str] = []

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        assert self._fills is None, "nested transaction"
        self._fills, self._positions = dict(self._pool.fills), dict(self._pool.positions)
        try:
            yield
        except BaseException:
            self._pool.rolled_back += 1
            raise
        else:
            self._pool.fills, self._pool.positions = self._fills, self._positions
            self._pool.committed += 1
        finally:
            self._fills = self._positions = None

    def _tx(self) -> tuple[dict[tuple[str, str], Row], dict[tuple[str, str], Row]]:
        assert self._fills is not None and self._positions is not None, "outside a transaction"
        return self._fills, self._positions

    async def fetch(self, query: str, users: list[str], symbols: list[str]) -> list[Row]:
        assert query == sql.LOCK_POSITIONS
        self.statements.append("lock")
        _, positions = self._tx()
        self._pool.locked.append(list(zip(users, symbols, strict=True)))
        return [dict(positions[k]) for k in zip(users, symbols, strict=True) if k in positions]

    async def fetchval(self, query: str, *args: Any) -> str | None:
        assert query == sql.INSERT_FILL
        self.statements.append("insert")
        fills, _ = self._tx()
        trade_id, side = args[0], args[1]
        if (trade_id, side) in fills:
            return None
        names = ["trade_id", "side", "user_id", "account_id", "symbol", "price_raw"]
        names += ["quantity_raw", "order_id", "venue", "ts_event"]
        fills[(trade_id, side)] = dict(zip(names, args, strict=True))
        return str(trade_id)

    async def executemany(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        assert query == sql.UPSERT_POSITION
        self.statements.append("upsert")
        if self._pool.fail_upsert:
            raise WriteFailed("connection lost")
        _, positions = self._tx()
        for user, symbol, qty, avg_raw, realized, last_trade, last_ts, basis in rows:
            assert isinstance(realized, Decimal) and isinstance(basis, Decimal)
            positions[(user, symbol)] = {
                "user_id": user,
                "symbol": symbol,
                "quantity_raw": qty,
                "avg_cost_raw": avg_raw,
                "realized_pnl": realized,
                "last_trade_id": last_trade,
                "last_ts_event": last_ts,
                "cost_basis": basis,
            }


class FakePool:
    def __init__(self) -> None:
        self.fills: dict[tuple[str, str], Row] = {}
        self.positions: dict[tuple[str, str], Row] = {}
        self.committed = self.rolled_back = 0
        self.locked: list[list[tuple[str, str]]] = []
        self.connections: list[FakeConnection] = []
        self.fail_upsert = False

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[FakeConnection]:
        conn = FakeConnection(self)
        self.connections.append(conn)
        yield conn

    async def fetch(self, query: str, *args: Any) -> list[Row]:
        assert query == sql.SELECT_POSITIONS
        return [dict(r) for k, r in sorted(self.positions.items()) if k[0] == args[0]]


class FakeDatabase:
    def __init__(self) -> None:
        self.pool = FakePool()


def make_store() -> tuple[PositionStore, FakePool]:
    db = FakeDatabase()
    return PositionStore(cast(Database, db)), db.pool


def fill(n: int, side: str, qty: str, price: str, user: str = "u1", symbol: str = "AAPL") -> Fill:
    return Fill(
        trade_id=f"T{n}",
        user_id=user,
        account_id=f"acct-{user}",
        symbol=symbol,
        side=side,  # type: ignore[arg-type]
        price=Fixed(price),
        quantity=Fixed(qty),
        order_id=f"O{n}{side[0]}",
        ts_event=n,
        venue="NEXUS",
    )


def notional(quantity: str, price: str) -> Decimal:
    """Decimal reference of a fill's notional: exact, then half-even to Money's 9 places."""
    return (Decimal(quantity) * Decimal(price)).quantize(Decimal("1e-9"), ROUND_HALF_EVEN)


def fold(fills: Iterable[Fill]) -> dict[tuple[str, str], Position]:
    positions: dict[tuple[str, str], Position] = {}
    for f in fills:
        key = (f.user_id, f.symbol)
        positions[key] = apply_fill(positions.get(key) or Position(*key), f)
    return positions


async def test_a_batch_is_one_transaction_locking_its_positions_before_any_fill() -> None:
    store, pool = make_store()
    batch = [
        fill(1, "BUY", "10", "100", user="u2", symbol="MSFT"),
        fill(1, "SELL", "10", "100", user="u1", symbol="MSFT"),
        fill(2, "BUY", "5", "50", user="u1", symbol="AAPL"),
        fill(3, "BUY", "5", "51", user="u2", symbol="MSFT"),
    ]
    assert await store.apply_fills(batch) == 4
    assert (pool.committed, pool.rolled_back, len(pool.connections)) == (1, 0, 1)
    # every position of the batch locked once, in one sorted order (no lock-order deadlocks)
    assert pool.locked == [[("u1", "AAPL"), ("u1", "MSFT"), ("u2", "MSFT")]]
    assert pool.connections[0].statements == ["lock", *["insert"] * 4, "upsert"]
    assert set(pool.fills) == {("T1", "BUY"), ("T1", "SELL"), ("T2", "BUY"), ("T3", "BUY")}
    # two fills of one position in the batch chain: the second applies to the first's result
    [u2] = await store.positions("u2")
    assert (u2.symbol, u2.quantity, u2.cost_basis) == ("MSFT", Fixed("15"), Money("1255"))
    assert u2.last_trade_id == "T3" and u2.last_ts_event == 3


async def test_a_batch_that_fails_to_write_leaves_no_fill_and_no_position() -> None:
    store, pool = make_store()
    await store.apply_fills([fill(1, "BUY", "10", "100")])
    before = (dict(pool.fills), dict(pool.positions))
    pool.fail_upsert = True
    with pytest.raises(WriteFailed):
        await store.apply_fills([fill(2, "BUY", "10", "101"), fill(3, "SELL", "5", "102")])
    assert (pool.committed, pool.rolled_back) == (1, 1)
    assert (pool.fills, pool.positions) == before
    # so the redelivered batch is applied in full, not skipped as already seen
    pool.fail_upsert = False
    assert await store.apply_fills([fill(2, "BUY", "10", "101"), fill(3, "SELL", "5", "102")]) == 2
    [p] = await store.positions("u1")
    assert p.quantity == Fixed("15")
    assert p.realized_pnl == Money("7.5")  # 5 x (102 - 100.5)


async def test_a_redelivered_trade_side_is_applied_once() -> None:
    store, pool = make_store()
    first = [fill(1, "BUY", "10", "100"), fill(1, "SELL", "10", "100", user="u2")]
    assert await store.apply_fills(first) == 2
    # the same trade again, in a later batch beside a new one, and twice within one batch
    again = [*first, fill(2, "BUY", "1", "99"), fill(2, "BUY", "1", "99")]
    assert await store.apply_fills(again) == 1
    [u1] = await store.positions("u1")
    [u2] = await store.positions("u2")
    assert u1.quantity == Fixed("11") and u1.cost_basis == Money("1099")
    assert u2.quantity == Fixed("-10") and u2.cost_basis == Money("-1000")
    assert u1.last_trade_id == "T2"
    # a batch of nothing but redeliveries changes no position
    written = dict(pool.positions)
    assert await store.apply_fills(again) == 0
    assert pool.positions == written


async def test_the_other_side_of_a_stored_trade_is_not_a_redelivery() -> None:
    store, _ = make_store()
    assert await store.apply_fills([fill(1, "BUY", "10", "100")]) == 1
    # same trade id, other side, same user (a self-trade): a fill of its own
    assert await store.apply_fills([fill(1, "SELL", "4", "100")]) == 1
    [p] = await store.positions("u1")
    assert p.quantity == Fixed("6")


async def test_a_fill_larger_than_the_position_flips_it_across_batches() -> None:
    store, _ = make_store()
    await store.apply_fills([fill(1, "BUY", "100", "10")])
    await store.apply_fills([fill(2, "SELL", "150", "11")])  # closes 100 at +1, opens 50 short
    [p] = await store.positions("u1")
    assert p.quantity == Fixed("-50")
    assert p.cost_basis == Money("-550")
    assert p.avg_cost == Fixed("11")
    assert p.realized_pnl == Money("100")
    await store.apply_fills([fill(3, "BUY", "80", "10.5")])  # covers 50 at +0.5, opens 30 long
    [p] = await store.positions("u1")
    assert p.quantity == Fixed("30")
    assert p.cost_basis == Money("315")
    assert p.realized_pnl == Money("125")


async def test_realized_pnl_is_exact_against_decimal_through_the_stored_numeric() -> None:
    store, pool = make_store()
    prices = ["10.01", "10.04", "9.97", "10.13"]
    buys = [fill(n, "BUY", "33.333333333", p) for n, p in enumerate(prices)]
    await store.apply_fills(buys[:2])
    await store.apply_fills(buys[2:])
    await store.apply_fills([fill(9, "SELL", "133.333333332", "10.07")])  # the whole position
    # each notional has 11 places: Money keeps 9, each one rounded half-even (as documented)
    cost = sum((notional("33.333333333", p) for p in prices), Decimal(0))
    expected = notional("133.333333332", "10.07") - cost
    assert expected == Decimal("4.333333334")  # the unrounded products give 4.33333333329
    [p] = await store.positions("u1")
    assert p.quantity == Fixed(0) and p.cost_basis == Money(0)
    assert p.realized_pnl.to_decimal() == expected
    assert pool.positions[("u1", "AAPL")]["realized_pnl"] == expected  # the NUMERIC written


sides = st.sampled_from(["BUY", "SELL"])
fills_st = st.lists(
    st.tuples(
        sides,
        st.integers(1, 10_000).map(lambda q: str(Fixed.from_raw(q * 1_000_000))),  # 0.001 lots
        st.integers(1, 100_000).map(lambda c: str(Fixed.from_raw(c * 10_000_000))),  # 0.01 ticks
        st.sampled_from(["u1", "u2"]),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(fills_st, st.lists(st.integers(1, 5), max_size=30), st.data())
def test_batches_with_redeliveries_end_where_the_fills_applied_once_do(
    spec: list[tuple[str, str, str, str]], cuts: list[int], data: st.DataObject
) -> None:
    all_fills = [fill(n, side, q, p, user=u) for n, (side, q, p, u) in enumerate(spec)]
    batches: list[list[Fill]] = []
    i = 0
    for size in cuts:
        if i >= len(all_fills):
            break
        batch = all_fills[i : i + size]
        # a redelivery of fills already sent (at-least-once delivery) rides along
        batch += data.draw(st.lists(st.sampled_from(all_fills[: i + 1]), max_size=3))
        batches.append(batch)
        i += size
    batches.append(all_fills[i:])

    async def run() -> tuple[int, list[Position]]:
        store, _ = make_store()
        new = 0
        for batch in batches:
            new += await store.apply_fills(batch)
        return new, await store.positions("u1") + await store.positions("u2")

    new, stored = asyncio.run(run())
    assert new == len(all_fills)
    assert {(p.user_id, p.symbol): p for p in stored} == fold(all_fills)
    for p in stored:  # realized P&L minus what is held at cost is the cash paid, exactly
        cash = sum(
            (
                (-1 if f.side == "BUY" else 1) * f.quantity.to_decimal() * f.price.to_decimal()
                for f in all_fills
                if f.user_id == p.user_id
            ),
            Decimal(0),
        )
        assert p.realized_pnl.to_decimal() - p.cost_basis.to_decimal() == cash
