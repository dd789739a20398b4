"""The registered pattern detectors (importing this package registers them)."""

from services.surveillance.core.detectors.base import (
    DETECTORS,
    DetectorContext,
    Finding,
    PatternDetector,
    register_detector,
)
from services.surveillance.core.detectors.momentum import MomentumIgnitionDetector
from services.surveillance.core.detectors.resting import LayeringDetector, SpoofingDetector
from services.surveillance.core.detectors.wash import WashTradingDetector

__all__ = [
    "DETECTORS",
    "DetectorContext",
    "Finding",
    "LayeringDetector",
    "MomentumIgnitionDetector",
    "PatternDetector",
    "SpoofingDetector",
    "WashTradingDetector",
    "register_detector",
]
