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
from nexus.sim import layout as lay

I64 = npt.NDArray[np.int64]
P = 1_000_000_000
SYM = "ABC"
SIDES = ("BUY", "SELL")
TIFS = {lay.TIF_GTC: "GTC", lay.TIF_IOC: "IOC"}
STPS = ("OFF", "CANCEL_NEWEST", "CANCEL_OLDEST")
Row = tuple[int, ...]


def random_flow(seed: int, n: int) -> I64:
    """``n`` actions on one symbol: submits (3 accounts, 3 STP modes, GTC or IOC), amends, cancels."""
    rng = random.Random(seed)
    rows: list[list[int]] = []
    handles: list[int] = []
    for i in range(n):
        row = [0] * lay.ACTION_COLUMNS
        row[lay.A_TS] = i
        roll = rng.random()
        if handles and roll < 0.15:
            row[lay.A_OP], row[lay.A_HANDLE] = lay.OP_CANCEL, rng.choice(handles)
        elif handles and roll < 0.3:
            row[lay.A_OP], row[lay.A_HANDLE] = lay.OP_AMEND, rng.choice(handles)
            row[lay.A_PRICE] = (100 + rng.randint(-3, 3)) * P
            row[lay.A_QTY] = rng.randint(1, 6) * P
        else:
            handle = len(handles)
            handles.append(handle)
            row[lay.A_OP], row[lay.A_HANDLE] = lay.OP_SUBMIT, handle
            row[lay.A_SIDE] = rng.randint(0, 1)
            row[lay.A_PRICE] = (100 + rng.randint(-3, 3)) * P
            row[lay.A_QTY] = rng.randint(1, 6) * P
            row[lay.A_ACCOUNT] = rng.randint(1, 3)
            row[lay.A_TIF] = lay.TIF_IOC if rng.random() < 0.2 else lay.TIF_GTC
            row[lay.A_STP] = rng.randint(0, 2)
        rows.append(row)
    return np.array(rows, dtype=np.int64)


def kernel_rows(actions: I64) -> list[Row]:
    """The simulator's path: one batch through the compiled book, then the event kernel."""
    n_orders = int(actions[:, lay.A_HANDLE].max()) + 1
    side_of = np.zeros(n_orders, dtype=np.int64)
    submits = actions[actions[:, lay.A_OP] == lay.OP_SUBMIT]
    side_of[submits[:, lay.A_HANDLE]] = submits[:, lay.A_SIDE]
    price_of = np.zeros(n_orders, dtype=np.int64)
    open_of = np.zeros(n_orders, dtype=np.int64)
    book = Book()
    results = book.apply_batch(np.ascontiguousarray(actions[:, lay.A_OP : lay.A_STP + 1]))
    fills = book.fills_array()
    out = np.empty((2 * len(actions) + 3 * len(fills), lay.EVENT_COLUMNS), dtype=np.int64)
    k = kernels.emit_events(actions, results, fills, side_of, price_of, open_of, 0, 0, out)
    rows: list[Row] = []
    seq_of_row = out[:k, lay.E_SEQ]
    assert list(seq_of_row) == list(range(k))
    for r in out[:k]:
        kind = int(r[lay.E_KIND])
        aux2 = int(r[lay.E_AUX2]) if kind in (lay.K_AMEND, lay.K_FILL) else 0
        rows.append(
            (
                kind,
                int(r[lay.E_H1]),
                int(r[lay.E_H2]),
                int(r[lay.E_SIDE]),
                int(r[lay.E_PRICE]),
                int(r[lay.E_QTY]),
                int(r[lay.E_AUX1]),
                aux2,
                int(r[lay.E_FLAG]),
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
        h = a[lay.A_HANDLE]
        try:
            if a[lay.A_OP] == lay.OP_SUBMIT:
                side_of[h] = a[lay.A_SIDE]
                cmd = SubmitOrder(
                    order_id=f"o{h}",
                    user_id=f"u{a[lay.A_ACCOUNT]}",
                    account_id=f"a{a[lay.A_ACCOUNT]}",
                    symbol=SYM,
                    side=SIDES[a[lay.A_SIDE]],  # type: ignore[arg-type]
                    price=a[lay.A_PRICE],
                    quantity=a[lay.A_QTY],
                    time_in_force=TIFS[a[lay.A_TIF]],  # type: ignore[arg-type]
                    stp=STPS[a[lay.A_STP]],  # type: ignore[arg-type]
                    ts_event=a[lay.A_TS],
                )
                events += engine.submit(cmd)
            elif a[lay.A_OP] == lay.OP_AMEND:
                amend = AmendOrder(
                    order_id=f"o{h}",
                    price=a[lay.A_PRICE],
                    quantity=a[lay.A_QTY],
                    ts_event=a[lay.A_TS],
                )
                events += engine.amend(amend)
            else:
                events += engine.cancel(CancelOrder(order_id=f"o{h}", ts_event=a[lay.A_TS]))
        except (UnknownOrder, OrderNotOpen):
            pass  # too late: the kernel's book answers the same action with nothing
    seq_of = {e.event_id: i for i, e in enumerate(events)}
    rows: list[Row] = []
    for e in events:
        if isinstance(e, OrderNew):
            h = _handle(e.order_id)
            rows.append((lay.K_NEW, h, -1, side_of[h], e.price, e.quantity, 0, 0, int(e.post_only)))
        elif isinstance(e, OrderAmend):
            h = _handle(e.order_id)
            rows.append(
                (
                    lay.K_AMEND,
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
            rows.append(
                (lay.K_CANCEL, h, -1, side_of[h], e.price, e.cancelled_quantity, 0, 0, cause)
            )
        elif isinstance(e, OrderExpire):
            h = _handle(e.order_id)
            rows.append((lay.K_EXPIRE, h, -1, side_of[h], e.price, e.expired_quantity, 0, 0, 0))
        elif isinstance(e, Trade):
            buy, sell = _handle(e.buy_order_id), _handle(e.sell_order_id)
            side = SIDES.index(e.aggressor_side)
            rows.append((lay.K_TRADE, buy, sell, side, e.price, e.quantity, 0, 0, 0))
        else:
            assert isinstance(e, OrderFill)
            h = _handle(e.order_id)
            rows.append(
                (
                    lay.K_FILL,
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
    assert {lay.K_NEW, lay.K_AMEND, lay.K_CANCEL, lay.K_TRADE, lay.K_FILL} <= kinds


def test_the_flows_reach_every_branch_of_the_rule() -> None:
    """Both STP outcomes and IOC expiry occur in the flows above (else the test proves less)."""
    stp_maker = stp_taker = expired = 0
    for seed in range(8):
        rows = engine_rows(random_flow(seed, 400))
        for prev, row in itertools.pairwise(rows):
            if row[0] == lay.K_CANCEL and row[8] == CAUSE_STP:
                # a taker stopped by STP follows its own events; a resting victim does not
                if prev[1] == row[1]:
                    stp_taker += 1
                else:
                    stp_maker += 1
        expired += sum(row[0] == lay.K_EXPIRE for row in rows)
    assert stp_maker and stp_taker and expired
