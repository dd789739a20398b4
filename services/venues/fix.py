"""The venue's FIX 4.4 acceptor (QuickFIX): translation only, the exchange runs on asyncio.

QuickFIX owns the sessions - logon, heartbeats, sequence numbers, resend and gap fill, and a
persistent :class:`quickfix.FileStore` under the data dir, so a restarted venue continues its
sequence numbers and can resend what a disconnected client missed. This module turns inbound
application messages into :class:`VenueCommand` values and hands them to the event loop with
``loop.call_soon_threadsafe`` (QuickFIX calls back on its own threads); outbound execution
reports are built from :class:`~services.venues.core.VenueReport` and sent from one sender
thread (FIFO), so the loop never waits on a socket or on the store's disk write.

Session settings are written at runtime to ``<dir>/acceptor.cfg`` in QuickFIX's own format.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import quickfix as fix

from nexus.money import format_raw, to_raw
from services.venues.core import VenueReport

log = logging.getLogger(__name__)

BEGIN_STRING: Final = "FIX.4.4"
#: ExecInst value marking an intermarket sweep order (Reg NMS Rule 611 ISO).
EXEC_INST_ISO: Final = "f"

# tags used here (FIX 4.4)
T_AVG_PX, T_CL_ORD_ID, T_COMMISSION, T_CUM_QTY, T_EXEC_ID = 6, 11, 12, 14, 17
T_EXEC_INST, T_LAST_PX, T_LAST_QTY, T_ORDER_ID, T_ORDER_QTY = 18, 31, 32, 37, 38
T_ORD_STATUS, T_ORD_TYPE, T_ORIG_CL_ORD_ID, T_PRICE, T_SIDE = 39, 40, 41, 44, 54
T_SYMBOL, T_TEXT, T_TIF, T_TRANSACT_TIME, T_COMM_TYPE = 55, 58, 59, 60, 13
T_CXL_REJ_REASON, T_EXEC_TYPE, T_LEAVES_QTY, T_CXL_REJ_RESPONSE_TO = 102, 150, 151, 434
T_LAST_LIQUIDITY = 851

_SIDE_IN: Final = {"1": "BUY", "2": "SELL"}
_SIDE_OUT: Final = {"BUY": "1", "SELL": "2"}
_TIF_IN: Final = {"0": "DAY", "1": "GTC", "3": "IOC"}
#: (ExecType 150, OrdStatus 39) of each report kind
_EXEC_OUT: Final = {
    "NEW": ("0", "0"),
    "PARTIAL": ("F", "1"),
    "FILL": ("F", "2"),
    "CANCELED": ("4", "4"),
    "REPLACED": ("5", "0"),
    "REJECTED": ("8", "8"),
}


@dataclass(frozen=True, slots=True)
class VenueCommand:
    """One inbound client request, already translated from FIX."""

    kind: Literal["new", "cancel", "replace", "invalid"]
    session: str
    session_id: fix.SessionID
    cl_ord_id: str
    orig_cl_ord_id: str = ""
    symbol: str = ""
    side: str = ""
    quantity: int = 0
    price: int = 0
    tif: str = "DAY"
    iso: bool = False
    text: str = ""


def _get(message: fix.Message, tag: int, default: str = "") -> str:
    return str(message.getField(tag)) if message.isSetField(tag) else default


def _raw(text: str) -> int:
    return to_raw(text) if text else 0


def parse_command(message: fix.Message, session_id: fix.SessionID) -> VenueCommand:
    """Translate a NewOrderSingle (D), OrderCancelRequest (F) or cancel/replace (G)."""
    msg_type = message.getHeader().getField(35)
    session = session_id.getTargetCompID().getValue()
    cl = _get(message, T_CL_ORD_ID)
    try:
        if msg_type == "D":
            ord_type = _get(message, T_ORD_TYPE, "2")
            if ord_type != "2":
                return VenueCommand("invalid", session, session_id, cl, text="only limit orders")
            side = _SIDE_IN.get(_get(message, T_SIDE), "")
            tif = _TIF_IN.get(_get(message, T_TIF, "0"), "")
            return VenueCommand(
                "new",
                session,
                session_id,
                cl,
                symbol=_get(message, T_SYMBOL),
                side=side,
                quantity=_raw(_get(message, T_ORDER_QTY)),
                price=_raw(_get(message, T_PRICE)),
                tif=tif,
                iso=EXEC_INST_ISO in _get(message, T_EXEC_INST).split(),
            )
        if msg_type == "F":
            return VenueCommand(
                "cancel", session, session_id, cl, orig_cl_ord_id=_get(message, T_ORIG_CL_ORD_ID)
            )
        if msg_type == "G":
            return VenueCommand(
                "replace",
                session,
                session_id,
                cl,
                orig_cl_ord_id=_get(message, T_ORIG_CL_ORD_ID),
                symbol=_get(message, T_SYMBOL),
                quantity=_raw(_get(message, T_ORDER_QTY)),
                price=_raw(_get(message, T_PRICE)),
            )
    except (ValueError, ArithmeticError) as exc:
        return VenueCommand("invalid", session, session_id, cl, text=f"malformed field: {exc}")
    return VenueCommand("invalid", session, session_id, cl, text=f"unsupported MsgType {msg_type}")


def _header(msg_type: str) -> fix.Message:
    message = fix.Message()
    header = message.getHeader()
    header.setField(fix.BeginString(BEGIN_STRING))
    header.setField(fix.MsgType(msg_type))
    return message


def _put(message: fix.Message, tag: int, value: str) -> None:
    message.setField(fix.StringField(tag, value))


def execution_report(report: VenueReport) -> fix.Message:
    """The FIX ExecutionReport (35=8) of a venue report; money as exact decimal text."""
    message = _header("8")
    exec_type, ord_status = _EXEC_OUT[report.exec_type]
    _put(message, T_ORDER_ID, report.order_id)
    _put(message, T_EXEC_ID, report.exec_id)
    _put(message, T_CL_ORD_ID, report.cl_ord_id)
    if report.orig_cl_ord_id:
        _put(message, T_ORIG_CL_ORD_ID, report.orig_cl_ord_id)
    _put(message, T_EXEC_TYPE, exec_type)
    _put(message, T_ORD_STATUS, ord_status)
    _put(message, T_SYMBOL, report.symbol)
    _put(message, T_SIDE, _SIDE_OUT[report.side])
    _put(message, T_ORDER_QTY, str(format_raw(report.quantity)))
    _put(message, T_PRICE, str(format_raw(report.price)))
    _put(message, T_LEAVES_QTY, str(format_raw(report.leaves_qty)))
    _put(message, T_CUM_QTY, str(format_raw(report.cum_qty)))
    _put(message, T_AVG_PX, str(format_raw(report.avg_px)))
    _put(message, T_TRANSACT_TIME, str(report.ts))  # venue time, UTC ns (UTCTimestamp is ms)
    if report.last_qty:
        _put(message, T_LAST_PX, str(format_raw(report.last_px)))
        _put(message, T_LAST_QTY, str(format_raw(report.last_qty)))
        _put(message, T_COMMISSION, str(format_raw(report.fee)))
        _put(message, T_COMM_TYPE, "3")  # absolute amount; negative = rebate
        _put(message, T_LAST_LIQUIDITY, "1" if report.liquidity == "ADDED" else "2")
    if report.iso:
        _put(message, T_EXEC_INST, EXEC_INST_ISO)
    if report.text:
        _put(message, T_TEXT, report.text)
    return message


def cancel_reject(command: VenueCommand, reason: str) -> fix.Message:
    """OrderCancelReject (35=9) for a cancel or replace the venue refuses."""
    message = _header("9")
    _put(message, T_ORDER_ID, "NONE")
    _put(message, T_CL_ORD_ID, command.cl_ord_id)
    _put(message, T_ORIG_CL_ORD_ID, command.orig_cl_ord_id)
    _put(message, T_ORD_STATUS, "8")
    _put(message, T_CXL_REJ_RESPONSE_TO, "1" if command.kind == "cancel" else "2")
    _put(message, T_CXL_REJ_REASON, "1" if "unknown" in reason else "0")
    _put(message, T_TEXT, reason[:200])
    return message


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def write_acceptor_settings(
    directory: Path,
    sender_comp_id: str,
    clients: Sequence[str],
    port: int,
    *,
    file_log: bool = False,
) -> Path:
    """Write the acceptor's QuickFIX session settings (one session per client CompID)."""
    directory.mkdir(parents=True, exist_ok=True)
    store = directory / "store"
    store.mkdir(exist_ok=True)
    lines = [
        "[DEFAULT]",
        "ConnectionType=acceptor",
        f"SocketAcceptPort={port}",
        "SocketReuseAddress=Y",
        "SocketNodelay=Y",
        f"FileStorePath={store}",
        f"FileLogPath={directory / 'log'}",
        "StartTime=00:00:00",
        "EndTime=00:00:00",
        "UseDataDictionary=N",
        "ResetOnLogon=N",
        "ResetOnLogout=N",
        "ResetOnDisconnect=N",
        "PersistMessages=Y",
        f"BeginString={BEGIN_STRING}",
        f"SenderCompID={sender_comp_id}",
    ]
    for client in clients:
        lines += ["", "[SESSION]", f"TargetCompID={client}"]
    path = directory / "acceptor.cfg"
    path.write_text("\n".join(lines) + "\n")
    if file_log:
        (directory / "log").mkdir(exist_ok=True)
    return path


