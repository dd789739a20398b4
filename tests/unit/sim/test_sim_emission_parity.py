"""The simulator's event kernel and the MatchingEngine follow one emission rule, STP included.

The simulator's own flow sends no self-trade prevention and no post-only orders, so the
stream parity test (``test_sim_engine_parity``) never reaches those branches of the rule. Here
random flows with shared accounts, all three STP modes, IOC orders, amends and cancels go
through ``Book.apply_batch`` + :func:`nexus.sim.kernels.emit_events` and, one command at a
time, through :class:`MatchingEngine`; the rows and the events must say the same thing.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import numpy.typing as npt
import pytest

from nexus._ext.book import Book
from nexus.events import OrderAmend, OrderCancel, OrderExpire, OrderFill, OrderNew, Trade
from nexus.matching import (
    AmendOrder,
    CancelOrder,
    EngineEvent,
    MatchingEngine,
    OrderNotOpen,
    SubmitOrder,
    UnknownOrder,
)
from nexus.matching.emission import CAUSE_STP, CAUSE_USER
from nexus.matching.engine import STP_REASON
from nexus.sim import kernels
from nexus.sim.layout import (
    A_ACCOUNT,
    A_HANDLE,
    A_OP,
    A_PRICE,
    A_QTY,
    A_SIDE,
    A_STP,
    A_TIF,
    A_TS,
    ACTION_COLUMNS,
    E_AUX1,
    E_AUX2,
    E_FLAG,
    E_H1,
    E_H2,
    E_KIND,
    E_PRICE,
    E_QTY,
    E_SEQ,
    E_SIDE,
    EVENT_COLUMNS,
    K_AMEND,
    K_CANCEL,
    K_EXPIRE,
    K_FILL,
    K_NEW,
    K_TRADE,
    OP_AMEND,
    OP_CANCEL,
    OP_SUBMIT,
    TIF_GTC,
    TIF_IOC,
)

I64 = npt.NDArray[np.int64]
P = 1_000_000_000
SYM = "ABC"
SIDES = ("BUY", "SELL")
TIFS = {TIF_GTC: "GTC", TIF_IOC: "IOC"}
STPS = ("OFF", "CANCEL_NEWEST", "CANCEL_OLDEST")
Row = tuple[int, ...]


def random_flow(seed: int, n: int) -> I64:
    """``n`` actions on one symbol: submits (3 accounts, 3 STP modes, GTC or IOC), amends, cancels."""
    rng = random.Random(seed)
    rows: list[list[int]] = []
    handles: list[int] = []
    for i in range(n):
        row = [0] * ACTION_COLUMNS
        row[A_TS] = i
        roll = rng.random()
        if handles and roll < 0.15:
            row[A_OP], row[A_HANDLE] = OP_CANCEL, rng.choice(handles)
        elif handles and roll < 0.3:
            row[A_OP], row[A_HANDLE] = OP_AMEND, rng.choice(handles)
            row[A_PRICE] = (100 + rng.randint(-3, 3)) * P
            row[A_QTY] = rng.randint(1, 6) * P
        else:
            handle = len(handles)
            handles.append(handle)
            row[A_OP], row[A_HANDLE] = OP_SUBMIT, handle
            row[A_SIDE] = rng.randint(0, 1)
            row[A_PRICE] = (100 + rng.randint(-3, 3)) * P
            row[A_QTY] = rng.randint(1, 6) * P
            row[A_ACCOUNT] = rng.randint(1, 3)
            row[A_TIF] = TIF_IOC if rng.random() < 0.2 else TIF_GTC
            row[A_STP] = rng.randint(0, 2)
        rows.append(row)
    return np.array(rows, dtype=np.int64)


def kernel_rows(actions: I64) -> list[Row]:
    """The simulator's path: one batch through the compiled book, then the event kernel."""
    n_orders = int(actions[:, A_HANDLE].max()) + 1
    side_of = np.zeros(n_orders, dtype=np.int64)
    submits = actions[actions[:, A_OP] == OP_SUBMIT]
    side_of[submits[:, A_HANDLE]] = submits[:, A_SIDE]
    price_of = np.zeros(n_orders, dtype=np.int64)
    open_of = np.zeros(n_orders, dtype=np.int64)
    book = Book()
    results = book.apply_batch(np.ascontiguousarray(actions[:, A_OP : A_STP + 1]))
    fills = book.fills_array()
    out = np.empty((2 * len(actions) + 3 * len(fills), EVENT_COLUMNS), dtype=np.int64)
    k = kernels.emit_events(actions, results, fills, side_of, price_of, open_of, 0, 0, out)
    rows: list[Row] = []
    seq_of_row = out[:k, E_SEQ]
    assert list(seq_of_row) == list(range(k))
    for r in out[:k]:
        kind = int(r[E_KIND])
        aux2 = int(r[E_AUX2]) if kind in (K_AMEND, K_FILL) else 0
        rows.append(
            (
                kind,
                int(r[E_H1]),
                int(r[E_H2]),
                int(r[E_SIDE]),
                int(r[E_PRICE]),
                int(r[E_QTY]),
                int(r[E_AUX1]),
                aux2,
                int(r[E_FLAG]),
            )
        )
    return rows


