"""Falcon resources of the surveillance service: the compliance dashboard's REST API.

Role ``compliance`` (``admin`` holds every role). Alerts are listed newest first with cursor
pagination; an alert's detail carries its evidence, every version and its review trail; the
review workflow only allows the moves of :data:`~services.surveillance.store.TRANSITIONS`
(409 otherwise). Bad input is a 422 naming the field; an unknown alert, scan or detector 404.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Literal

import falcon.asgi
import msgspec
from msgspec import Meta

from nexus.events import Identifier, Symbol, TimestampNs
from nexus.web import (
    COMPLIANCE,
    HTTPProblem,
    NotFound,
    Page,
    QueryParams,
    RequestBody,
    endpoint,
    invalid,
    make_page,
    page_request,
    principal_of,
    read_query,
)
from services.surveillance.archive import EventArchive
from services.surveillance.core import ALERT_TYPES, AlertType, Severity, ThresholdError
from services.surveillance.core.normalise import Ev, InputError, decode_audit_line, normalise
from services.surveillance.core.replay import PAD_NS, REBUILD_NS, replay_window
from services.surveillance.scans import ScanJobs, ScanView
from services.surveillance.service import SurveillanceService
from services.surveillance.store import AlertStore, StatusChange, ThresholdChange, ThresholdStore

READERS = {COMPLIANCE}
Status = Literal["OPEN", "UNDER_REVIEW", "ESCALATED", "DISMISSED", "CONFIRMED"]
DismissalCategory = Literal[
    "FALSE_POSITIVE", "LEGITIMATE_ACTIVITY", "INSUFFICIENT_EVIDENCE", "DUPLICATE", "OTHER"
]
Reason = Annotated[str, Meta(min_length=1, max_length=2_000)]
MAX_SCAN_FILTER = 1_000


class AlertQuery(QueryParams):
    """Filters of the alert listing; repeated parameters (``?severity=HIGH&severity=CRITICAL``)
    match any of their values. ``from_ns``/``to_ns`` select episodes overlapping the range."""

    type: list[AlertType] | None = None
    severity: list[Severity] | None = None
    status: list[Status] | None = None
    user_id: Identifier | None = None
    symbol: Symbol | None = None
    from_ns: TimestampNs | None = None
    to_ns: TimestampNs | None = None


class AlertSummary(msgspec.Struct, kw_only=True):
    """An alert in a listing (its latest version)."""

    alert_id: str
    version: int
    type: str
    severity: str
    score: float
    status: str
    user_id: str
    account_ids: list[str]
    owner_id: str | None
    symbol: str
    start_ns: int
    end_ns: int
    explanation: str
    updated_at: str


class AlertVersion(msgspec.Struct, kw_only=True):
    """One version of an alert as it was raised."""

    version: int
    recorded_at: str
    alert: dict[str, Any]


class AlertDetail(msgspec.Struct, kw_only=True):
    """An alert with its evidence (``alert``), every version and its review trail."""

    alert_id: str
    status: str
    alert: dict[str, Any]
    versions: list[AlertVersion]
    history: list[StatusChange]


class StatusBody(RequestBody):
    """Move an alert along the review workflow; dismissing needs a ``reason_category``.

    ``expected_status`` (optional) makes the move conditional on the status the reviewer saw.
    """

    status: Status
    reason: Reason
    reason_category: DismissalCategory | None = None
    expected_status: Status | None = None


class ProfileQuery(QueryParams):
    """Look-back of a trading profile, and optionally one symbol."""

    lookback_days: Annotated[int, Meta(ge=1, le=3660)] = 30
    symbol: Symbol | None = None


class ThresholdsView(msgspec.Struct, kw_only=True):
    """The thresholds in force for one detector and their recent changes (newest first)."""

    detector: str
    thresholds: dict[str, Any]
    changes: list[ThresholdChange]


class ThresholdsBody(RequestBody):
    """New threshold values (a partial mapping keeps the other fields) and why."""

    thresholds: dict[str, Any]
    reason: Reason


class ScanBody(RequestBody):
    """A historical scan of the archive over ``[start_ns, end_ns]`` (event time, UTC ns)."""

    start_ns: TimestampNs
    end_ns: TimestampNs
    symbols: Annotated[list[Symbol], Meta(min_length=1, max_length=MAX_SCAN_FILTER)] | None = None
    users: Annotated[list[Identifier], Meta(min_length=1, max_length=MAX_SCAN_FILTER)] | None = None


_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")


def threshold_field(exc: ThresholdError) -> str:
    """The body path of a threshold validation error (``$.thresholds.min_trades``)."""
    field = exc.field
    if field is None or field == "$":
        unknown = _UNKNOWN_FIELD.search(str(exc))
        field = f"$.{unknown.group(1)}" if unknown else "$"
    return "$.thresholds" + field[1:] if field.startswith("$") else f"$.thresholds.{field}"


def summary_of(row: Any) -> AlertSummary:
    """The listing view of an ``alerts`` row."""
    payload = row["payload"]
    payload = msgspec.json.decode(payload) if isinstance(payload, str) else payload
    return AlertSummary(
        alert_id=row["alert_id"],
        version=row["version"],
        type=row["alert_type"],
        severity=row["severity"],
        score=row["score"],
        status=row["status"],
        user_id=row["user_id"],
        account_ids=list(row["account_ids"]),
        owner_id=row["owner_id"],
        symbol=row["symbol"],
        start_ns=row["start_ns"],
        end_ns=row["end_ns"],
        explanation=str(payload.get("explanation", "")),
        updated_at=row["updated_at"].isoformat(),
    )


class AlertsResource:
    """``/alerts``: the alert listing."""

    def __init__(self, store: AlertStore) -> None:
        self._store = store

    @endpoint(
        roles=READERS,
        query=AlertQuery,
        response=Page[AlertSummary],
        paginated=True,
        tags=["alerts"],
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Alerts matching the filters, newest first."""
        query = read_query(req, AlertQuery)
        if query.from_ns is not None and query.to_ns is not None and query.to_ns < query.from_ns:
            raise invalid("to_ns", "must not be before from_ns", "query")
        page = page_request(req, int)
        rows = await self._store.search(
            {
                "type": query.type,
                "severity": query.severity,
                "status": query.status,
                "user_id": query.user_id,
                "symbol": query.symbol,
            },
            from_ns=query.from_ns,
            to_ns=query.to_ns,
            before_seq=page.after,
            limit=page.limit + 1,
        )
        items = [(r["seq"], summary_of(r)) for r in rows]
        paged = make_page(items, page.limit, lambda item: item[0])
        resp.media = Page(items=[s for _, s in paged.items], next_cursor=paged.next_cursor)


