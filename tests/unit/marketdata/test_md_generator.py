"""Synthetic history: shape, exactness, determinism, and its statistics against the targets.

Stated tolerances (10 years x 150 symbols, pooled over symbols; the sample statistics of
fat-tailed GARCH series are biased low, so kurtosis and the squared-return autocorrelation
are checked within a band around the theoretical target):

* mean pairwise correlation within / across sectors: target +- 0.05
* mean per-symbol excess kurtosis: between 0.45x and 1.3x the target, and above 1
* mean per-symbol lag-1 autocorrelation of squared returns: 0.5x to 1.3x the target, > 0.05
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from services.marketdata.core.errors import InvalidRangeError
from services.marketdata.core.generator import (
    HistoryConfig,
    SyntheticHistory,
    garch_moment_targets,
    generate_history,
    history_targets,
    symbol_names,
)

CONFIG = HistoryConfig(n_symbols=150, n_days=2520)


@pytest.fixture(scope="module", params=[11, 12])
def history(request: pytest.FixtureRequest) -> SyntheticHistory:
    return generate_history(CONFIG, seed=request.param)


def _log_returns(h: SyntheticHistory) -> np.ndarray:
    return np.diff(np.log(h.closes.astype(np.float64)), axis=0)


def test_generate_history_default_shape_is_tick_aligned_raw_int64() -> None:
    h = generate_history(HistoryConfig(n_symbols=20, n_days=300), seed=1)
    assert h.closes.shape == (300, 20)
    assert h.closes.dtype == np.int64
    assert np.all(h.closes > 0)
    assert np.all(h.closes % 10_000_000 == 0)  # tick 0.01 in raw units
    assert h.benchmark.shape == (300,)
    assert h.benchmark[0] == 1000 * 10**9
    assert len(h.dates) == 300
    assert all(d.weekday() < 5 for d in h.trade_dates)
    assert h.symbols == symbol_names(20)


def test_generate_history_same_seed_gives_identical_arrays() -> None:
    cfg = HistoryConfig(n_symbols=30, n_days=200)
    a, b = generate_history(cfg, seed=5), generate_history(cfg, seed=5)
    np.testing.assert_array_equal(a.closes, b.closes)
    np.testing.assert_array_equal(a.benchmark, b.benchmark)
    c = generate_history(cfg, seed=6)
    assert not np.array_equal(a.closes, c.closes)


def test_generate_history_custom_symbols_and_rows_roundtrip() -> None:
    cfg = HistoryConfig(n_symbols=2, n_days=3, symbols=("AAPL", "MSFT"), start=dt.date(2024, 1, 6))
    h = generate_history(cfg, seed=1)
    rows = list(h.iter_close_rows())
    assert len(rows) == 6
    assert rows[0][:2] == ("AAPL", dt.date(2024, 1, 8))  # Saturday rolls to Monday
    assert rows[1][2] == int(h.closes[0, 1])
    assert [r[0] for r in h.iter_benchmark_rows()] == ["SYNTH_EW"] * 3


@pytest.mark.parametrize(
    "changes",
    [
        {"n_symbols": 0},
        {"market_correlation": 0.6, "sector_correlation": 0.5},
        {"t_dof": 4.0},
        {"garch_alpha": 0.2, "garch_beta": 0.8},
        {"symbols": ("A",)},
    ],
)
def test_generate_history_bad_parameter_raises_invalid_range(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidRangeError):
        params: dict[str, object] = {"n_symbols": 3, "n_days": 10, **changes}
        generate_history(HistoryConfig(**params), seed=0)  # type: ignore[arg-type]


def test_generate_history_correlations_match_factor_targets(history: SyntheticHistory) -> None:
    corr = np.corrcoef(_log_returns(history).T)
    sector = np.array(history.sectors)
    same = sector[:, None] == sector[None, :]
    off_diag = ~np.eye(len(sector), dtype=bool)
    targets = history_targets(history.config)
    assert corr[same & off_diag].mean() == pytest.approx(
        targets["within_sector_correlation"], abs=0.05
    )
    assert corr[~same].mean() == pytest.approx(targets["cross_sector_correlation"], abs=0.05)


def test_generate_history_returns_have_fat_tails_near_target(history: SyntheticHistory) -> None:
    r = _log_returns(history)
    z = (r - r.mean(axis=0)) / r.std(axis=0)
    excess = float(((z**4).mean(axis=0) - 3.0).mean())
    target = history_targets(history.config)["excess_kurtosis"]
    assert excess > 1.0
    assert 0.45 * target <= excess <= 1.3 * target


def test_generate_history_squared_returns_cluster_near_target(history: SyntheticHistory) -> None:
    r = _log_returns(history)
    sq = (r - r.mean(axis=0)) ** 2
    sq = sq - sq.mean(axis=0)
    acf1 = float(((sq[1:] * sq[:-1]).mean(axis=0) / (sq**2).mean(axis=0)).mean())
    target = history_targets(history.config)["squared_return_acf1"]
    assert acf1 > 0.05
    assert 0.5 * target <= acf1 <= 1.3 * target


def test_garch_moment_targets_normal_shocks_match_textbook_formula() -> None:
    a, b = 0.1, 0.8
    excess, acf1 = garch_moment_targets(a, b, 3.0)
    kurt = 3 * (1 - (a + b) ** 2) / (1 - (a + b) ** 2 - 2 * a * a)
    assert excess == pytest.approx(kurt - 3.0)
    assert acf1 == pytest.approx(a * (1 - a * b - b * b) / (1 - 2 * a * b - b * b))


def test_garch_moment_targets_infinite_fourth_moment_raises() -> None:
    with pytest.raises(InvalidRangeError):
        garch_moment_targets(0.3, 0.69, 9.0)


def test_generate_history_ten_years_500_symbols() -> None:
    # its speed is gated in tests/perf (no wall-clock asserts in unit tests)
    h = generate_history(HistoryConfig(n_symbols=500, n_days=2520), seed=2)
    assert h.closes.shape == (2520, 500)
    assert (h.closes > 0).all()
