"""The halt registry: turns halt and resume commands into ``Halt`` events.

Every event id is deterministic from its cause (an alert id, or the caller's idempotency key),
so a repeated command produces the same event and the store's unique key absorbs it.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from nexus.errors import ConflictError, NotFoundError
from nexus.events import Halt as HaltEvent
from nexus.events import SurveillanceAlert
from nexus.halts import ActiveHalt, HaltBook

Scope = Literal["USER", "SYMBOL"]


class NotHalted(NotFoundError):
    """A resume for a user or symbol that is not halted."""


class StaleResume(ConflictError):
    """A resume stamped before the halt it would lift (it would be stored and not applied)."""


class HaltCommand(msgspec.Struct, frozen=True, kw_only=True):
    """Halt trading of a user or a symbol."""

    halt_id: str
    scope: Scope
    target: str
    reason: str
    ts_event: int
    requested_by: str
    source_alert_id: str | None = None
    expires_at_ns: int | None = None


class ResumeCommand(msgspec.Struct, frozen=True, kw_only=True):
    """Lift the halt of a user or a symbol."""

    resume_id: str
    scope: Scope
    target: str
    reason: str
    ts_event: int
    requested_by: str


def halt_id_for_alert(alert_id: str) -> str:
    """The deterministic halt id of a CRITICAL alert's halt."""
    return f"halt:alert:{alert_id}"


class HaltRegistry:
    """Current halts and the events that change them.

    ``halt_event`` / ``resume_event`` / ``alert_halt_event`` only *build* an event; the
    registry changes when it is :meth:`apply`-ed, which the service does once the event is
    durable (so a failed write never leaves the registry ahead of the store).
    """

    def __init__(self) -> None:
        self.book = HaltBook()

    def replay(self, events: list[HaltEvent]) -> None:
        """Rebuild state from the audit trail (oldest first), replacing what was there."""
        self.book = HaltBook()
        for event in events:
            self.book.apply(event)

    def apply(self, event: HaltEvent) -> bool:
        """Make a stored event part of the state (idempotent); True if it changed anything."""
        return self.book.apply(event)

    def halt_event(self, command: HaltCommand) -> HaltEvent:
        """The HALT event of ``command`` (not applied)."""
        return HaltEvent(
            event_id=command.halt_id,
            ts_event=command.ts_event,
            scope=command.scope,
            target=command.target,
            action="HALT",
            reason=command.reason,
            source_alert_id=command.source_alert_id,
            expires_at_ns=command.expires_at_ns,
            requested_by=command.requested_by,
        )

    def resume_event(self, command: ResumeCommand) -> HaltEvent:
        """The RESUME event of ``command`` (not applied); :class:`NotHalted` if nothing is."""
        halt = self.book.get(command.scope, command.target, command.ts_event)
        if halt is None:
            raise NotHalted(f"{command.scope.lower()} {command.target} is not halted")
        if command.ts_event < halt.ts_event:
            raise StaleResume(
                f"the resume of {command.scope.lower()} {command.target} is stamped before "
                f"the halt in force ({command.ts_event} < {halt.ts_event} ns): refused"
            )
        return HaltEvent(
            event_id=command.resume_id,
            ts_event=command.ts_event,
            scope=command.scope,
            target=command.target,
            action="RESUME",
            reason=command.reason,
            requested_by=command.requested_by,
        )

    def alert_halt_event(self, alert: SurveillanceAlert) -> HaltEvent | None:
        """The halt of a CRITICAL alert's user (not applied; None for lower severities)."""
        if alert.severity != "CRITICAL":
            return None
        return self.halt_event(
            HaltCommand(
                halt_id=halt_id_for_alert(alert.event_id),
                scope="USER",
                target=alert.user_id,
                reason=f"CRITICAL {alert.alert_type.lower()} alert {alert.event_id} on {alert.symbol}",
                ts_event=alert.ts_event,
                requested_by="surveillance",
                source_alert_id=alert.event_id,
            )
        )

    def halt(self, command: HaltCommand) -> HaltEvent:
        """Build and apply the HALT event of ``command`` (in-memory use: tests, simulations)."""
        event = self.halt_event(command)
        self.apply(event)
        return event

    def resume(self, command: ResumeCommand) -> HaltEvent:
        """Build and apply the RESUME event of ``command``; :class:`NotHalted` if nothing is."""
        event = self.resume_event(command)
        self.apply(event)
        return event

    def halt_for_alert(self, alert: SurveillanceAlert) -> HaltEvent | None:
        """Build and apply the halt of a CRITICAL alert (None for lower severities)."""
        event = self.alert_halt_event(alert)
        if event is not None:
            self.apply(event)
        return event

    def active(self, ts_ns: int | None = None) -> list[ActiveHalt]:
        """Halts in force."""
        return self.book.active(ts_ns)
