"""``python -m services.surveillance scan``: the audit-file scan."""

from __future__ import annotations

import io
import json
from pathlib import Path

import msgspec
import pytest

from services.surveillance.__main__ import main
from services.surveillance.scan import run_scan, shard_of
from tests.unit.surveillance.conftest import EPISODE_AT, spoof
from tests.unit.surveillance.market import Market, S, background


@pytest.fixture(scope="module")
def audit_files(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("scan")
    lines = []
    for symbol, seed in (("AAA", 1), ("BBB", 2), ("CCC", 3)):
        m = Market(symbol=symbol)
        background(m, seconds=45, seed=seed)
        spoof(m, EPISODE_AT + seed * S, user=f"SP{symbol}")
        lines += m.run()
    lines.sort(key=lambda e: e["ts_ns"])
    events = d / "events.jsonl"
    enc = msgspec.json.Encoder()
    raw = [enc.encode(e) for e in lines]
    raw.insert(10, b'{"kind":"order_new","ts_ns":"soon"}')
    raw.insert(20, b"garbage")
    events.write_bytes(b"\n".join(raw) + b"\n")
    accounts = d / "accounts.json"
    accounts.write_bytes(msgspec.json.encode({"SPAAA-A": "BO-A"}))
    return events, accounts


def test_scan_writes_one_alert_per_line_with_the_required_fields(audit_files, tmp_path):
    events, accounts = audit_files
    err = io.StringIO()
    summary = run_scan(events, accounts, tmp_path / "alerts.jsonl", err=err)
    rows = [json.loads(x) for x in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert {r["user_id"] for r in rows if r["type"] == "SPOOFING"} >= {"SPAAA", "SPBBB", "SPCCC"}
    for r in rows:
        for key in (
            "alert_id",
            "type",
            "severity",
            "score",
            "user_id",
            "account_ids",
            "owner_id",
            "symbol",
            "start_ns",
            "end_ns",
            "order_ids",
            "trade_ids",
            "explanation",
        ):
            assert key in r
    assert [r["start_ns"] for r in rows] == sorted(r["start_ns"] for r in rows)
    assert summary["alerts"] == len(rows)
    assert next(r for r in rows if r["user_id"] == "SPAAA")["owner_id"] == "BO-A"


def test_bad_lines_are_reported_with_their_numbers_and_the_scan_goes_on(audit_files, tmp_path):
    events, accounts = audit_files
    err = io.StringIO()
    summary = run_scan(events, accounts, tmp_path / "a.jsonl", err=err)
    text = err.getvalue().splitlines()
    assert text[0].startswith("line 11: ") and "ts_ns" in text[0]
    assert text[1].startswith("line 21: ")
    assert summary["bad_lines"] == 2 and summary["events"] == summary["lines"] - 2
    assert json.loads(text[-1])["bad_lines"] == 2


def test_sharded_workers_give_the_same_alerts(audit_files, tmp_path):
    events, accounts = audit_files
    run_scan(events, accounts, tmp_path / "one.jsonl", workers=1, err=io.StringIO())
    err = io.StringIO()
    summary = run_scan(events, accounts, tmp_path / "two.jsonl", workers=2, err=err)
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert summary["bad_lines"] == 2 and summary["workers"] == 2


def test_cli_entry_point_and_missing_files(audit_files, tmp_path, capsys):
    events, accounts = audit_files
    out = tmp_path / "cli.jsonl"
    assert (
        main(["scan", "--events", str(events), "--accounts", str(accounts), "--out", str(out)]) == 0
    )
    assert out.read_text().count("\n") >= 3
    assert main(["scan", "--events", str(tmp_path / "nope"), "--out", str(out)]) == 2
    assert (
        main(
            [
                "scan",
                "--events",
                str(events),
                "--accounts",
                str(tmp_path / "nope"),
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "no such" in capsys.readouterr().err


def test_bad_accounts_file_is_an_input_error(audit_files, tmp_path):
    events, _ = audit_files
    bad = tmp_path / "acc.json"
    bad.write_text("[1, 2]")
    assert (
        main(
            ["scan", "--events", str(events), "--accounts", str(bad), "--out", str(tmp_path / "x")]
        )
        == 2
    )


def test_shards_are_stable_and_spread():
    assert shard_of("AAA", 1) == 0
    assert shard_of("AAA", 4) == shard_of("AAA", 4)
    assert len({shard_of(f"S{i}", 4) for i in range(40)}) == 4
