"""The emission rule: which events one book operation causes, in which order, with what values.

The one definition shared by :class:`nexus.matching.MatchingEngine` (which turns each event
into an ``nexus.events`` object) and the simulator's batch kernel (``nexus.sim.kernels``, which
turns each into an int64 event row without making a Python object). Both functions are plain
Python and Numba-compatible source: the engine calls them as they are (over
:meth:`nexus.book.Book.fills` tuples); ``nexus.sim.kernels`` compiles the same functions with
``@njit`` (this module does not import Numba, so the service does not pay for it) and calls
them over ``Book.fills_array()`` rows.

An accepted operation publishes, in this order:

1. its order event - :func:`operation_events` says which (NEW, AMEND or a user CANCEL; none for
   a reject or a cancel of nothing) and whether fill records follow;
2. per fill record, :func:`fill_events`: a TRADE, the maker's FILL and the taker's FILL, or for
   a self-trade-prevention record the resting order's CANCEL;
3. the taker's end, also from :func:`operation_events`: EXPIRE for an IOC remainder, CANCEL for
   a remainder stopped by self-trade prevention, none when it rested or filled.

A rejected operation changes nothing and emits nothing here (the engine answers it with its own
``OrderReject``, as it does for a halt that never reaches the book).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Final, TypeAlias

from nexus.book import (
    AMENDED,
    EXPIRED,
    FILL_STP_CANCEL,
    OP_AMEND,
    OP_CANCEL,
    OP_SUBMIT,
    REJECT_INVALID,
    STP_CANCELLED,
)

# Event kinds (also the simulator's ``K_*`` row kinds); NONE: no event.
NONE: Final = -1
NEW: Final = 0
AMEND: Final = 1
CANCEL: Final = 2
EXPIRE: Final = 3
TRADE: Final = 4
FILL: Final = 5

# Why an order was cancelled (the flag of a CANCEL).
CAUSE_USER: Final = 0
CAUSE_STP: Final = 1

#: ``(order event, its flag, fill records follow, end event, its flag)``
Plan = tuple[int, int, bool, int, int]
#: one fill-record event: ``(kind, handle, price, qty, leaves, flag)``
Emission = tuple[int, int, int, int, int, int]

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    #: fill records: ``Book.fills()`` tuples, or ``Book.fills_array()`` rows in a kernel
    FillRows: TypeAlias = Sequence[Sequence[int]] | npt.NDArray[np.int64]


def operation_events(op: int, result: int) -> Plan:
    """The order event and the end event of one book operation, by its ``op`` and ``result``.

    ``op`` is ``OP_SUBMIT``/``OP_AMEND``/``OP_CANCEL``; ``result`` the book's answer (a result
    code; for a cancel, the quantity cancelled). The order event's flag is the amend's
    "keeps priority" (an amend that keeps its place does not match) and a cancel's cause;
    the end event's flag its cause. The order event carries what was sent to the book (for a
    cancel, the order's price and the cancelled quantity); the end event the taker's price
    and the quantity left after the fills.
    """
    if op == OP_CANCEL:
        return (CANCEL if result > 0 else NONE, CAUSE_USER, False, NONE, 0)
    if result >= REJECT_INVALID:
        return (NONE, 0, False, NONE, 0)
    if op == OP_AMEND and result == AMENDED:
        return (AMEND, 1, False, NONE, 0)
    first = NEW if op == OP_SUBMIT else AMEND
    if result == EXPIRED:
        return (first, 0, True, EXPIRE, 0)
    if result == STP_CANCELLED:
        return (first, 0, True, CANCEL, CAUSE_STP)
    return (first, 0, True, NONE, 0)


def fill_events(
    fills: FillRows, col: int, first: int, stop: int, taker: int, qty: int
) -> Iterator[Emission]:
    """The events of fill records ``fills[first:stop]`` of taker ``taker`` that brought ``qty``.

    A record is ``(kind, maker, taker, price, qty, maker_leaves)`` from column ``col`` on (0
    for ``Book.fills()``, 1 for ``fills_array()``). Each item is ``(kind, handle, price, qty,
    leaves, flag)``: a TRADE (handle: the maker; leaves: the maker's), the maker's FILL and the
    taker's FILL (flag: aggressor; leaves: what it has left), or the maker's CANCEL (flag
    ``CAUSE_STP``). ``price`` is the fill price, the maker's own.
    """
    leaves = qty
    for i in range(first, stop):
        f = fills[i]
        maker = f[col + 1]
        fill_price = f[col + 3]
        fill_qty = f[col + 4]
        if f[col] == FILL_STP_CANCEL:
            yield (CANCEL, maker, fill_price, fill_qty, 0, CAUSE_STP)
            continue
        maker_leaves = f[col + 5]
        leaves -= fill_qty
        yield (TRADE, maker, fill_price, fill_qty, maker_leaves, 0)
        yield (FILL, maker, fill_price, fill_qty, maker_leaves, 0)
        yield (FILL, taker, fill_price, fill_qty, leaves, 1)


def operation_table(op: int, results: Sequence[int]) -> dict[int, Plan]:
    """:func:`operation_events` of ``op`` for each of ``results``, for a lookup per operation."""
    return {result: operation_events(op, result) for result in results}