def _handle(order_id: str) -> int:
    return int(order_id[1:])


def engine_rows(actions: I64) -> list[Row]:
    """The engine's path: one command at a time, each event written as the kernel's row."""
    engine = MatchingEngine()
    events: list[EngineEvent] = []
    side_of: dict[int, int] = {}
    for a in actions.tolist():
        h = a[A_HANDLE]
        try:
            if a[A_OP] == OP_SUBMIT:
                side_of[h] = a[A_SIDE]
                cmd = SubmitOrder(
                    order_id=f"o{h}",
                    user_id=f"u{a[A_ACCOUNT]}",
                    account_id=f"a{a[A_ACCOUNT]}",
                    symbol=SYM,
                    side=SIDES[a[A_SIDE]],  # type: ignore[arg-type]
                    price=a[A_PRICE],
                    quantity=a[A_QTY],
                    time_in_force=TIFS[a[A_TIF]],  # type: ignore[arg-type]
                    stp=STPS[a[A_STP]],  # type: ignore[arg-type]
                    ts_event=a[A_TS],
                )
                events += engine.submit(cmd)
            elif a[A_OP] == OP_AMEND:
                amend = AmendOrder(
                    order_id=f"o{h}", price=a[A_PRICE], quantity=a[A_QTY], ts_event=a[A_TS]
                )
                events += engine.amend(amend)
            else:
                events += engine.cancel(CancelOrder(order_id=f"o{h}", ts_event=a[A_TS]))
        except (UnknownOrder, OrderNotOpen):
            pass  # too late: the kernel's book answers the same action with nothing
    seq_of = {e.event_id: i for i, e in enumerate(events)}
    rows: list[Row] = []
    for e in events:
        if isinstance(e, OrderNew):
            h = _handle(e.order_id)
            rows.append((K_NEW, h, -1, side_of[h], e.price, e.quantity, 0, 0, int(e.post_only)))
        elif isinstance(e, OrderAmend):
            h = _handle(e.order_id)
            rows.append(
                (
                    K_AMEND,
                    h,
                    -1,
                    side_of[h],
                    e.price,
                    e.quantity,
                    e.old_price,
                    e.old_quantity,
                    int(e.keeps_priority),
                )
            )
        elif isinstance(e, OrderCancel):
            h = _handle(e.order_id)
            cause = CAUSE_STP if e.reason == STP_REASON else CAUSE_USER
            rows.append((K_CANCEL, h, -1, side_of[h], e.price, e.cancelled_quantity, 0, 0, cause))
        elif isinstance(e, OrderExpire):
            h = _handle(e.order_id)
            rows.append((K_EXPIRE, h, -1, side_of[h], e.price, e.expired_quantity, 0, 0, 0))
        elif isinstance(e, Trade):
            buy, sell = _handle(e.buy_order_id), _handle(e.sell_order_id)
            side = SIDES.index(e.aggressor_side)
            rows.append((K_TRADE, buy, sell, side, e.price, e.quantity, 0, 0, 0))
        else:
            assert isinstance(e, OrderFill)
            h = _handle(e.order_id)
            rows.append(
                (
                    K_FILL,
                    h,
                    -1,
                    side_of[h],
                    e.price,
                    e.quantity,
                    e.leaves_quantity,
                    seq_of[e.trade_id],
                    int(e.aggressor),
                )
            )
    return rows


@pytest.mark.parametrize("seed", range(8))
def test_kernel_rows_are_the_engine_events_with_stp_and_ioc(seed: int) -> None:
    actions = random_flow(seed, 400)
    ours = kernel_rows(actions)
    theirs = engine_rows(actions)
    assert ours == theirs
    kinds = {row[0] for row in ours}
    assert {K_NEW, K_AMEND, K_CANCEL, K_TRADE, K_FILL} <= kinds


def test_the_flows_reach_every_branch_of_the_rule() -> None:
    """Both STP outcomes and IOC expiry occur in the flows above (else the test proves less)."""
    stp_maker = stp_taker = expired = 0
    for seed in range(8):
        rows = engine_rows(random_flow(seed, 400))
        for prev, row in itertools.pairwise(rows):
            if row[0] == K_CANCEL and row[8] == CAUSE_STP:
                # a taker stopped by STP follows its own events; a resting victim does not
                if prev[1] == row[1]:
                    stp_taker += 1
                else:
                    stp_maker += 1
        expired += sum(row[0] == K_EXPIRE for row in rows)
    assert stp_maker and stp_taker and expired
