"""The simulator as surveillance yardstick: audit lines, legitimate look-alikes, quality bars."""

from __future__ import annotations

import io

import msgspec
import pytest

from nexus.sim import simulate
from nexus.sim.__main__ import main as sim_main
from nexus.sim.audit import AuditConverter, audit_accounts, write_audit_jsonl
from nexus.sim.config import EpisodeConfig, LegitConfig, SimConfig
from nexus.sim.legit import (
    HFT,
    INSTITUTION,
    MARKET_MAKER,
    NEWS_JUMP,
    RELATED_ACCOUNTS,
    SLICED_PARENT,
)
from nexus.sim.profiles import realistic_config
from services.surveillance.core.engine import SurveillanceEngine
from services.surveillance.core.normalise import decode_audit_line
from services.surveillance.core.types import ALERT_TYPES
from tests.unit.surveillance import yardstick

NONE = EpisodeConfig(count=0)


@pytest.fixture(scope="module")
def legit_only():
    """Only legitimate behaviour (and background): every alert on a legit actor is false."""
    cfg = realistic_config(
        5,
        symbols=4,
        users=200,
        seconds=60,
        episodes_per_type=0,
        legit=LegitConfig(
            market_makers=4,
            hft=4,
            institutions=8,
            sliced_parents=8,
            news_jumps=4,
            related_accounts=6,
        ),
    )
    result = simulate(cfg)
    buf = io.BytesIO()
    write_audit_jsonl(result.iter_chunks(), buf)
    labels = result.labels()
    owners = {a: u.beneficial_owner for u in labels.users for a in u.accounts}
    engine = SurveillanceEngine(account_owners=owners)
    lines = buf.getvalue().splitlines()
    engine.process_events(lines)
    engine.flush()
    return labels, engine.final_alerts(), lines


def test_audit_lines_decode_with_the_surveillance_reader(legit_only):
    _, _, lines = legit_only
    kinds = {decode_audit_line(x).kind for x in lines[:20000]}
    assert kinds >= {"order_new", "order_cancel", "trade"}


def test_every_legitimate_behaviour_ran(legit_only):
    labels, _, _ = legit_only
    kinds = {x.kind for x in labels.legit}
    assert kinds == {MARKET_MAKER, HFT, INSTITUTION, SLICED_PARENT, NEWS_JUMP, RELATED_ACCOUNTS}
    assert all(x.orders > 0 for x in labels.legit)


def test_hft_order_to_trade_ratio_is_in_the_hft_range(legit_only):
    labels, _, lines = legit_only
    hft_users = {u for x in labels.legit if x.kind == HFT for u in x.user_ids}
    orders = trades = 0
    for line in lines:
        rec = msgspec.json.decode(line)
        if rec["kind"] == "order_new" and rec["user_id"] in hft_users:
            orders += 1
        elif rec["kind"] == "trade" and (
            rec["buy_user_id"] in hft_users or rec["sell_user_id"] in hft_users
        ):
            trades += 1
    assert trades > 0 and 30 <= orders / trades <= 150


def test_related_accounts_never_cross_each_other(legit_only):
    labels, _, lines = legit_only
    pairs = [set(x.accounts) for x in labels.legit if x.kind == RELATED_ACCOUNTS]
    for line in lines:
        rec = msgspec.json.decode(line)
        if rec["kind"] == "trade":
            assert {rec["buy_account_id"], rec["sell_account_id"]} not in pairs


@pytest.mark.parametrize(
    "kind", [MARKET_MAKER, HFT, INSTITUTION, SLICED_PARENT, NEWS_JUMP, RELATED_ACCOUNTS]
)
def test_legitimate_behaviour_raises_no_alert(legit_only, kind):
    labels, alerts, _ = legit_only
    actors = [x for x in labels.legit if x.kind == kind]
    hits = [
        a
        for a in alerts
        for x in actors
        if a.symbol == x.symbol
        and set(a.user_ids or [a.user_id]) & set(x.user_ids)
        and a.start_ns <= x.window_end_ns
        and x.window_start_ns <= a.end_ns
    ]
    assert hits == []


