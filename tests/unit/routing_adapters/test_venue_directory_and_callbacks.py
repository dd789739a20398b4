"""Venue descriptors, the directory's bookkeeping, and the QuickFIX callbacks' hand-off."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import quickfix as fix

from nexus.money import to_raw
from services.routing.core import ExecutionVenue, VenueProfile
from services.routing.fix import FixVenue, RouterApplication, write_initiator_settings
from services.routing.venues import VenueDirectory, read_descriptor, read_descriptors
from services.venues.fix import VenueApplication, VenueCommand

Q = to_raw


def descriptor(directory: Path, name: str, **kw: object) -> Path:
    body: dict[str, object] = {
        "name": name,
        "host": "127.0.0.1",
        "port": 1,
        "sender_comp_id": name,
        "clients": ["NEXUSROUTER"],
        "maker_fee_per_share": "-0.002",
        "taker_fee_per_share": "0.003",
        "latency_median_ms": 0.5,
        "pid": os.getpid(),
    }
    body.update(kw)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(body))
    return path


def test_a_descriptor_becomes_the_routers_venue_profile(tmp_path: Path) -> None:
    d = read_descriptor(descriptor(tmp_path, "ALPHA"))
    assert d is not None
    profile = d.profile()
    assert profile.venue_id == "ALPHA" and profile.taker_fee == Q("0.003")
    assert profile.maker_rebate == Q("0.002") and profile.expected_latency_ns == 500_000
    assert profile.kind == "EXTERNAL" and profile.protected and profile.supports_iso


def test_malformed_dead_and_missing_descriptors_are_skipped(tmp_path: Path) -> None:
    descriptor(tmp_path, "ALPHA")
    descriptor(tmp_path, "DEAD", pid=2**22 + 12345)
    (tmp_path / "BROKEN.json").write_text("{not json")
    descriptor(tmp_path, "NOFEE", taker_fee_per_share="abc")
    assert [d.name for d in read_descriptors(tmp_path)] == ["ALPHA"]
    assert {d.name for d in read_descriptors(tmp_path, live_only=False)} == {"ALPHA", "DEAD"}
    assert read_descriptors(tmp_path / "nowhere") == []
    assert read_descriptor(tmp_path / "nowhere.json") is None


async def test_the_directory_connects_new_venues_and_reconnects_moved_ones(tmp_path: Path) -> None:
    registered: list[ExecutionVenue] = []
    directory = VenueDirectory(tmp_path, registered.append, heartbeat_s=1)
    descriptor(tmp_path / "venues", "ALPHA", port=40001)
    descriptor(tmp_path / "venues", "OTHER", clients=["SOMEONE"])
    assert await directory.refresh() == ["ALPHA"]
    assert await directory.refresh() == []  # unchanged endpoint: nothing to do
    descriptor(tmp_path / "venues", "ALPHA", port=40002)
    assert await directory.refresh() == ["ALPHA"]
    assert len(registered) == 2 and set(directory.venues) == {"ALPHA"}
    cfg = (tmp_path / "fix" / "router" / "NEXUSROUTER" / "ALPHA" / "initiator.cfg").read_text()
    assert "SocketConnectPort=40002" in cfg
    await directory.stop()
    assert directory.venues == {}


class _Loop:
    """Records what QuickFIX's threads hand to the event loop."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, tuple[object, ...]]] = []

    def call_soon_threadsafe(self, fn: object, *args: object) -> None:
        self.calls.append((fn, args))


def _admin(msg_type: str) -> fix.Message:
    message = fix.Message()
    message.getHeader().setField(fix.MsgType(msg_type))
    return message


async def test_router_callbacks_only_hand_values_to_the_loop(tmp_path: Path) -> None:
    cfg = write_initiator_settings(tmp_path, "NEXUSROUTER", "ALPHA", "127.0.0.1", 1)
    adapter = FixVenue(VenueProfile(venue_id="ALPHA"), cfg)
    loop = _Loop()
    app = RouterApplication(loop, adapter)  # type: ignore[arg-type]
    sid = fix.SessionID("FIX.4.4", "NEXUSROUTER", "ALPHA")
    app.onCreate(sid)
    app.onLogon(sid)
    app.toAdmin(_admin("2"), sid)
    app.toAdmin(_admin("0"), sid)
    app.fromAdmin(_admin("2"), sid)
    app.fromAdmin(_admin("4"), sid)
    app.toApp(_admin("D"), sid)
    app.fromApp(_admin("0"), sid)  # not a report: nothing handed over
    app.onLogout(sid)
    for fn, args in loop.calls:
        fn(*args)  # type: ignore[operator]
    c = adapter.counters
    assert (c.logons, c.logouts) == (1, 1)
    assert c.resend_requests_sent == 1 and c.resend_requests_received == 1
    assert c.gap_fills_received == 1 and not adapter.is_available()
    await asyncio.sleep(0)


def test_venue_callbacks_translate_and_hand_off() -> None:
    loop = _Loop()
    commands: list[VenueCommand] = []
    sessions: list[tuple[str, bool]] = []
    app = VenueApplication(loop, commands.append, lambda s, up: sessions.append((s, up)))  # type: ignore[arg-type]
    sid = fix.SessionID("FIX.4.4", "ALPHA", "NEXUSROUTER")
    app.onCreate(sid)
    app.onLogon(sid)
    app.toAdmin(_admin("0"), sid)
    app.fromAdmin(_admin("0"), sid)
    app.toApp(_admin("8"), sid)
    app.fromApp(_admin("F"), sid)
    app.onLogout(sid)
    for fn, args in loop.calls:
        fn(*args)  # type: ignore[operator]
    assert sessions == [("NEXUSROUTER", True), ("NEXUSROUTER", False)]
    assert [c.kind for c in commands] == ["cancel"]
