"""The contract of a place the router can execute: a new venue is a subclass plus ``register_venue``.

The router calls these methods concurrently on several venues; a subclass owns its transport
(FIX session, order-entry HTTP API, an in-memory book in tests) and translates it into the
core's types. The rules a subclass keeps:

* ``submit`` sends one child and returns its report once the child is finished at the venue
  (an IOC filled, partly filled then expired, or rejected) - or ``WORKING`` for a DAY child.
  It raises :class:`~services.routing.core.errors.VenueUnavailable` when the session cannot
  take the order (``order_sent=False``: nothing reached the venue) or was lost after sending
  (``order_sent=True``: the child's fate is unknown until ``cancel`` learns it).
* ``cancel`` asks the venue to cancel whatever of the child still works and returns the child's
  final report with **all** its fills (cumulative), so a fill that raced the cancel is counted.
  It is also how the router learns a child's fate after a timeout or a lost session; a
  subclass that cannot learn it raises ``VenueUnavailable``.
* Neither method may block the event loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from services.routing.core.types import ChildOrder, ChildReport, VenueProfile


class ExecutionVenue(ABC):
    """A venue the router executes on (external exchange over FIX, internal matching engine)."""

    @property
    @abstractmethod
    def profile(self) -> VenueProfile:
        """Static facts of the venue: id, kind, fees, whether its quotes are protected."""

    @property
    def venue_id(self) -> str:
        """The venue's id, as its quotes on ``marketdata.quotes`` name it."""
        return self.profile.venue_id

    def is_available(self) -> bool:
        """Whether the venue can take orders now (a FIX adapter answers from its session)."""
        return True

    @abstractmethod
    async def submit(self, child: ChildOrder) -> ChildReport:
        """Send one child order and return its report when it is finished (or resting)."""

    @abstractmethod
    async def cancel(self, child: ChildOrder) -> ChildReport:
        """Cancel what still works of ``child``; return its final report with all its fills."""