def test_background_false_alerts_stay_rare(legit_only):
    _, alerts, lines = legit_only
    assert len(alerts) * 100_000 / len(lines) <= 2.0


def test_default_profile_is_unchanged_by_the_legit_options():
    cfg = SimConfig(seed=3, symbols=2, users=50, seconds=5, orders_per_second=100.0)
    a = simulate(cfg).stats()
    b = simulate(msgspec.structs.replace(cfg, legit=LegitConfig())).stats()
    assert a == b


def test_converter_tracks_amend_totals_and_ioc_types():
    from nexus.events import OrderAmend, OrderExpire, OrderNew

    conv = AuditConverter()
    new = OrderNew(
        event_id="e",
        ts_event=1,
        symbol="X",
        order_id="o",
        user_id="u",
        account_id="a",
        side="BUY",
        order_type="LIMIT",
        time_in_force="IOC",
        price=10**10,
        quantity=5 * 10**9,
    )
    assert conv.convert(new).order_type == "IOC"
    amend = OrderAmend(
        event_id="f",
        ts_event=2,
        symbol="X",
        order_id="o",
        user_id="u",
        account_id="a",
        side="BUY",
        price=10**10,
        quantity=3 * 10**9,
        old_price=10**10,
        old_quantity=5 * 10**9,
        keeps_priority=True,
    )
    line = conv.convert(amend)
    assert (line.quantity, line.remaining) == ("3", "3")
    gone = OrderExpire(
        event_id="g",
        ts_event=3,
        symbol="X",
        order_id="o",
        user_id="u",
        account_id="a",
        side="BUY",
        price=10**10,
        expired_quantity=3 * 10**9,
    )
    assert conv.convert(gone).kind == "order_cancel"


def test_cli_writes_audit_lines_and_the_accounts_map(tmp_path):
    out, labels, acc = tmp_path / "e.jsonl", tmp_path / "l.json", tmp_path / "a.json"
    assert (
        sim_main(
            [
                "--profile",
                "realistic",
                "--seed",
                "2",
                "--symbols",
                "2",
                "--users",
                "60",
                "--seconds",
                "5",
                "--format",
                "audit-jsonl",
                "--out",
                str(out),
                "--labels",
                str(labels),
                "--accounts",
                str(acc),
            ]
        )
        == 0
    )
    first = decode_audit_line(out.read_bytes().splitlines()[0])
    assert first.kind == "order_new"
    owners = msgspec.json.decode(acc.read_bytes())
    assert isinstance(owners, dict) and all(v.startswith("BO") for v in owners.values())


def test_accounts_map_covers_every_account():
    result = simulate(SimConfig(seed=1, symbols=1, users=20, seconds=2))
    owners = msgspec.json.decode(audit_accounts(result.population.users))
    assert len(owners) == len(result.population.account_ids)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="measured shortfall (docs/BENCHMARKS.md, Surveillance): spoofing and momentum "
    "recall fall below 0.95 on some seeds (this run: 14/16 each); remove this mark when the "
    "bars are met",
)
def test_quality_bars_on_a_realistic_run():
    """Precision >= 0.90 and recall >= 0.95 per pattern, <= 1 false alert per 100k events,
    on realistic labelled flow with every legitimate look-alike on (default thresholds)."""
    ev, figures = yardstick.run(seed=21, symbols=6, users=300, seconds=60, episodes_per_type=16)
    assert figures["events"] >= 250_000
    for t in ALERT_TYPES:
        s = ev.by_type[t]
        assert s.labels >= 15, t
        assert s.precision >= 0.90, (t, figures)
        assert s.recall >= 0.95, (t, figures)
    assert ev.false_per_100k <= 1.0, figures
