"""The router's FIX 4.4 venue adapter: an :class:`ExecutionVenue` over a QuickFIX initiator.

QuickFIX owns the session (logon, heartbeats, sequence numbers, resend and gap fill, reconnect
every ``ReconnectInterval`` s, a persistent FileStore under the data dir). This adapter only
translates: a child becomes a NewOrderSingle (``ExecInst=f`` for an intermarket sweep), a
cancel an OrderCancelRequest, a replace an OrderCancelReplaceRequest, and ExecutionReports /
OrderCancelRejects become the core's :class:`ChildReport`. QuickFIX calls back on its own
threads; every callback parses the message there and hands a plain value to the event loop
with ``loop.call_soon_threadsafe``. Outbound, ``Session.sendToTarget`` never waits for the
network (QuickFIX queues what the socket cannot take for its own thread) and releases the GIL;
it appends to the FileStore (a buffered write) under the session mutex, which QuickFIX's
thread holds only while it runs a callback. By default the adapter therefore sends on the loop
(``send_on_loop``: 2.5x the parents/s of a hand-off, docs/BENCHMARKS.md); with
``send_on_loop=False`` every send goes through one sender thread whose result the loop awaits.

Fills are identified by the venue's ExecID, so a report resent after a gap (PossDupFlag) is
counted once. Session settings are written at runtime (``write_initiator_settings``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import quickfix as fix

from nexus.money import format_raw, to_raw
from services.routing.core import (
    ChildOrder,
    ChildReport,
    ChildStatus,
    ExecutionVenue,
    Fill,
    VenueProfile,
    VenueUnavailable,
)

log = logging.getLogger(__name__)

BEGIN_STRING: Final = "FIX.4.4"
EXEC_INST_ISO: Final = "f"
DEFAULT_SENDER: Final = "NEXUSROUTER"

T_AVG_PX, T_CL_ORD_ID, T_COMMISSION, T_CUM_QTY, T_EXEC_ID = 6, 11, 12, 14, 17
T_EXEC_INST, T_HANDL_INST, T_LAST_PX, T_LAST_QTY, T_ORDER_ID = 18, 21, 31, 32, 37
T_ORDER_QTY, T_ORD_STATUS, T_ORD_TYPE, T_ORIG_CL_ORD_ID, T_PRICE = 38, 39, 40, 41, 44
T_SIDE, T_SYMBOL, T_TEXT, T_TIF, T_TRANSACT_TIME = 54, 55, 58, 59, 60
T_EXEC_TYPE, T_LEAVES_QTY, T_LAST_LIQUIDITY, T_POSS_DUP = 150, 151, 851, 43

_SIDE: Final = {"BUY": "1", "SELL": "2"}
_TIF: Final = {"IOC": "3", "DAY": "0"}


def write_initiator_settings(
    directory: Path,
    sender_comp_id: str,
    target_comp_id: str,
    host: str,
    port: int,
    *,
    heartbeat_s: int = 5,
    reconnect_s: int = 1,
) -> Path:
    """Write the QuickFIX settings of one initiator session (store and logs under ``directory``)."""
    directory.mkdir(parents=True, exist_ok=True)
    store = directory / "store"
    store.mkdir(exist_ok=True)
    text = "\n".join(
        [
            "[DEFAULT]",
            "ConnectionType=initiator",
            f"ReconnectInterval={reconnect_s}",
            f"HeartBtInt={heartbeat_s}",
            f"FileStorePath={store}",
            f"FileLogPath={directory / 'log'}",
            "StartTime=00:00:00",
            "EndTime=00:00:00",
            "UseDataDictionary=N",
            "ResetOnLogon=N",
            "ResetOnLogout=N",
            "ResetOnDisconnect=N",
            "PersistMessages=Y",
            "SocketNodelay=Y",
            "",
            "[SESSION]",
            f"BeginString={BEGIN_STRING}",
            f"SenderCompID={sender_comp_id}",
            f"TargetCompID={target_comp_id}",
            f"SocketConnectHost={host}",
            f"SocketConnectPort={port}",
        ]
    )
    path = directory / "initiator.cfg"
    path.write_text(text + "\n")
    return path


@dataclass(frozen=True, slots=True)
class InboundReport:
    """An ExecutionReport (``kind='8'``) or OrderCancelReject (``kind='9'``), parsed."""

    kind: str
    cl_ord_id: str
    orig_cl_ord_id: str
    exec_id: str
    exec_type: str
    ord_status: str
    leaves_qty: int
    cum_qty: int
    last_px: int
    last_qty: int
    fee: int
    maker: bool
    ts: int
    text: str
    poss_dup: bool


def _get(message: fix.Message, tag: int, default: str = "") -> str:
    return str(message.getField(tag)) if message.isSetField(tag) else default


def _raw(text: str) -> int:
    return to_raw(text) if text else 0


def parse_report(message: fix.Message) -> InboundReport | None:
    """Translate an inbound application message; None for anything else."""
    header = message.getHeader()
    kind = header.getField(35)
    if kind not in ("8", "9"):
        return None
    ts_text = _get(message, T_TRANSACT_TIME)
    return InboundReport(
        kind=kind,
        cl_ord_id=_get(message, T_CL_ORD_ID),
        orig_cl_ord_id=_get(message, T_ORIG_CL_ORD_ID),
        exec_id=_get(message, T_EXEC_ID),
        exec_type=_get(message, T_EXEC_TYPE),
        ord_status=_get(message, T_ORD_STATUS),
        leaves_qty=_raw(_get(message, T_LEAVES_QTY)),
        cum_qty=_raw(_get(message, T_CUM_QTY)),
        last_px=_raw(_get(message, T_LAST_PX)),
        last_qty=_raw(_get(message, T_LAST_QTY)),
        fee=_raw(_get(message, T_COMMISSION)),
        maker=_get(message, T_LAST_LIQUIDITY) == "1",
        ts=int(ts_text) if ts_text.isdigit() else 0,
        text=_get(message, T_TEXT),
        poss_dup=header.isSetField(T_POSS_DUP) and header.getField(T_POSS_DUP) == "Y",
    )


def _message(msg_type: str) -> fix.Message:
    message = fix.Message()
    header = message.getHeader()
    header.setField(fix.BeginString(BEGIN_STRING))
    header.setField(fix.MsgType(msg_type))
    return message


def _put(message: fix.Message, tag: int, value: str) -> None:
    message.setField(fix.StringField(tag, value))


def new_order_single(child: ChildOrder, cl_ord_id: str, ts_ns: int) -> fix.Message:
    """NewOrderSingle (35=D): a limit order, IOC or DAY, ISO-marked when it sweeps."""
    message = _message("D")
    _put(message, T_CL_ORD_ID, cl_ord_id)
    _put(message, T_HANDL_INST, "1")
    _put(message, T_SYMBOL, child.symbol)
    _put(message, T_SIDE, _SIDE[child.side])
    _put(message, T_ORDER_QTY, str(format_raw(child.quantity)))
    _put(message, T_ORD_TYPE, "2")
    _put(message, T_PRICE, str(format_raw(child.limit_price)))
    _put(message, T_TIF, _TIF[child.time_in_force])
    _put(message, T_TRANSACT_TIME, str(ts_ns))
    if child.iso:
        _put(message, T_EXEC_INST, EXEC_INST_ISO)
    return message


def cancel_request(child: ChildOrder, cl_ord_id: str, orig: str, ts_ns: int) -> fix.Message:
    """OrderCancelRequest (35=F) of the whole open quantity."""
    message = _message("F")
    _put(message, T_CL_ORD_ID, cl_ord_id)
    _put(message, T_ORIG_CL_ORD_ID, orig)
    _put(message, T_SYMBOL, child.symbol)
    _put(message, T_SIDE, _SIDE[child.side])
    _put(message, T_ORDER_QTY, str(format_raw(child.quantity)))
    _put(message, T_TRANSACT_TIME, str(ts_ns))
    return message


def replace_request(
    child: ChildOrder, cl_ord_id: str, orig: str, quantity: int, price: int, ts_ns: int
) -> fix.Message:
    """OrderCancelReplaceRequest (35=G): new total quantity and limit price."""
    message = _message("G")
    _put(message, T_CL_ORD_ID, cl_ord_id)
    _put(message, T_ORIG_CL_ORD_ID, orig)
    _put(message, T_HANDL_INST, "1")
    _put(message, T_SYMBOL, child.symbol)
    _put(message, T_SIDE, _SIDE[child.side])
    _put(message, T_ORDER_QTY, str(format_raw(quantity)))
    _put(message, T_ORD_TYPE, "2")
    _put(message, T_PRICE, str(format_raw(price)))
    _put(message, T_TIF, _TIF[child.time_in_force])
    _put(message, T_TRANSACT_TIME, str(ts_ns))
    return message


@dataclass(slots=True)
class SessionCounters:
    """Session-level events seen (admin messages by type, logons), for metrics and tests."""

    logons: int = 0
    logouts: int = 0
    resend_requests_sent: int = 0
    resend_requests_received: int = 0
    gap_fills_received: int = 0
    poss_dup_reports: int = 0


class RouterApplication(fix.Application):  # type: ignore[misc]
    """QuickFIX callbacks of one initiator: parse, then hand off to the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, adapter: FixVenue) -> None:
        super().__init__()
        self._loop = loop
        self._adapter = adapter

    def onCreate(self, sessionID: fix.SessionID) -> None:
        self._loop.call_soon_threadsafe(self._adapter._on_create, sessionID)

    def onLogon(self, sessionID: fix.SessionID) -> None:
        self._loop.call_soon_threadsafe(self._adapter._on_logon, True)

    def onLogout(self, sessionID: fix.SessionID) -> None:
        self._loop.call_soon_threadsafe(self._adapter._on_logon, False)

    def toAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        if message.getHeader().getField(35) == "2":
            self._loop.call_soon_threadsafe(self._adapter._count, "resend_requests_sent")

    def fromAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        msg_type = message.getHeader().getField(35)
        if msg_type == "2":
            self._loop.call_soon_threadsafe(self._adapter._count, "resend_requests_received")
        elif msg_type == "4":
            self._loop.call_soon_threadsafe(self._adapter._count, "gap_fills_received")

    def toApp(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        return None

    def fromApp(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        report = parse_report(message)
        if report is not None:
            self._loop.call_soon_threadsafe(self._adapter._on_report, report)


@dataclass(slots=True)
class _Child:
    """What the adapter knows of one child at its venue."""

    order: ChildOrder
    cl_ord_id: str
    fills: dict[str, Fill] = field(default_factory=dict)
    leaves: int = 0
    status: ChildStatus = ChildStatus.UNKNOWN
    reason: str = ""
    ts: int = 0
    acked: bool = False
    done: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    pending_cancel: str = ""


class FixVenue(ExecutionVenue):
    """An external venue reached over one FIX 4.4 session (the router is the initiator).

    ``submit`` waits for the child's end (IOC) or its acknowledgement (DAY); ``cancel`` asks the
    venue and waits up to ``cancel_timeout_s`` for the answer, also across a reconnect (the
    venue resends what the router missed), and raises :class:`VenueUnavailable` when the
    child's fate cannot be learned.
    """

    def __init__(
        self,
        profile: VenueProfile,
        settings_path: Path,
        *,
        sender_comp_id: str = DEFAULT_SENDER,
        cancel_timeout_s: float = 3.0,
        clock_ns: Callable[[], int] = time.time_ns,
        send_on_loop: bool = True,
    ) -> None:
        self._profile = profile
        self._send_on_loop = send_on_loop
        self._settings_path = settings_path
        self._sender_comp_id = sender_comp_id
        self._cancel_timeout_s = cancel_timeout_s
        self._clock = clock_ns
        self._children: dict[str, _Child] = {}
        self._by_cl_ord_id: dict[str, _Child] = {}
        self._session_id: fix.SessionID | None = None
        self._logged_on = False
        self._logon_changed = asyncio.Event()
        self._initiator: fix.SocketInitiator | None = None
        self._sender: concurrent.futures.ThreadPoolExecutor | None = None
        self._seq = itertools.count(1)
        self.counters = SessionCounters()

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def profile(self) -> VenueProfile:
        return self._profile

    def is_available(self) -> bool:
        return self._logged_on

    async def start(self, logon_timeout_s: float | None = 10.0) -> None:
        """Start the initiator; wait for the first logon unless ``logon_timeout_s`` is None.

        An adapter may be stopped and started again: what it knows of its children stays, so
        reports the venue resends after the new logon complete them.
        """
        loop = asyncio.get_running_loop()
        self._sender = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fix-send")
        settings = fix.SessionSettings(str(self._settings_path))
        self._app = RouterApplication(loop, self)
        self._store = fix.FileStoreFactory(settings)
        self._log = fix.ScreenLogFactory(False, False, False)
        self._initiator = fix.SocketInitiator(self._app, self._store, settings, self._log)
        await asyncio.to_thread(self._initiator.start)
        if logon_timeout_s is not None:
            await self.wait_logged_on(logon_timeout_s)

    async def wait_logged_on(self, timeout_s: float) -> None:
        """Wait until the session is logged on; raises ``TimeoutError``."""
        async with asyncio.timeout(timeout_s):
            while not self._logged_on:
                self._logon_changed.clear()
                await self._logon_changed.wait()

    async def stop(self) -> None:
        """Log out and stop the initiator (QuickFIX joins its threads: off the loop)."""
        initiator, self._initiator = self._initiator, None
        if initiator is not None:
            await asyncio.to_thread(initiator.stop)
        if self._sender is not None:
            self._sender.shutdown(wait=False)
            self._sender = None
        self._logged_on = False

    # -- ExecutionVenue -------------------------------------------------------------------------
    async def submit(self, child: ChildOrder) -> ChildReport:
        if not self._logged_on or self._session_id is None:
            raise VenueUnavailable(self.venue_id, "FIX session not logged on")
        if child.child_id in self._children:
            state = self._children[child.child_id]
        else:
            state = _Child(child, child.child_id, leaves=child.quantity)
            self._children[child.child_id] = state
            self._by_cl_ord_id[state.cl_ord_id] = state
            sent = await self._send(new_order_single(child, state.cl_ord_id, self._clock()))
            if not sent:
                raise VenueUnavailable(self.venue_id, "FIX send refused")
        while not (state.done or (child.time_in_force == "DAY" and state.acked)):
            if not self._logged_on:
                raise VenueUnavailable(
                    self.venue_id,
                    "FIX session lost",
                    order_sent=True,
                    fills=tuple(state.fills.values()),
                )
            state.changed.clear()
            await self._wait_change(state)
        return self._report(state)

    async def cancel(self, child: ChildOrder) -> ChildReport:
        state = self._children.get(child.child_id)
        if state is None:
            # never sent by this adapter (this process): nothing can work there
            return ChildReport(
                child_id=child.child_id,
                venue_id=self.venue_id,
                status=ChildStatus.CANCELED,
                reason="not sent",
                ts_event=self._clock(),
            )
        try:
            async with asyncio.timeout(self._cancel_timeout_s):
                while not state.done:
                    if not self._logged_on:
                        state.pending_cancel = ""
                        await self.wait_logged_on(self._cancel_timeout_s)
                        continue
                    if not state.pending_cancel:
                        state.pending_cancel = f"{state.cl_ord_id}.C{next(self._seq)}"
                        self._by_cl_ord_id[state.pending_cancel] = state
                        await self._send(
                            cancel_request(
                                state.order, state.pending_cancel, state.cl_ord_id, self._clock()
                            )
                        )
                    state.changed.clear()
                    await self._wait_change(state)
        except TimeoutError:
            raise VenueUnavailable(
                self.venue_id,
                "no answer to the cancel",
                order_sent=True,
                fills=tuple(state.fills.values()),
            ) from None
        return self._report(state)

    async def replace(self, child: ChildOrder, quantity: int, price: int) -> ChildReport:
        """Cancel/replace a working DAY child: new total ``quantity`` and limit ``price``."""
        state = self._children[child.child_id]
        if state.done:
            return self._report(state)
        new_id = f"{child.child_id}.R{next(self._seq)}"
        self._by_cl_ord_id[new_id] = state
        before = state.ts
        await self._send(
            replace_request(state.order, new_id, state.cl_ord_id, quantity, price, self._clock())
        )
        async with asyncio.timeout(self._cancel_timeout_s):
            while state.ts == before:
                state.changed.clear()
                await self._wait_change(state)
        return self._report(state)

    def report_of(self, child_id: str) -> ChildReport | None:
        """The adapter's current knowledge of a child (None if never sent)."""
        state = self._children.get(child_id)
        return None if state is None else self._report(state)

    # -- callbacks on the loop ------------------------------------------------------------------
    def _on_create(self, session_id: fix.SessionID) -> None:
        self._session_id = session_id

    def _on_logon(self, up: bool) -> None:
        self._logged_on = up
        if up:
            self.counters.logons += 1
        else:
            self.counters.logouts += 1
        self._logon_changed.set()
        for state in self._children.values():
            if not state.done:
                state.changed.set()

    def _count(self, name: str) -> None:
        setattr(self.counters, name, getattr(self.counters, name) + 1)

    def _on_report(self, report: InboundReport) -> None:
        state = self._by_cl_ord_id.get(report.cl_ord_id) or self._by_cl_ord_id.get(
            report.orig_cl_ord_id
        )
        if state is None:
            log.warning("report for unknown ClOrdID %s from %s", report.cl_ord_id, self.venue_id)
            return
        if report.poss_dup:
            self.counters.poss_dup_reports += 1
        state.ts = max(state.ts, report.ts)
        if report.kind == "9":
            # cancel/replace refused: the order is no longer open at the venue (or unknown)
            if report.cl_ord_id == state.pending_cancel and not state.done:
                state.pending_cancel = ""
                state.reason = report.text
                if "not open" in report.text or "unknown" in report.text:
                    state.leaves = 0
                    state.done = True
            state.ts += 1
            state.changed.set()
            return
        if report.exec_type == "F" and report.last_qty and report.exec_id not in state.fills:
            state.fills[report.exec_id] = Fill(
                fill_id=f"{self.venue_id}:{report.exec_id}",
                child_id=state.order.child_id,
                venue_id=self.venue_id,
                price=report.last_px,
                quantity=report.last_qty,
                fee=report.fee,
                liquidity="MAKER" if report.maker else "TAKER",
                ts_event=report.ts,
            )
        state.acked = True
        if report.exec_type == "5":  # replaced: the new ClOrdID names the order from now on
            state.cl_ord_id = report.cl_ord_id
        if report.ord_status == "8":
            state.status = ChildStatus.REJECTED
            state.reason = report.text
            state.leaves = 0
            state.done = True
        elif report.ord_status in ("2", "4", "C"):
            state.leaves = 0
            state.done = True
            if report.text:
                state.reason = report.text
        else:
            state.leaves = report.leaves_qty
        state.changed.set()

    # -- helpers --------------------------------------------------------------------------------
    async def _wait_change(self, state: _Child) -> None:
        await state.changed.wait()

    async def _send(self, message: fix.Message) -> bool:
        session_id = self._session_id
        if session_id is None or self._sender is None:
            return False
        if self._send_on_loop:
            return _send(message, session_id)
        loop = asyncio.get_running_loop()
        try:
            return bool(await loop.run_in_executor(self._sender, _send, message, session_id))
        except RuntimeError:  # the sender was shut down
            return False

    def _report(self, state: _Child) -> ChildReport:
        filled = sum(f.quantity for f in state.fills.values())
        if state.status == ChildStatus.REJECTED:
            status = ChildStatus.REJECTED
        elif state.done:
            if filled >= state.order.quantity:
                status = ChildStatus.FILLED
            elif filled:
                status = ChildStatus.PARTIALLY_FILLED
            else:
                status = ChildStatus.CANCELED
        elif state.acked:
            status = ChildStatus.WORKING
        else:
            status = ChildStatus.UNKNOWN
        return ChildReport(
            child_id=state.order.child_id,
            venue_id=self.venue_id,
            status=status,
            fills=tuple(state.fills.values()),
            leaves_quantity=0 if state.done else state.leaves,
            reason=state.reason,
            ts_event=state.ts,
        )


def _send(message: fix.Message, session_id: fix.SessionID) -> bool:
    with contextlib.suppress(fix.SessionNotFound):
        return bool(fix.Session.sendToTarget(message, session_id))
    return False
