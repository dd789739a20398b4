"""The batch fast path produces exactly the MatchingEngine's events for the same commands."""

from __future__ import annotations

from collections import defaultdict

import msgspec

from nexus.events import ANY_CODEC
from nexus.sim import MatchingEngineSink, replay
from nexus.sim.wire import iter_frames

from .conftest import Run


def test_replay_through_matching_engine_gives_identical_events_per_symbol(small: Run) -> None:
    ours: dict[str, list[bytes]] = defaultdict(list)
    for frame, event in zip(iter_frames(small.stream), small.events, strict=True):
        ours[event.symbol].append(bytes(frame))  # type: ignore[attr-defined]
    engine: dict[str, list[bytes]] = defaultdict(list)

    def emit(event: msgspec.Struct) -> None:
        engine[event.symbol].append(ANY_CODEC.encode(event))  # type: ignore[attr-defined]

    n = replay(small.result.iter_actions(), MatchingEngineSink(), emit)
    assert n == len(small.events)
    assert set(ours) == set(engine)
    for symbol, frames in ours.items():
        assert frames == engine[symbol], symbol


def test_iter_actions_is_time_ordered_and_names_known_participants(small: Run) -> None:
    actions = list(small.result.iter_actions())
    assert [a.ts_event for a in actions] == sorted(a.ts_event for a in actions)
    accounts = {acc: u.user_id for u in small.result.population.users for acc in u.accounts}
    assert all(accounts[a.account_id] == a.user_id for a in actions)
    assert {a.op for a in actions} == {"submit", "amend", "cancel"}
