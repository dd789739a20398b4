"""Market-data domain core (pure, no I/O): synthetic history, returns, CSV loading, quotes.

Prices are raw fixed point (``value * 10**9``, :mod:`nexus.money`) everywhere; floats appear
only in statistics (returns, model parameters).
"""

from services.marketdata.core.bars import Bars, trade_bars
from services.marketdata.core.csv_loader import (
    CloseRow,
    iter_close_rows,
    load_closes_csv,
    load_price_table,
)
from services.marketdata.core.errors import (
    CsvFormatError,
    InsufficientHistoryError,
    InvalidRangeError,
    MissingPricesError,
    UnknownSymbolError,
)
from services.marketdata.core.generator import (
    HistoryConfig,
    SyntheticHistory,
    generate_history,
    history_targets,
)
from services.marketdata.core.quotes import (
    DEFAULT_VENUES,
    VenueProfile,
    market_quotes,
    mid_path,
    quote_stream,
)
from services.marketdata.core.returns import (
    MissingPolicy,
    PriceTable,
    ReturnKind,
    ReturnsTable,
    compute_returns,
)

__all__ = [
    "DEFAULT_VENUES",
    "Bars",
    "CloseRow",
    "CsvFormatError",
    "HistoryConfig",
    "InsufficientHistoryError",
    "InvalidRangeError",
    "MissingPolicy",
    "MissingPricesError",
    "PriceTable",
    "ReturnKind",
    "ReturnsTable",
    "SyntheticHistory",
    "UnknownSymbolError",
    "VenueProfile",
    "compute_returns",
    "generate_history",
    "history_targets",
    "iter_close_rows",
    "load_closes_csv",
    "load_price_table",
    "market_quotes",
    "mid_path",
    "quote_stream",
    "trade_bars",
]
