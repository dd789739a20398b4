"""The feed's counters, status file and stop summary."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import msgspec

from nexus.sim import SimConfig, simulate
from nexus.sim.feed import FeedStats, _episodes_started, run_prefix, summary_lines, write_status


def test_status_file_holds_the_counters_and_is_replaced_whole(tmp_path: Path) -> None:
    stats = FeedStats(rate_target=300.0, labels_path=str(tmp_path / "labels.jsonl"))
    for status, trades in (("2xx", 1), ("2xx", 0), ("4xx", 0), ("unreachable", 0)):
        stats.record(status, trades)
    stats.episodes.update({"SPOOFING": 2, "WASH_TRADING": 1})
    stats.windows = 1
    path = tmp_path / "status.json"
    write_status(path, stats)
    body = json.loads(path.read_text())
    assert body["sent"] == 4 and body["trades"] == 1 and body["final"] is False
    assert body["outcome"] == {"2xx": 2, "4xx": 1, "unreachable": 1}
    assert body["episodes"] == {"SPOOFING": 2, "WASH_TRADING": 1}
    write_status(path, stats, final=True)
    assert json.loads(path.read_text())["final"] is True
    assert not path.with_suffix(".json.tmp").exists()
    lines = summary_lines(stats)
    assert "4 actions" in lines[0] and "1 trades" in lines[0]
    assert "3 episodes injected (spoofing 2, wash_trading 1) in 1 windows" in lines[1]
    assert str(tmp_path / "labels.jsonl") in lines[1]


def test_only_episodes_that_started_before_the_stop_are_labelled() -> None:
    result = simulate(SimConfig(seed=2, symbols=2, users=30, seconds=5.0))
    labels = result.labels()
    starts = sorted(e.window_start_ns for e in labels.episodes)
    assert len(starts) > 2
    cut = starts[len(starts) // 2]
    kept = _episodes_started(labels, cut)
    assert [e.window_start_ns <= cut for e in kept.episodes] == [True] * len(kept.episodes)
    assert len(kept.episodes) == sum(1 for s in starts if s <= cut)
    assert Counter(e.type for e in _episodes_started(labels, 2**62).episodes) == Counter(
        e.type for e in labels.episodes
    )


def test_each_run_has_its_own_order_id_prefix_valid_for_the_simulator() -> None:
    first, later = run_prefix(1_796_300_000_000_000_000), run_prefix(1_796_300_000_001_000_000)
    assert first != later
    assert first.startswith("R") and first.endswith("-")
    SimConfig(id_prefix=first).validate()  # within the config's pattern and length
    msgspec.json.decode(msgspec.json.encode(SimConfig(id_prefix=first)), type=SimConfig)
