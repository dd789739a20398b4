"""Portfolio analytics domain core: pure calculators, Numba kernels and the service class.

No I/O and no framework imports: adapters implement the protocols of :mod:`.sources`.
"""

from .kernels import warm_up
from .service import AnalyticsConfig, PortfolioAnalyticsService
from .sources import (
    InMemoryCache,
    InMemoryPositions,
    InMemoryPrices,
    PositionSource,
    PriceHistory,
    PriceSource,
    ResultCache,
)
from .types import (
    BacktestDay,
    BacktestResult,
    CorrelationMatrix,
    HorizonScaling,
    PerformanceMetrics,
    PortfolioPosition,
    RiskDecomposition,
    StressResult,
    VaREstimate,
    VaRMethod,
    VaRResult,
)

__all__ = [
    "AnalyticsConfig",
    "BacktestDay",
    "BacktestResult",
    "CorrelationMatrix",
    "HorizonScaling",
    "InMemoryCache",
    "InMemoryPositions",
    "InMemoryPrices",
    "PerformanceMetrics",
    "PortfolioAnalyticsService",
    "PortfolioPosition",
    "PositionSource",
    "PriceHistory",
    "PriceSource",
    "ResultCache",
    "RiskDecomposition",
    "StressResult",
    "VaREstimate",
    "VaRMethod",
    "VaRResult",
    "warm_up",
]
