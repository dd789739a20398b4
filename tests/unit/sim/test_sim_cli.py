"""``python -m nexus.sim``: files written, flags applied, bad input refused."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from nexus.events import ANY_CODEC
from nexus.sim import read_events, read_labels
from nexus.sim.__main__ import main
from nexus.sim.users import UserRecord

ARGS = ["--seed", "3", "--symbols", "2", "--users", "40", "--seconds", "5"]


def test_cli_writes_stream_labels_and_accounts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, labels, accounts = tmp_path / "e.msgpack", tmp_path / "l.json", tmp_path / "a.json"
    code = main(
        [
            *ARGS,
            "--wash",
            "1",
            "--spoofing",
            "2",
            "--layering",
            "0",
            "--momentum",
            "0",
            "--out",
            str(out),
            "--labels",
            str(labels),
            "--accounts",
            str(accounts),
        ]
    )
    assert code == 0
    events = list(read_events(out.read_bytes()))
    summary = msgspec.json.decode(capsys.readouterr().out)
    assert summary["events"] == len(events) > 0
    loaded = read_labels(labels)
    assert loaded.config.seed == 3 and loaded.config.symbols == 2
    assert {e.type for e in loaded.episodes} <= {"WASH_TRADING", "SPOOFING"}
    assert sum(e.type == "SPOOFING" for e in loaded.episodes) == 2
    users = msgspec.json.decode(accounts.read_bytes(), type=list[UserRecord])
    assert len(users) == 40


def test_cli_matching_engine_path_writes_the_same_events(tmp_path: Path) -> None:
    fast, slow = tmp_path / "fast", tmp_path / "slow"
    assert main([*ARGS, "--out", str(fast), "--labels", str(tmp_path / "l1")]) == 0
    assert (
        main([*ARGS, "--engine", "matching", "--out", str(slow), "--labels", str(tmp_path / "l2")])
        == 0
    )
    key = lambda e: (e.symbol, int(e.event_id.rsplit(":", 1)[1]))  # noqa: E731
    assert sorted(read_events(fast.read_bytes()), key=key) == sorted(
        read_events(slow.read_bytes()), key=key
    )


def test_cli_jsonl_format_decodes_line_by_line(tmp_path: Path) -> None:
    out = tmp_path / "e.jsonl"
    assert (
        main([*ARGS, "--format", "jsonl", "--out", str(out), "--labels", str(tmp_path / "l")]) == 0
    )
    lines = out.read_bytes().splitlines()
    assert lines and all(ANY_CODEC.decode_json(line) for line in lines[:200])


def test_cli_invalid_configuration_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--symbols", "0", "--out", str(tmp_path / "e"), "--labels", str(tmp_path / "l")])
    assert code == 2
    assert "invalid configuration" in capsys.readouterr().err


def test_cli_needs_a_file_or_a_broker(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as nothing:
        main([*ARGS, "--labels", str(tmp_path / "l.json")])
    assert nothing.value.code == 2
    with pytest.raises(SystemExit) as unpaced:
        main([*ARGS, "--out", str(tmp_path / "e"), "--speed", "2", "--labels", str(tmp_path / "l")])
    assert unpaced.value.code == 2


def test_cli_reports_an_unreachable_broker_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*ARGS, "--seconds", "1", "--bootstrap", "127.0.0.1:9", "--labels", str(tmp_path / "l")]
    assert main(args) == 1
    assert "publishing on 127.0.0.1:9 failed" in capsys.readouterr().err
    assert not (tmp_path / "l").exists()
