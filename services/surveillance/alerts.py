"""Translations of the engine's alerts at the service's edges: store row, bus event, halt.

The engine's :class:`~services.surveillance.core.SurveillanceAlert` is the one truth; the
store keeps its JSON view as the payload, ``surveillance.alerts`` carries the platform event
(``nexus.events.SurveillanceAlert``, ``event_id`` = alert id for every version, score scaled
to 0-1), and a CRITICAL version becomes one halt request to the risk service.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from nexus.events import SurveillanceAlert as AlertEvent
from services.surveillance.core import SurveillanceAlert
from services.surveillance.store import AlertRecord, HaltRequest

#: The subject surveillance calls the risk service as. Risk names a halt requested over HTTP
#: ``halt:<subject>:<Idempotency-Key>`` and the halt it derives from a consumed CRITICAL alert
#: ``halt:alert:<alert id>``; calling as ``alert`` with the alert id as the key gives both paths
#: the same halt id, so a user is halted once whichever path arrives first.
HALT_SUBJECT: Final = "alert"
HALT_PATH: Final = "/halts"
DESCRIPTION_MAX: Final = 512


def alert_view(alert: SurveillanceAlert) -> dict[str, Any]:
    """The JSON view of an alert version (the stored payload and the API's evidence)."""
    view: dict[str, Any] = msgspec.to_builtins(alert)
    return view


def alert_from_view(view: dict[str, Any]) -> SurveillanceAlert:
    """The alert of a stored payload."""
    return msgspec.convert(view, SurveillanceAlert)


def record_of(alert: SurveillanceAlert) -> AlertRecord:
    """The store row of an alert version."""
    return AlertRecord(
        alert_id=alert.alert_id,
        version=alert.version,
        alert_type=alert.type,
        severity=alert.severity,
        score=alert.score,
        user_id=alert.user_id,
        account_ids=list(alert.account_ids),
        owner_id=alert.owner_id or None,
        symbol=alert.symbol,
        start_ns=alert.start_ns,
        end_ns=alert.end_ns,
        payload=alert_view(alert),
    )


def event_of(alert: SurveillanceAlert) -> AlertEvent:
    """The ``surveillance.alerts`` event of an alert version."""
    return AlertEvent(
        event_id=alert.alert_id,
        ts_event=max(alert.detected_ns, alert.end_ns, 0),
        symbol=alert.symbol,
        user_id=alert.user_id,
        alert_type=alert.type,
        severity=alert.severity,
        score=min(1.0, max(0.0, alert.score / 100.0)),
        window_start_ns=max(alert.start_ns, 0),
        window_end_ns=max(alert.end_ns, 0),
        order_ids=list(alert.order_ids),
        description=alert.explanation[:DESCRIPTION_MAX],
        version=alert.version,
        account_ids=list(alert.account_ids),
        owner_id=alert.owner_id or None,
        trade_ids=list(alert.trade_ids),
    )


def halt_of(alert: SurveillanceAlert) -> HaltRequest | None:
    """The halt request of a CRITICAL alert version (None below CRITICAL).

    The outbox entry id is the alert id, so every CRITICAL version of one episode is one halt.
    """
    if alert.severity != "CRITICAL":
        return None
    return HaltRequest(
        entry_id=alert.alert_id,
        path=HALT_PATH,
        body={
            "scope": "USER",
            "target": alert.user_id,
            "reason": (f"CRITICAL {alert.type.lower()} alert {alert.alert_id} on {alert.symbol}")[
                :DESCRIPTION_MAX
            ],
            "source_alert_id": alert.alert_id,
        },
    )
