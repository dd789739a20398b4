"""A simulated exchange's domain: profile (fees, latency, liquidity) and the exchange itself."""

from services.venues.core.exchange import Exchange, VenueReject, VenueReport
from services.venues.core.profile import (
    PROFILES,
    FeeSchedule,
    LatencyModel,
    VenueProfile,
    mul_raw,
)

__all__ = [
    "PROFILES",
    "Exchange",
    "FeeSchedule",
    "LatencyModel",
    "VenueProfile",
    "VenueReject",
    "VenueReport",
    "mul_raw",
]
