"""Venue toxicity fed back into SMART routing, without changing the routing core.

SMART scores a venue level at ``s * p + fee + slippage + latency + reject - improvement``
per share (``core/scoring.py``), ``improvement`` being the venue's learned price
improvement (``VenueStats.price_improvement``, raw per share). :class:`ToxicityAdjustedStats`
is a drop-in ``VenueStatsTracker`` (the router's ``stats=`` argument) whose snapshots lower
that improvement by each venue's measured adverse selection, so a venue whose fills are
followed by adverse moves costs more per share and receives less flow.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from services.routing.core.stats import VenueStatsTracker
from services.routing.core.types import VenueStats
from services.routing.reports.model import SCALE
from services.routing.reports.venues import TOXICITY_HORIZON, VenueMarkout


def penalties_from_markouts(
    rows: Iterable[VenueMarkout], *, horizon: str = TOXICITY_HORIZON, weight: float = 1.0
) -> dict[str, int]:
    """Raw per-share penalty per venue: ``weight`` x the adverse part of its markout against
    the fill price at ``horizon`` (``max(0, -markout_vs_price)``, dollars -> raw)."""
    out: dict[str, int] = {}
    for r in rows:
        adverse = -r.markout_vs_price.get(horizon, math.nan)
        if adverse == adverse and adverse > 0:  # NaN-safe
            out[r.venue] = round(adverse * weight * SCALE)
    return out


class ToxicityAdjustedStats(VenueStatsTracker):
    """A :class:`VenueStatsTracker` whose ``price_improvement`` is net of venue toxicity."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._penalty: dict[str, int] = {}

    def set_penalties(self, penalties: Mapping[str, int]) -> None:
        """Replace the per-share penalties (raw; venues not named get none)."""
        self._penalty = dict(penalties)

    def penalty(self, venue_id: str) -> int:
        """The venue's per-share penalty in force (raw; 0 when none)."""
        return self._penalty.get(venue_id, 0)

    def snapshot(self, venue_id: str) -> VenueStats:
        """The learned statistics with the venue's penalty taken off its price improvement."""
        snap = super().snapshot(venue_id)
        penalty = self._penalty.get(venue_id, 0)
        if penalty == 0:
            return snap
        return msgspec.structs.replace(
            snap, price_improvement=snap.price_improvement - float(penalty)
        )