class VenueApplication(fix.Application):  # type: ignore[misc]
    """QuickFIX callbacks: translate and hand off to the loop; nothing else."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_command: Callable[[VenueCommand], None],
        on_session: Callable[[str, bool], None] = lambda _s, _up: None,
    ) -> None:
        super().__init__()
        self._loop = loop
        self._on_command = on_command
        self._on_session = on_session

    def onCreate(self, sessionID: fix.SessionID) -> None:
        return None

    def onLogon(self, sessionID: fix.SessionID) -> None:
        self._loop.call_soon_threadsafe(
            self._on_session, sessionID.getTargetCompID().getValue(), True
        )

    def onLogout(self, sessionID: fix.SessionID) -> None:
        self._loop.call_soon_threadsafe(
            self._on_session, sessionID.getTargetCompID().getValue(), False
        )

    def toAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        return None

    def fromAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        return None

    def toApp(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        return None

    def fromApp(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        command = parse_command(message, sessionID)
        self._loop.call_soon_threadsafe(self._on_command, command)


class FixAcceptor:
    """A started QuickFIX socket acceptor and its one sender thread."""

    def __init__(
        self,
        settings_path: Path,
        application: VenueApplication,
        sender_comp_id: str,
        *,
        file_log: bool = False,
    ) -> None:
        self._sender_comp_id = sender_comp_id
        self._settings = fix.SessionSettings(str(settings_path))
        self._store = fix.FileStoreFactory(self._settings)
        self._log = (
            fix.FileLogFactory(self._settings)
            if file_log
            else fix.ScreenLogFactory(False, False, False)
        )
        self._application = application
        # ThreadedSocketAcceptor, not SocketAcceptor: QuickFIX 1.16's SocketAcceptor.stop sets
        # the stop flag and then closes the server that its own socket thread deletes on seeing
        # that flag (a use-after-free: SIGSEGV in SocketServer::close, reproduced about one stop
        # in three in tests/unit/venues). The threaded acceptor's stop closes the listening
        # socket under its mutex and joins the accept thread.
        self._acceptor = fix.ThreadedSocketAcceptor(
            application, self._store, self._settings, self._log
        )
        self._sender = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fix-send")

    def session_of(self, report: VenueReport) -> fix.SessionID:
        """The FIX session of the client a report belongs to."""
        return fix.SessionID(BEGIN_STRING, self._sender_comp_id, report.session)

    def start(self) -> None:
        """Listen (QuickFIX's threads take it from here)."""
        self._acceptor.start()

    def send(self, message: fix.Message, session_id: fix.SessionID) -> None:
        """Queue ``message`` for ``session_id`` (stored and sent later if it is logged out)."""
        self._sender.submit(_send, message, session_id)

    def stop(self) -> None:
        """Flush the sender, log out the sessions and stop listening."""
        self._sender.shutdown(wait=True)
        self._acceptor.stop()


def _send(message: fix.Message, session_id: fix.SessionID) -> None:
    try:
        fix.Session.sendToTarget(message, session_id)
    except fix.SessionNotFound:
        log.warning("FIX session %s not found; report dropped", session_id.toString())
