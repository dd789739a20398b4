"""The detector contract: a :class:`PatternDetector` subclass plus a registration.

A detector is fed every normalised event of a symbol *after* the shared state (book, sizes)
has been updated: ``handle_new`` / ``handle_amend`` / ``handle_cancel`` with the order's state,
``handle_trade`` with both orders' states (``None`` when unknown). It reports what it finds as
:class:`Finding`\\s through its :class:`DetectorContext`; the engine turns findings into
versioned alerts (same episode key, same alert id, a new version when anything changed).

Registering: decorate the class with :func:`register_detector`; the engine instantiates every
registered detector, so adding a pattern changes nothing else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

from services.surveillance.core.book import OrderState
from services.surveillance.core.normalise import Ev
from services.surveillance.core.state import SymbolState, UserSizes


@dataclass(slots=True)
class Finding:
    """A detector's current view of one episode (the engine versions it into an alert).

    ``anchor`` (with type, symbol and owner) identifies the episode: it must stay the same as
    the episode grows (the first order or trade id). ``score`` is 0-100; the engine raises an
    alert only at or above the detector's ``min_score``.
    """

    alert_type: str
    symbol: str
    anchor: str
    user_id: str
    owner_id: str
    account_ids: list[str]
    start_ns: int
    end_ns: int
    score: float
    order_ids: list[str]
    trade_ids: list[str]
    evidence: dict[str, Any]
    explanation: str
    user_ids: list[str] = field(default_factory=list)


class DetectorContext(Protocol):
    """What the engine offers a detector."""

    user_sizes: UserSizes

    def owner_of(self, account_id: str, user_id: str) -> str:
        """Beneficial owner of an account (without KYC: the first user seen on it)."""
        ...

    def report(self, finding: Finding, ts: int) -> None:
        """Hand a (new or updated) finding to the engine at event time ``ts``."""
        ...


class PatternDetector(ABC):
    """One manipulation pattern over the shared per-symbol state.

    Subclasses set ``alert_type`` and ``thresholds_type`` and implement the hooks they need.
    Their own per-symbol state lives in ``sym.detector_state[alert_type]`` and must be bounded
    (trim by event time in :meth:`expire`).
    """

    alert_type: ClassVar[str]
    thresholds_type: ClassVar[type[Any]]

    def __init__(self, ctx: DetectorContext, thresholds: Any) -> None:
        self.ctx = ctx
        self.thresholds = thresholds

    def set_thresholds(self, thresholds: Any) -> None:
        """Use new (already validated) thresholds from the next event on."""
        self.thresholds = thresholds

    def state(self, sym: SymbolState, factory: Callable[[], Any]) -> Any:
        """This detector's state for ``sym`` (created by ``factory`` on first use)."""
        st = sym.detector_state.get(self.alert_type)
        if st is None:
            st = sym.detector_state[self.alert_type] = factory()
        return st

    def handle_new(self, ev: Ev, sym: SymbolState, order: OrderState) -> None:  # noqa: B027
        """A new order (already in the book if it rests)."""

    def handle_amend(self, ev: Ev, sym: SymbolState, order: OrderState) -> None:  # noqa: B027
        """An order was amended (book already updated)."""

    def handle_cancel(self, ev: Ev, sym: SymbolState, order: OrderState) -> None:  # noqa: B027
        """An order's remainder was cancelled (book already updated)."""

    def handle_trade(  # noqa: B027
        self, ev: Ev, sym: SymbolState, buy: OrderState | None, sell: OrderState | None
    ) -> None:
        """A trade (both orders already filled in the book)."""

    @abstractmethod
    def expire(self, sym: SymbolState, now_ns: int) -> None:
        """Drop state older than the detector's windows allow (event time ``now_ns``)."""


D = TypeVar("D", bound=type[PatternDetector])

#: alert type -> detector class, in registration order.
DETECTORS: dict[str, type[PatternDetector]] = {}


def register_detector(cls: D) -> D:
    """Class decorator: make ``cls`` one of the engine's detectors."""
    DETECTORS[cls.alert_type] = cls
    return cls
