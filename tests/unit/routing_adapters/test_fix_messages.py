"""FIX 4.4 translation on both sides: the router's orders, the venue's reports, parsed back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import quickfix as fix

from nexus.money import to_raw
from services.routing.core import ChildOrder, ChildStatus, VenueProfile
from services.routing.fix import (
    FixVenue,
    InboundReport,
    cancel_request,
    new_order_single,
    parse_report,
    replace_request,
    write_initiator_settings,
)
from services.venues.core import VenueReport
from services.venues.fix import (
    VenueCommand,
    cancel_reject,
    execution_report,
    parse_command,
    write_acceptor_settings,
)

Q = to_raw
SESSION = fix.SessionID("FIX.4.4", "ALPHA", "NEXUSROUTER")


def child(**kw: object) -> ChildOrder:
    base: dict[str, object] = {
        "child_id": "P1:0:ALPHA",
        "parent_id": "P1",
        "user_id": "u1",
        "venue_id": "ALPHA",
        "symbol": "SIM0000",
        "side": "BUY",
        "quantity": Q("300"),
        "limit_price": Q("50.05"),
    }
    base.update(kw)
    return ChildOrder(**base)  # type: ignore[arg-type]


def wire(message: fix.Message) -> fix.Message:
    """The message as the counterparty parses it off the wire."""
    text = message.toString()
    parsed = fix.Message()
    parsed.setString(text, False)
    return parsed


def report(**kw: object) -> VenueReport:
    base: dict[str, object] = {
        "exec_type": "PARTIAL",
        "exec_id": "ALPHA-E7",
        "session": "NEXUSROUTER",
        "cl_ord_id": "P1:0:ALPHA",
        "order_id": "ALPHA-3",
        "symbol": "SIM0000",
        "side": "BUY",
        "price": Q("50.05"),
        "quantity": Q("300"),
        "cum_qty": Q("100"),
        "leaves_qty": Q("200"),
        "avg_px": Q("50.01"),
        "ts": 1_767_623_400_000_000_123,
        "last_px": Q("50.01"),
        "last_qty": Q("100"),
        "fee": Q("0.3"),
        "liquidity": "REMOVED",
    }
    base.update(kw)
    return VenueReport(**base)  # type: ignore[arg-type]


def test_new_order_single_round_trips_into_a_venue_command_with_exact_decimals() -> None:
    message = wire(new_order_single(child(iso=True), "P1:0:ALPHA", 5))
    command = parse_command(message, SESSION)
    assert command.kind == "new" and command.session == "NEXUSROUTER"
    assert command.symbol == "SIM0000" and command.side == "BUY" and command.tif == "IOC"
    assert command.quantity == Q("300") and command.price == Q("50.05")
    assert command.iso is True


def test_day_child_without_iso_is_a_day_order() -> None:
    command = parse_command(wire(new_order_single(child(time_in_force="DAY"), "c", 5)), SESSION)
    assert command.tif == "DAY" and command.iso is False and command.side == "BUY"


def test_cancel_and_replace_requests_name_the_original_order() -> None:
    cancel = parse_command(wire(cancel_request(child(), "c.C1", "c", 5)), SESSION)
    assert cancel.kind == "cancel" and cancel.orig_cl_ord_id == "c" and cancel.cl_ord_id == "c.C1"
    replace = parse_command(
        wire(replace_request(child(), "c.R1", "c", Q("500"), Q("50.10"), 5)), SESSION
    )
    assert replace.kind == "replace" and replace.quantity == Q("500")
    assert replace.price == Q("50.10") and replace.orig_cl_ord_id == "c"


def test_market_orders_unknown_types_and_bad_numbers_are_invalid_commands() -> None:
    message = wire(new_order_single(child(), "c", 5))
    message.setField(fix.StringField(40, "1"))
    assert parse_command(message, SESSION).kind == "invalid"
    message = wire(new_order_single(child(), "c", 5))
    message.setField(fix.StringField(38, "12abc"))
    bad = parse_command(message, SESSION)
    assert bad.kind == "invalid" and "malformed" in bad.text
    status = fix.Message()
    status.getHeader().setField(fix.MsgType("H"))
    assert "unsupported MsgType" in parse_command(status, SESSION).text


def test_partial_fill_report_parses_into_exact_values() -> None:
    parsed = parse_report(wire(execution_report(report())))
    assert isinstance(parsed, InboundReport)
    assert parsed.kind == "8" and parsed.exec_type == "F" and parsed.ord_status == "1"
    assert parsed.last_px == Q("50.01") and parsed.last_qty == Q("100") and parsed.fee == Q("0.3")
    assert parsed.leaves_qty == Q("200") and parsed.cum_qty == Q("100")
    assert parsed.maker is False and parsed.ts == 1_767_623_400_000_000_123


def test_rebates_are_negative_commissions_and_iso_is_echoed() -> None:
    msg = execution_report(report(exec_type="FILL", fee=-Q("0.05"), liquidity="ADDED", iso=True))
    parsed = parse_report(wire(msg))
    assert parsed is not None and parsed.fee == -Q("0.05") and parsed.maker is True
    assert wire(msg).getField(18) == "f" and parsed.ord_status == "2"


def test_reject_and_cancel_reject_carry_the_reason() -> None:
    parsed = parse_report(
        wire(execution_report(report(exec_type="REJECTED", text="no", last_qty=0)))
    )
    assert parsed is not None and parsed.ord_status == "8" and parsed.text == "no"
    command = VenueCommand("cancel", "NEXUSROUTER", SESSION, "c.C1", orig_cl_ord_id="c")
    refused = parse_report(wire(cancel_reject(command, "unknown order c")))
    assert refused is not None and refused.kind == "9" and "unknown" in refused.text
    heartbeat = fix.Message()
    heartbeat.getHeader().setField(fix.MsgType("0"))
    assert parse_report(heartbeat) is None


def test_session_settings_files_are_written_for_both_sides(tmp_path: Path) -> None:
    acceptor = write_acceptor_settings(tmp_path / "v", "ALPHA", ["NEXUSROUTER", "TAKER"], 9999)
    text = acceptor.read_text()
    assert "SocketAcceptPort=9999" in text and text.count("[SESSION]") == 2
    assert "ResetOnLogon=N" in text and (tmp_path / "v" / "store").is_dir()
    initiator = write_initiator_settings(tmp_path / "r", "NEXUSROUTER", "ALPHA", "127.0.0.1", 9999)
    body = initiator.read_text()
    assert "SocketConnectPort=9999" in body and "TargetCompID=ALPHA" in body
    fix.SessionSettings(str(acceptor))  # QuickFIX accepts both files
    fix.SessionSettings(str(initiator))


async def _adapter(tmp_path: Path) -> FixVenue:
    cfg = write_initiator_settings(tmp_path, "NEXUSROUTER", "ALPHA", "127.0.0.1", 1)
    return FixVenue(VenueProfile(venue_id="ALPHA"), cfg, cancel_timeout_s=0.2)


async def test_submit_without_a_session_is_unavailable_and_nothing_was_sent(tmp_path: Path) -> None:
    from services.routing.core import VenueUnavailable

    venue = await _adapter(tmp_path)
    assert not venue.is_available()
    try:
        await venue.submit(child())
    except VenueUnavailable as exc:
        assert exc.order_sent is False
    else:  # pragma: no cover
        raise AssertionError("expected VenueUnavailable")
    cancelled = await venue.cancel(child())
    assert cancelled.status is ChildStatus.CANCELED and cancelled.reason == "not sent"
    assert venue.report_of("P1:0:ALPHA") is None


async def test_reports_accumulate_fills_once_by_exec_id(tmp_path: Path) -> None:
    from services.routing.fix import _Child

    venue = await _adapter(tmp_path)
    order = child()
    state = _Child(order, order.child_id, leaves=order.quantity)
    venue._children[order.child_id] = state
    venue._by_cl_ord_id[order.child_id] = state
    first = parse_report(wire(execution_report(report())))
    assert first is not None
    venue._on_report(first)
    venue._on_report(first)  # a resent duplicate (PossDup) is counted once
    partial = venue.report_of(order.child_id)
    assert partial is not None and partial.status is ChildStatus.WORKING
    assert partial.filled_quantity == Q("100") and partial.leaves_quantity == Q("200")
    end = parse_report(
        wire(
            execution_report(
                report(exec_type="CANCELED", exec_id="ALPHA-E8", last_qty=0, leaves_qty=0)
            )
        )
    )
    assert end is not None
    venue._on_report(end)
    final = venue.report_of(order.child_id)
    assert final is not None and final.status is ChildStatus.PARTIALLY_FILLED
    assert final.leaves_quantity == 0 and len(final.fills) == 1
    assert final.fills[0].fill_id == "ALPHA:ALPHA-E7" and final.fills[0].fee == Q("0.3")
    await asyncio.sleep(0)
