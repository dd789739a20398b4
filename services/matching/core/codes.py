"""Integer codes shared by the compiled book (``nexus._ext.book``) and the reference book.

The compiled module defines the same names with the same values (a test keeps them equal);
this pure module lets the reference book and the engine speak them without the extension.
"""

from __future__ import annotations

from typing import Final

SIDE_BUY: Final = 0
SIDE_SELL: Final = 1

TIF_GTC: Final = 0
TIF_DAY: Final = 1
TIF_IOC: Final = 2
TIF_FOK: Final = 3

STP_OFF: Final = 0
STP_CANCEL_NEWEST: Final = 1
STP_CANCEL_OLDEST: Final = 2

# results of submit / amend (rejects are >= REJECT_INVALID)
RESTED: Final = 0
FILLED: Final = 1
EXPIRED: Final = 2
STP_CANCELLED: Final = 3
AMENDED: Final = 4
CANCELLED: Final = 5
REJECT_INVALID: Final = 10
REJECT_DUPLICATE: Final = 11
REJECT_UNKNOWN: Final = 12
REJECT_POST_ONLY: Final = 13
REJECT_FOK: Final = 14

# fill record kinds
FILL_MATCH: Final = 0
FILL_STP_CANCEL: Final = 1

# batch operations and columns
OP_SUBMIT: Final = 0
OP_AMEND: Final = 1
OP_CANCEL: Final = 2
COL_OP: Final = 0
COL_ID: Final = 1
COL_SIDE: Final = 2
COL_PRICE: Final = 3
COL_QTY: Final = 4
COL_ACCOUNT: Final = 5
COL_TIF: Final = 6
COL_POST_ONLY: Final = 7
COL_STP: Final = 8
BATCH_COLUMNS: Final = 9
FILL_COLUMNS: Final = 7

#: every name above, for the parity test against the compiled module
CODE_NAMES: Final = tuple(
    name for name, value in list(globals().items()) if name.isupper() and isinstance(value, int)
)
