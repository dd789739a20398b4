"""Venue toxicity fed into SMART while the service runs: recorded markouts -> penalties.

Every ``refresh_s`` :func:`refresh_forever` reads the last ``window_s`` of recorded flow
(parents, fills and the quote archive, :class:`~services.routing.reports_store.ReportsStore`),
computes the per-venue markouts (:func:`~services.routing.reports.venues.markouts`) of the
fills whose :data:`~services.routing.reports.venues.TOXICITY_HORIZON` has already elapsed,
and hands :func:`penalties` of them to the router's
:class:`~services.routing.reports.feedback.ToxicityAdjustedStats`.

* a venue with fewer than :data:`MIN_FILLS` measured fills in the window gets no penalty
  (a handful of fills is noise, not adverse selection);
* fail safe: a refresh that fails (database away, bad rows) is logged and the penalties in
  force stay until the next refresh succeeds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol

from services.routing.reports.feedback import penalties_from_markouts
from services.routing.reports.model import NS_PER_MS
from services.routing.reports.venues import (
    MARKOUT_HORIZONS,
    TOXICITY_HORIZON,
    VenueMarkout,
    markouts,
)
from services.routing.reports_store import RecordedFlow

log = logging.getLogger(__name__)

#: fills a venue needs in the window before its markout counts as toxicity
MIN_FILLS: Final = 20
REFRESH_S: Final = 60.0
WINDOW_S: Final = 3_600.0
_HORIZON_NS: Final = dict(MARKOUT_HORIZONS)[TOXICITY_HORIZON]
_NS_PER_S: Final = 1_000 * NS_PER_MS


class FlowSource(Protocol):
    """Where the recorded flow comes from (:class:`ReportsStore` is one)."""

    async def flow(self, start_ns: int, end_ns: int) -> RecordedFlow: ...


class PenaltySink(Protocol):
    """What takes the penalties (:class:`ToxicityAdjustedStats` is one)."""

    def set_penalties(self, penalties: Mapping[str, int]) -> None: ...


def penalties(
    rows: Iterable[VenueMarkout], *, min_fills: int = MIN_FILLS, weight: float = 1.0
) -> dict[str, int]:
    """Raw per-share penalty per venue of ``rows``, venues with fewer than ``min_fills``
    fills left out (no penalty)."""
    return penalties_from_markouts((r for r in rows if r.fills >= min_fills), weight=weight)


@dataclass(slots=True)
class ToxicityRefresher:
    """One refresh of the penalties from the recorded flow (:meth:`refresh`), and its loop."""

    source: Callable[[], FlowSource]
    sink: PenaltySink
    window_s: float = WINDOW_S
    min_fills: int = MIN_FILLS
    clock: Callable[[], int] = time.time_ns
    current: dict[str, int] = field(default_factory=dict)
    refreshed_ns: int = 0

    async def refresh(self) -> dict[str, int]:
        """Read the window, compute and set the penalties; returns them (errors propagate)."""
        now = self.clock()
        start = now - int(self.window_s * _NS_PER_S)
        flow = await self.source().flow(start, now)
        rows = markouts(
            flow.orders, flow.fills, flow.tape, start_ns=start, end_ns=now - _HORIZON_NS
        )
        new = penalties(rows, min_fills=self.min_fills)
        self.sink.set_penalties(new)
        self.current, self.refreshed_ns = new, now
        return new

    async def refresh_safely(self) -> bool:
        """:meth:`refresh`, an error logged and the penalties in force kept; whether it worked."""
        try:
            new = await self.refresh()
        except Exception:  # fail safe by design: any failure keeps the previous penalties
            log.exception("venue toxicity refresh failed; previous penalties kept")
            return False
        log.info("venue toxicity penalties refreshed", extra={"penalties": new})
        return True

    async def run_forever(self, refresh_s: float = REFRESH_S) -> None:
        """Refresh now and every ``refresh_s``; ``refresh_s <= 0`` disables (returns at once)."""
        if refresh_s <= 0:
            return
        while True:
            await self.refresh_safely()
            await asyncio.sleep(refresh_s)
