"""Falcon resources of the risk service: halt, resume, list, audit, check."""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Literal

import falcon.asgi
import msgspec
from msgspec import Meta

from nexus.events import Halt, Identifier, Symbol
from nexus.web import (
    ADMIN,
    COMPLIANCE,
    RISK,
    SERVICE,
    TRADER,
    NotFound,
    Page,
    RequestBody,
    authorize_user,
    endpoint,
    make_page,
    page_request,
    principal_of,
    read_query,
)
from services.risk.core import HaltCommand, NotHalted, ResumeCommand
from services.risk.service import RiskService

WRITERS = {RISK, ADMIN, SERVICE}
READERS = {RISK, ADMIN, SERVICE, COMPLIANCE}
Reason = Annotated[str, Meta(min_length=1, max_length=512)]


class HaltRequest(RequestBody):
    """Halt a user or a symbol; ``expires_in_seconds`` makes the halt temporary."""

    scope: Literal["USER", "SYMBOL"]
    target: Identifier
    reason: Reason
    source_alert_id: Identifier | None = None
    expires_in_seconds: Annotated[int, Meta(gt=0, le=366 * 86_400)] | None = None


class ResumeRequest(RequestBody):
    """Lift a halt."""

    scope: Literal["USER", "SYMBOL"]
    target: Identifier
    reason: Reason


class HaltView(msgspec.Struct, kw_only=True):
    """A halt or resume event as the API shows it."""

    halt_id: str
    scope: str
    target: str
    action: str
    reason: str
    source_alert_id: str | None
    expires_at_ns: int | None
    requested_by: str
    ts_event: int


class AuditEntry(msgspec.Struct, kw_only=True):
    """One entry of the audit trail."""

    seq: int
    event: HaltView


class HaltCheck(msgspec.Struct, kw_only=True):
    """Whether an order of this user on this symbol would be refused now."""

    halted: bool
    reason: str | None


def view(event: Halt) -> HaltView:
    """API view of an event."""
    return HaltView(
        halt_id=event.event_id,
        scope=event.scope,
        target=event.target,
        action=event.action,
        reason=event.reason,
        source_alert_id=event.source_alert_id,
        expires_at_ns=event.expires_at_ns,
        requested_by=event.requested_by,
        ts_event=event.ts_event,
    )


def _command_id(req: falcon.asgi.Request, prefix: str) -> str:
    key = req.get_header("Idempotency-Key")
    if key:
        return f"{prefix}:{principal_of(req).subject}:{key}"[:64]
    return f"{prefix}:{uuid.uuid4().hex}"


class HaltsResource:
    """``/halts``: halt (POST) and list active halts (GET)."""

    def __init__(self, service: RiskService) -> None:
        self._service = service

    @endpoint(roles=WRITERS, body=HaltRequest, response=HaltView, status=201, tags=["halts"])
    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, *, body: HaltRequest
    ) -> None:
        """Halt a user or a symbol (idempotent with an ``Idempotency-Key`` header)."""
        now = time.time_ns()
        event, created = await self._service.halt(
            HaltCommand(
                halt_id=_command_id(req, "halt"),
                scope=body.scope,
                target=body.target,
                reason=body.reason,
                ts_event=now,
                requested_by=principal_of(req).subject,
                source_alert_id=body.source_alert_id,
                expires_at_ns=now + body.expires_in_seconds * 10**9
                if body.expires_in_seconds
                else None,
            )
        )
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200
        resp.media = view(event)

    @endpoint(roles=READERS, response=list[HaltView], tags=["halts"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Halts in force now."""
        now = time.time_ns()
        resp.media = [
            HaltView(
                halt_id=h.halt_id,
                scope=h.scope,
                target=h.target,
                action="HALT",
                reason=h.reason,
                source_alert_id=h.source_alert_id,
                expires_at_ns=h.expires_at_ns,
                requested_by="",
                ts_event=h.ts_event,
            )
            for h in self._service.registry.active(now)
        ]


class ResumeResource:
    """``/halts/resume``: lift a halt."""

    def __init__(self, service: RiskService) -> None:
        self._service = service

    @endpoint(roles=WRITERS, body=ResumeRequest, response=HaltView, tags=["halts"])
    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, *, body: ResumeRequest
    ) -> None:
        """Resume trading of a user or a symbol; 404 if it is not halted."""
        try:
            event, _ = await self._service.resume(
                ResumeCommand(
                    resume_id=_command_id(req, "resume"),
                    scope=body.scope,
                    target=body.target,
                    reason=body.reason,
                    ts_event=time.time_ns(),
                    requested_by=principal_of(req).subject,
                )
            )
        except NotHalted as exc:
            raise NotFound(str(exc)) from exc
        resp.media = view(event)


class AuditResource:
    """``/halts/audit``: every halt and resume ever recorded."""

    def __init__(self, service: RiskService) -> None:
        self._service = service

    @endpoint(roles=READERS, response=Page[AuditEntry], paginated=True, tags=["halts"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """The audit trail, oldest first."""
        page = page_request(req, int)
        rows = await self._service.audit(page.after or 0, page.limit + 1)
        entries = [AuditEntry(seq=seq, event=view(event)) for seq, event in rows]
        resp.media = make_page(entries, page.limit, lambda e: e.seq)


class CheckQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Who trades what."""

    user_id: Identifier
    symbol: Symbol


class CheckResource:
    """``/halts/check``: would this user's order on this symbol be refused now?"""

    def __init__(self, service: RiskService) -> None:
        self._service = service

    @endpoint(roles=READERS | {TRADER}, query=CheckQuery, response=HaltCheck, tags=["halts"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Check a user and symbol against the halts in force."""
        query = read_query(req, CheckQuery)
        authorize_user(req, query.user_id)
        reason = self._service.registry.book.check(query.user_id, query.symbol, time.time_ns())
        resp.media = HaltCheck(halted=reason is not None, reason=reason)


def routes(service: RiskService) -> list[tuple[str, object]]:
    """The risk service's routes."""
    return [
        ("/halts", HaltsResource(service)),
        ("/halts/resume", ResumeResource(service)),
        ("/halts/audit", AuditResource(service)),
        ("/halts/check", CheckResource(service)),
    ]