class AlertResource:
    """``/alerts/{alert_id}``: evidence, versions and review trail."""

    def __init__(self, store: AlertStore) -> None:
        self._store = store

    @endpoint(roles=READERS, response=AlertDetail, tags=["alerts"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, alert_id: str
    ) -> None:
        """One alert in full."""
        row = await self._store.get(alert_id)
        payload = row["payload"]
        resp.media = AlertDetail(
            alert_id=alert_id,
            status=row["status"],
            alert=msgspec.json.decode(payload) if isinstance(payload, str) else payload,
            versions=[
                AlertVersion(version=v, recorded_at=at, alert=p)
                for v, p, at in await self._store.versions(alert_id)
            ],
            history=await self._store.history(alert_id),
        )


class ReplayResource:
    """``/alerts/{alert_id}/replay``: the recorded market around an alert, from the archive.

    Best bid/ask changes and trades of the alert's symbol from two seconds before its window
    to two seconds after, and the alerted user's orders from placement to cancel or fill (the
    book is rebuilt from five minutes before the window). At most :attr:`MAX_EVENTS` events are
    replayed; ``truncated`` says when the window held more.
    """

    MAX_EVENTS = 200_000

    def __init__(self, store: AlertStore, archive: EventArchive) -> None:
        self._store = store
        self._archive = archive

    @endpoint(roles=READERS, response=dict[str, Any], tags=["alerts"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, alert_id: str
    ) -> None:
        """The market replay of one alert's window."""
        row = await self._store.get(alert_id)
        payload = row["payload"]
        alert = msgspec.json.decode(payload) if isinstance(payload, str) else payload
        start, end = int(alert["start_ns"]), int(alert["end_ns"])
        events: list[Ev] = []
        truncated = False
        async for batch in self._archive.read(
            start - REBUILD_NS - PAD_NS, end + PAD_NS + 1, [alert["symbol"]]
        ):
            for event in batch:
                ev = normalise(event)
                if ev is not None:
                    ev.seq = len(events)
                    events.append(ev)
            if len(events) >= self.MAX_EVENTS:
                truncated = True
                break
        events.sort(key=Ev.sort_key)
        replay = replay_window(
            events,
            start_ns=start,
            end_ns=end,
            user_ids=alert.get("user_ids") or [alert["user_id"]],
            account_ids=alert.get("account_ids") or [],
        )
        replay["truncated"] = truncated
        resp.media = replay


class AlertStatusResource:
    """``/alerts/{alert_id}/status``: the review workflow."""

    def __init__(self, store: AlertStore) -> None:
        self._store = store

    @endpoint(roles=READERS, body=StatusBody, response=StatusChange, tags=["alerts"])
    async def on_post(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        alert_id: str,
        *,
        body: StatusBody,
    ) -> None:
        """Change an alert's status (409 if the workflow does not allow it)."""
        if body.status == "DISMISSED" and body.reason_category is None:
            raise invalid("$.reason_category", "a dismissal needs a reason category")
        if body.status != "DISMISSED" and body.reason_category is not None:
            raise invalid("$.reason_category", "only a dismissal takes a reason category")
        resp.media = await self._store.change_status(
            alert_id,
            body.status,
            actor=principal_of(req).subject,
            reason=body.reason,
            reason_category=body.reason_category,
            expected=body.expected_status,
        )


class ProfileResource:
    """``/users/{user_id}/profile``: the user's trading profile from the live engine."""

    def __init__(self, service: SurveillanceService) -> None:
        self._service = service

    @endpoint(roles=READERS, query=ProfileQuery, response=dict[str, Any], tags=["profiles"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: str
    ) -> None:
        """Order-to-trade, cancel ratio, lifetimes, sizes, aggressiveness, anomaly scores."""
        query = read_query(req, ProfileQuery)
        profile = await self._service.engine.get_user_profile(user_id, query.lookback_days)
        if query.symbol is not None:
            per_symbol = profile.get("symbols", {}) if isinstance(profile, dict) else {}
            if query.symbol not in per_symbol:
                raise NotFound(f"user {user_id} has no activity in {query.symbol}")
            profile = per_symbol[query.symbol]
        resp.media = profile


class ThresholdsListResource:
    """``/thresholds``: every detector's thresholds in force."""

    def __init__(self, service: SurveillanceService) -> None:
        self._service = service

    @endpoint(roles=READERS, response=dict[str, dict[str, Any]], tags=["thresholds"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Detector type -> thresholds."""
        resp.media = {d: self._service.thresholds(d) for d in ALERT_TYPES}


class ThresholdsResource:
    """``/thresholds/{detector}``: read and change one detector's thresholds (audited)."""

    def __init__(self, service: SurveillanceService, store: ThresholdStore) -> None:
        self._service = service
        self._store = store

    @staticmethod
    def _detector(detector: str) -> str:
        name = detector.upper()
        if name not in ALERT_TYPES:
            raise NotFound(f"unknown detector {detector!r}; one of {', '.join(ALERT_TYPES)}")
        return name

    @endpoint(roles=READERS, response=ThresholdsView, tags=["thresholds"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, detector: str
    ) -> None:
        """The thresholds in force and their recent changes."""
        name = self._detector(detector)
        resp.media = ThresholdsView(
            detector=name,
            thresholds=self._service.thresholds(name),
            changes=await self._store.history(name),
        )

    @endpoint(roles=READERS, body=ThresholdsBody, response=ThresholdsView, tags=["thresholds"])
    async def on_put(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        detector: str,
        *,
        body: ThresholdsBody,
    ) -> None:
        """Validate, record and apply new thresholds (a new version)."""
        name = self._detector(detector)
        try:
            applied = await self._service.change_thresholds(
                name, body.thresholds, actor=principal_of(req).subject, reason=body.reason
            )
        except ThresholdError as exc:
            raise invalid(threshold_field(exc), str(exc)) from exc
        resp.media = ThresholdsView(
            detector=name, thresholds=applied, changes=await self._store.history(name)
        )


class ScansResource:
    """``/scans``: start a historical scan of the archive."""

    def __init__(self, jobs: ScanJobs) -> None:
        self._jobs = jobs

    @endpoint(roles=READERS, body=ScanBody, response=ScanView, status=202, tags=["scans"])
    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, *, body: ScanBody
    ) -> None:
        """Start a scan job (202; poll ``GET /scans/{scan_id}``)."""
        if body.end_ns < body.start_ns:
            raise invalid("$.end_ns", "must not be before start_ns")
        key = req.get_header("Idempotency-Key")
        subject = principal_of(req).subject
        scan_id = (
            f"scan-{uuid.uuid5(uuid.NAMESPACE_URL, f'{subject}:{key}').hex[:20]}"
            if key
            else f"scan-{uuid.uuid4().hex[:20]}"
        )
        view, created = await self._jobs.start(
            scan_id, body.start_ns, body.end_ns, body.symbols, body.users, subject
        )
        resp.status = falcon.HTTP_202 if created else falcon.HTTP_200
        resp.set_header("Location", f"/scans/{scan_id}")
        resp.media = view


#: Largest audit-trail upload (bytes) a REST scan takes; larger files go through the CLI.
MAX_AUDIT_BYTES = 64 << 20
MAX_REPORTED_LINES = 1_000


class BadLine(msgspec.Struct, kw_only=True):
    """An audit line that could not be read (1-based line number)."""

    line: int
    error: str


class AuditScanView(msgspec.Struct, kw_only=True):
    """A started audit-file scan: the job, the lines read and the lines that were not."""

    scan: ScanView
    lines: int
    bad_lines: int
    errors: list[BadLine]


class AuditScansResource:
    """``/scans/audit``: scan an uploaded audit-trail export (JSON lines, the CLI's format)."""

    def __init__(self, jobs: ScanJobs) -> None:
        self._jobs = jobs

    @endpoint(roles=READERS, response=AuditScanView, status=202, tags=["scans"])
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Start a scan of the JSON lines in the body (``application/x-ndjson``); a bad line
        is reported with its number and the scan goes on. Owners are the ``/accounts`` links."""
        content_type = (req.content_type or "").split(";", 1)[0].strip().lower()
        if content_type not in ("application/x-ndjson", "application/jsonl", "text/plain"):
            raise HTTPProblem(415, "send the audit trail as application/x-ndjson")
        data = await req.stream.read(MAX_AUDIT_BYTES + 1)
        if len(data) > MAX_AUDIT_BYTES:
            raise HTTPProblem(413, f"body exceeds {MAX_AUDIT_BYTES} bytes; use the CLI")
        records: list[Any] = []
        errors: list[BadLine] = []
        lines = 0
        bad = 0
        for number, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            lines += 1
            try:
                records.append(decode_audit_line(line))
            except InputError as exc:
                bad += 1
                if len(errors) < MAX_REPORTED_LINES:
                    errors.append(BadLine(line=number, error=str(exc)))
        if not records:
            raise invalid("$", "the body holds no readable audit line")
        subject = principal_of(req).subject
        view, _ = await self._jobs.start_records(f"scan-{uuid.uuid4().hex[:20]}", records, subject)
        resp.status = falcon.HTTP_202
        resp.set_header("Location", f"/scans/{view.scan_id}")
        resp.media = AuditScanView(scan=view, lines=lines, bad_lines=bad, errors=errors)


class ScanResource:
    """``/scans/{scan_id}``: progress (GET) and cancellation (DELETE)."""

    def __init__(self, jobs: ScanJobs) -> None:
        self._jobs = jobs

    @endpoint(roles=READERS, response=ScanView, tags=["scans"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, scan_id: str
    ) -> None:
        """A job's status and progress."""
        resp.media = await self._jobs.view(scan_id)

    @endpoint(roles=READERS, response=ScanView, tags=["scans"])
    async def on_delete(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, scan_id: str
    ) -> None:
        """Cancel a pending or running job (a finished one is left as it is: 409)."""
        resp.media = await self._jobs.cancel(scan_id)


class ScanAlertsResource:
    """``/scans/{scan_id}/alerts``: what a finished scan found."""

    def __init__(self, jobs: ScanJobs) -> None:
        self._jobs = jobs

    @endpoint(roles=READERS, response=Page[dict[str, Any]], paginated=True, tags=["scans"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, scan_id: str
    ) -> None:
        """The alerts a scan found, in the order it found them."""
        page = page_request(req, int)
        rows = await self._jobs.alerts(scan_id, page.after or 0, page.limit + 1)
        paged = make_page(rows, page.limit, lambda item: item[0])
        resp.media = Page(items=[a for _, a in paged.items], next_cursor=paged.next_cursor)


class OwnersBody(RequestBody):
    """Account -> beneficial owner links (the audit scan's accounts file has this shape)."""

    owners: Annotated[dict[Identifier, Identifier], Meta(min_length=1, max_length=100_000)]


class OwnersResult(msgspec.Struct, kw_only=True):
    """How many links a load changed."""

    accounts: int
    changed: int


class AccountsResource:
    """``/accounts``: the beneficial owners the detectors link accounts by."""

    def __init__(self, service: SurveillanceService) -> None:
        self._service = service

    @endpoint(roles=READERS, response=dict[str, str], tags=["accounts"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Account id -> beneficial owner id."""
        resp.media = self._service.owners()

    @endpoint(roles=READERS, body=OwnersBody, response=OwnersResult, tags=["accounts"])
    async def on_put(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, *, body: OwnersBody
    ) -> None:
        """Add or change links (used from the next event on)."""
        changed = await self._service.set_owners(body.owners, actor=principal_of(req).subject)
        resp.media = OwnersResult(accounts=len(body.owners), changed=changed)


def routes(
    service: SurveillanceService,
    alerts: AlertStore,
    thresholds: ThresholdStore,
    jobs: ScanJobs,
) -> list[tuple[str, object]]:
    """The surveillance service's REST routes."""
    return [
        ("/alerts", AlertsResource(alerts)),
        ("/alerts/{alert_id}", AlertResource(alerts)),
        ("/alerts/{alert_id}/status", AlertStatusResource(alerts)),
        ("/users/{user_id}/profile", ProfileResource(service)),
        ("/accounts", AccountsResource(service)),
        ("/thresholds", ThresholdsListResource(service)),
        ("/thresholds/{detector}", ThresholdsResource(service, thresholds)),
        ("/scans", ScansResource(jobs)),
        ("/scans/audit", AuditScansResource(jobs)),
        ("/scans/{scan_id}", ScanResource(jobs)),
        ("/scans/{scan_id}/alerts", ScanAlertsResource(jobs)),
    ]
