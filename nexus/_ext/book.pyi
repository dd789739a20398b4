"""Typed stub of the compiled order book (``ext/nexus/_ext/book.pyx``)."""

from typing import Final

import numpy as np
import numpy.typing as npt

SIDE_BUY: Final[int]
SIDE_SELL: Final[int]
TIF_GTC: Final[int]
TIF_DAY: Final[int]
TIF_IOC: Final[int]
TIF_FOK: Final[int]
STP_OFF: Final[int]
STP_CANCEL_NEWEST: Final[int]
STP_CANCEL_OLDEST: Final[int]
RESTED: Final[int]
FILLED: Final[int]
EXPIRED: Final[int]
STP_CANCELLED: Final[int]
AMENDED: Final[int]
CANCELLED: Final[int]
REJECT_INVALID: Final[int]
REJECT_DUPLICATE: Final[int]
REJECT_UNKNOWN: Final[int]
REJECT_POST_ONLY: Final[int]
REJECT_FOK: Final[int]
FILL_MATCH: Final[int]
FILL_STP_CANCEL: Final[int]
OP_SUBMIT: Final[int]
OP_AMEND: Final[int]
OP_CANCEL: Final[int]
COL_OP: Final[int]
COL_ID: Final[int]
COL_SIDE: Final[int]
COL_PRICE: Final[int]
COL_QTY: Final[int]
COL_ACCOUNT: Final[int]
COL_TIF: Final[int]
COL_POST_ONLY: Final[int]
COL_STP: Final[int]
BATCH_COLUMNS: Final[int]
MAX_CAPACITY: Final[int]
FILL_COLUMNS: Final[int]
DEBUG: Final[bool]

class BookInvariantError(AssertionError): ...

class Book:
    """One symbol's price-time priority limit order book over raw fixed-point ints."""

    @property
    def order_count(self) -> int: ...
    @property
    def last_remaining(self) -> int: ...
    @property
    def last_filled(self) -> int: ...
    @property
    def fill_count(self) -> int: ...
    def __init__(self, capacity: int = 1024, max_capacity: int = ...) -> None: ...
    def submit(
        self,
        order_id: int,
        side: int,
        price: int,
        qty: int,
        account: int = 0,
        tif: int = 0,
        post_only: bool = False,
        stp: int = 0,
    ) -> int: ...
    def amend(self, order_id: int, price: int, qty: int) -> int: ...
    def cancel(self, order_id: int) -> int: ...
    def apply_batch(self, ops: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]: ...
    def fills(self) -> list[tuple[int, int, int, int, int, int]]: ...
    def fills_array(self) -> npt.NDArray[np.int64]: ...
    def best_bid(self) -> int: ...
    def best_ask(self) -> int: ...
    def depth(self, side: int, n: int = 10) -> list[tuple[int, int, int]]: ...
    def levels(self, side: int) -> list[tuple[int, list[tuple[int, int]]]]: ...
    def order(self, order_id: int) -> tuple[int, int, int, int] | None: ...
    def expire(self, tif: int = 1) -> list[tuple[int, int]]: ...
    def check(self) -> bool: ...
    def _debug_corrupt(self, order_id: int, qty: int) -> None: ...
    def __len__(self) -> int: ...
