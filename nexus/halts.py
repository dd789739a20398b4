"""Trading halts as state: what the ``risk.halts`` events made it.

The risk service owns halts; the matching engine and the router keep a :class:`HaltBook`
fed from ``risk.halts`` and consult it before every order, so a halt is obeyed from the next
order after its event is received. Expiry is judged by the time of the order being checked
(event time), never by the checker's clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from nexus.events import Halt


@dataclass(frozen=True, slots=True)
class ActiveHalt:
    """A halt in force."""

    scope: str
    target: str
    reason: str
    halt_id: str
    ts_event: int
    expires_at_ns: int | None
    source_alert_id: str | None

    def in_force_at(self, ts_ns: int) -> bool:
        """Whether the halt still applies at ``ts_ns``."""
        return self.expires_at_ns is None or ts_ns < self.expires_at_ns


class HaltBook:
    """Active halts per user and per symbol, built from :class:`~nexus.events.Halt` events."""

    def __init__(self) -> None:
        self._active: dict[tuple[str, str], ActiveHalt] = {}
        self._last_ts: dict[tuple[str, str], int] = {}
        self._seen: set[str] = set()

    def apply(self, event: Halt) -> bool:
        """Apply one event (idempotent by event id; older events never undo newer); True if applied."""
        if event.event_id in self._seen:
            return False
        key = (event.scope, event.target)
        if event.ts_event < self._last_ts.get(key, -1):
            self._seen.add(event.event_id)
            return False
        self._seen.add(event.event_id)
        self._last_ts[key] = event.ts_event
        if event.action == "HALT":
            self._active[key] = ActiveHalt(
                scope=event.scope,
                target=event.target,
                reason=event.reason,
                halt_id=event.event_id,
                ts_event=event.ts_event,
                expires_at_ns=event.expires_at_ns,
                source_alert_id=event.source_alert_id,
            )
        else:
            self._active.pop(key, None)
        return True

    def get(self, scope: str, target: str, ts_ns: int | None = None) -> ActiveHalt | None:
        """The halt on ``(scope, target)`` in force at ``ts_ns`` (any time if None)."""
        halt = self._active.get((scope, target))
        if halt is None or (ts_ns is not None and not halt.in_force_at(ts_ns)):
            return None
        return halt

    def check(self, user_id: str, symbol: str, ts_ns: int) -> str | None:
        """The reason an order of ``user_id`` on ``symbol`` at ``ts_ns`` is refused, or None."""
        user = self.get("USER", user_id, ts_ns)
        if user is not None:
            return f"user {user_id} halted: {user.reason}"
        sym = self.get("SYMBOL", symbol, ts_ns)
        if sym is not None:
            return f"symbol {symbol} halted: {sym.reason}"
        return None

    def active(self, ts_ns: int | None = None) -> list[ActiveHalt]:
        """Halts in force at ``ts_ns`` (all recorded if None), oldest first."""
        halts = [h for h in self._active.values() if ts_ns is None or h.in_force_at(ts_ns)]
        return sorted(halts, key=lambda h: (h.ts_event, h.halt_id))
