"""The registered pattern detectors (importing this package registers them)."""

from services.surveillance.core.detectors.base import (
    DETECTORS,
    DetectorContext,
    Finding,
    PatternDetector,
    register_detector,
)

__all__ = ["DETECTORS", "DetectorContext", "Finding", "PatternDetector", "register_detector"]
