"""Configuration validation: ranges, wash-trading accounts, the per-run size guard."""

from __future__ import annotations

import msgspec
import pytest

from nexus.errors import ConfigError
from nexus.sim import SimConfig, simulate
from nexus.sim.config import EpisodeConfig, Range


@pytest.mark.parametrize(
    "changes",
    [
        {"start_price": Range(10, 5)},
        {"accounts_per_user": Range(1, 1)},
        {"spoofing": EpisodeConfig(count=1, orders=Range(0, 0))},
        {"layering": EpisodeConfig(count=1, gap_ms=Range(5, 1))},
        {"symbols": 1000, "seconds": 3600.0},
    ],
)
def test_simulate_inconsistent_config_raises_config_error(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        simulate(msgspec.structs.replace(SimConfig(), **changes))


def test_sim_config_decoding_checks_constraints() -> None:
    with pytest.raises(msgspec.ValidationError, match="symbols"):
        msgspec.json.decode(b'{"symbols": 0}', type=SimConfig)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"cancel_probability": 1.5}', type=SimConfig)


def test_simulate_nearly_idle_market_still_runs_episodes() -> None:
    result = simulate(SimConfig(seed=1, symbols=2, users=10, seconds=2.0, orders_per_second=0.1))
    assert result.stats().orders > 0
    assert result.labels().episodes
