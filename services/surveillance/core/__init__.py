"""The surveillance domain core: event normalisation, book reconstruction, detectors, engine.

Nothing here does I/O: the engine takes its collaborators (an event source for historical
scans) as constructor arguments, so the live path, scans, benchmarks and tests run one code.
"""

from services.surveillance.core.engine import EventSource, SurveillanceEngine
from services.surveillance.core.types import (
    ALERT_TYPES,
    AlertType,
    LayeringThresholds,
    MomentumIgnitionThresholds,
    Severity,
    SpoofingThresholds,
    SurveillanceAlert,
    ThresholdError,
    TradingProfile,
    WashTradingThresholds,
    severity_for_score,
)

__all__ = [
    "ALERT_TYPES",
    "AlertType",
    "EventSource",
    "LayeringThresholds",
    "MomentumIgnitionThresholds",
    "Severity",
    "SpoofingThresholds",
    "SurveillanceAlert",
    "SurveillanceEngine",
    "ThresholdError",
    "TradingProfile",
    "WashTradingThresholds",
    "severity_for_score",
]
