"""The compiled limit order book and its codes: the public embedding API of the matching kernel.

:class:`Book` is one symbol's price-time priority book over raw fixed-point ints
(``value * 10**9``, see :mod:`nexus.money`); orders are named by caller-chosen handles
``>= 0`` (a negative handle is never found and never accepted). Its C-level contract is
``nexus/_ext/book.pxd`` (installed beside the extension): a Cython extension may
``from nexus._ext.book cimport Book`` and call ``submit_c``/``cancel_c``/... at C speed, with
``nexus.get_include()`` on its include path.

The codes below are the only definition outside the extension (a test keeps them equal to
the compiled module's): use the enums in Python (``Result.REJECT_FOK``), the flat ``int``
aliases where a plain int is needed (Numba kernels, int64 batch arrays).

* ``submit`` -> :class:`Result` (rejects are ``>= Result.REJECT_INVALID``), fills in
  :meth:`Book.fills` as ``(kind, maker, taker, price, qty, maker_leaves)``;
* ``apply_batch`` takes int64 rows of :data:`BATCH_COLUMNS` columns indexed by :class:`Col`;
* ``check`` verifies every invariant or raises :class:`BookInvariantError`; a debug build
  (``NEXUS_DEBUG=1``, :data:`DEBUG` true) runs it after every operation.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from nexus._ext.book import DEBUG as DEBUG
from nexus._ext.book import MAX_CAPACITY as MAX_CAPACITY
from nexus._ext.book import Book as Book
from nexus._ext.book import BookInvariantError as BookInvariantError


class Side(IntEnum):
    """Order side."""

    BUY = 0
    SELL = 1


class TimeInForce(IntEnum):
    """Time in force; a market order (price 0) is IOC unless FOK."""

    GTC = 0
    DAY = 1
    IOC = 2
    FOK = 3


class Stp(IntEnum):
    """Self-trade prevention mode of the taker."""

    OFF = 0
    CANCEL_NEWEST = 1
    CANCEL_OLDEST = 2


class Result(IntEnum):
    """Result of a submit or amend; rejects are ``>= REJECT_INVALID`` and change nothing."""

    RESTED = 0
    FILLED = 1
    EXPIRED = 2
    STP_CANCELLED = 3
    AMENDED = 4
    CANCELLED = 5
    REJECT_INVALID = 10
    REJECT_DUPLICATE = 11
    REJECT_UNKNOWN = 12
    REJECT_POST_ONLY = 13
    REJECT_FOK = 14

    @property
    def is_reject(self) -> bool:
        """Whether the operation was refused (the book is unchanged)."""
        return self >= Result.REJECT_INVALID


class FillKind(IntEnum):
    """Kind of a fill record."""

    MATCH = 0
    STP_CANCEL = 1


class Op(IntEnum):
    """Operation of a batch row."""

    SUBMIT = 0
    AMEND = 1
    CANCEL = 2


class Col(IntEnum):
    """Columns of a batch row (int64)."""

    OP = 0
    ID = 1
    SIDE = 2
    PRICE = 3
    QTY = 4
    ACCOUNT = 5
    TIF = 6
    POST_ONLY = 7
    STP = 8


BATCH_COLUMNS: Final = 9
FILL_COLUMNS: Final = 7

# Flat int aliases (the names the compiled module exports).
SIDE_BUY: Final = int(Side.BUY)
SIDE_SELL: Final = int(Side.SELL)
TIF_GTC: Final = int(TimeInForce.GTC)
TIF_DAY: Final = int(TimeInForce.DAY)
TIF_IOC: Final = int(TimeInForce.IOC)
TIF_FOK: Final = int(TimeInForce.FOK)
STP_OFF: Final = int(Stp.OFF)
STP_CANCEL_NEWEST: Final = int(Stp.CANCEL_NEWEST)
STP_CANCEL_OLDEST: Final = int(Stp.CANCEL_OLDEST)
RESTED: Final = int(Result.RESTED)
FILLED: Final = int(Result.FILLED)
EXPIRED: Final = int(Result.EXPIRED)
STP_CANCELLED: Final = int(Result.STP_CANCELLED)
AMENDED: Final = int(Result.AMENDED)
CANCELLED: Final = int(Result.CANCELLED)
REJECT_INVALID: Final = int(Result.REJECT_INVALID)
REJECT_DUPLICATE: Final = int(Result.REJECT_DUPLICATE)
REJECT_UNKNOWN: Final = int(Result.REJECT_UNKNOWN)
REJECT_POST_ONLY: Final = int(Result.REJECT_POST_ONLY)
REJECT_FOK: Final = int(Result.REJECT_FOK)
FILL_MATCH: Final = int(FillKind.MATCH)
FILL_STP_CANCEL: Final = int(FillKind.STP_CANCEL)
OP_SUBMIT: Final = int(Op.SUBMIT)
OP_AMEND: Final = int(Op.AMEND)
OP_CANCEL: Final = int(Op.CANCEL)
COL_OP: Final = int(Col.OP)
COL_ID: Final = int(Col.ID)
COL_SIDE: Final = int(Col.SIDE)
COL_PRICE: Final = int(Col.PRICE)
COL_QTY: Final = int(Col.QTY)
COL_ACCOUNT: Final = int(Col.ACCOUNT)
COL_TIF: Final = int(Col.TIF)
COL_POST_ONLY: Final = int(Col.POST_ONLY)
COL_STP: Final = int(Col.STP)

#: every flat code name, for the parity test against the compiled module
CODE_NAMES: Final = tuple(
    name
    for name, value in list(globals().items())
    if name.isupper() and type(value) is int and name != "MAX_CAPACITY"
)
