"""Column layouts of the simulator's int64 tables (named constants, never magic indexes).

*Actions* are what the simulated participants send, in event-time order per symbol; columns
``A_OP..A_STP`` are exactly the compiled book's batch layout (``nexus._ext.book.COL_*`` + 1), so
``actions[:, A_OP:A_STP + 1]`` is handed to ``Book.apply_batch`` without copying fields around.
*Events* are what the matching produced, one row per published event.
"""

from __future__ import annotations

from typing import Final

from nexus.matching import emission

# -- actions -----------------------------------------------------------------------------------
A_TS: Final = 0  # simulated time, ns since the epoch
A_OP: Final = 1  # OP_SUBMIT / OP_AMEND / OP_CANCEL
A_HANDLE: Final = 2  # order handle (global, >= 0)
A_SIDE: Final = 3
A_PRICE: Final = 4  # raw fixed point
A_QTY: Final = 5  # raw fixed point
A_ACCOUNT: Final = 6  # account index
A_TIF: Final = 7
A_POST_ONLY: Final = 8
A_STP: Final = 9
A_ORDER: Final = 10  # tie-break among equal timestamps (creation order)
ACTION_COLUMNS: Final = 11

OP_SUBMIT: Final = 0
OP_AMEND: Final = 1
OP_CANCEL: Final = 2

BUY: Final = 0
SELL: Final = 1
TIF_GTC: Final = 0
TIF_IOC: Final = 2

# -- events ------------------------------------------------------------------------------------
E_TS: Final = 0
E_SYMBOL: Final = 1
E_SEQ: Final = 2  # per-symbol production order (stable tie-break)
E_KIND: Final = 3
E_H1: Final = 4  # order handle; a trade's buy order
E_H2: Final = 5  # a trade's sell order
E_SIDE: Final = 6  # order side; a trade's aggressor side
E_PRICE: Final = 7
E_QTY: Final = 8  # quantity / cancelled / expired
E_AUX1: Final = 9  # amend: old price; fill: leaves quantity
E_AUX2: Final = 10  # amend: old quantity; fill: the trade's E_SEQ
E_FLAG: Final = 11  # new: post_only; amend: keeps_priority; fill: aggressor; cancel: cause (0 user)
E_TIF: Final = 12
EVENT_COLUMNS: Final = 13

# row kinds: the emission rule's event kinds (nexus.matching.emission)
K_NEW: Final = emission.NEW
K_AMEND: Final = emission.AMEND
K_CANCEL: Final = emission.CANCEL
K_EXPIRE: Final = emission.EXPIRE
K_TRADE: Final = emission.TRADE
K_FILL: Final = emission.FILL
KIND_NAMES: Final = ("new", "amend", "cancel", "expire", "trade", "fill")
