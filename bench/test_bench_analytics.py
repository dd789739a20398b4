"""Portfolio analytics benchmarks, side by side with plain numpy and published libraries.

100 positions x 1,000 days (and 1,000 positions for the scaling case), one process, warm
kernels. Each group holds our calculator and the equivalent plain-numpy computation (and
scikit-learn's LedoitWolf for shrinkage; Riskfolio-Lib risk contributions when installed).
Targets from issue 7 are printed next to the measured median; figures and the command are
recorded in docs/bench/analytics.md. BLAS is limited to one thread for the whole module.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from scipy.special import ndtri
from sklearn.covariance import LedoitWolf
from threadpoolctl import threadpool_limits

from services.analytics.core import kernels
from services.analytics.core.correlation import IncrementalCovariance, estimate_covariance
from services.analytics.core.decomposition import var_decomposition
from services.analytics.core.montecarlo import monte_carlo_var
from services.analytics.core.var import historical_var, var_from_returns
from services.analytics.core.workload import synthetic_exposures, synthetic_returns

DAYS, ASSETS = 1_000, 100
Z99 = float(-ndtri(0.01))
HAS_RISKFOLIO = importlib.util.find_spec("riskfolio") is not None


@pytest.fixture(scope="module", autouse=True)
def one_core() -> Iterator[None]:
    """One BLAS thread for every library (the issue's "one core"; two OpenBLAS pools, numpy's
    and scipy's used by Numba, would otherwise spin against each other on a shared box)."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def book() -> tuple[np.ndarray, np.ndarray]:
    kernels.warm_up()
    return synthetic_returns(1, DAYS, ASSETS), synthetic_exposures(1, ASSETS)


@pytest.fixture(scope="module")
def big_book() -> tuple[np.ndarray, np.ndarray]:
    return synthetic_returns(2, DAYS, 1_000), synthetic_exposures(2, 1_000)


def run(
    benchmark: Any, fn: Callable[[], object], target_ms: float | None, rounds: int = 200
) -> None:
    """pedantic run with warm-up; print the median against the issue's target."""
    benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=min(rounds, 20))
    median_ms = benchmark.stats.stats.median * 1e3
    benchmark.extra_info.update(median_ms=median_ms, target_ms=target_ms)
    verdict = "" if target_ms is None else ("  OK" if median_ms < target_ms else "  MISS")
    print(f"\n[analytics] {benchmark.name}: median {median_ms:.4f} ms target {target_ms}{verdict}")


# -- parametric VaR ------------------------------------------------------------------------


@pytest.mark.benchmark(group="parametric-var-raw")
def test_bench_parametric_var_from_returns_ours(benchmark, book) -> None:
    r, w = book
    run(benchmark, lambda: var_from_returns(r, w, 0.99, 1, "parametric_normal"), 0.5)


@pytest.mark.benchmark(group="parametric-var-raw")
def test_bench_parametric_var_from_returns_numpy_cov(benchmark, book) -> None:
    r, w = book

    def numpy_var() -> float:
        cov = np.cov(r, rowvar=False)
        return Z99 * math.sqrt(w @ cov @ w)

    run(benchmark, numpy_var, None)


@pytest.mark.benchmark(group="parametric-var-incremental")
def test_bench_parametric_var_incremental_covariance_ours(benchmark, book) -> None:
    r, w = book
    inc = IncrementalCovariance(ASSETS)
    inc.extend(r)
    run(benchmark, lambda: inc.parametric_var(w, 0.99, 1), 0.05, rounds=2000)


@pytest.mark.benchmark(group="parametric-var-incremental")
def test_bench_incremental_covariance_push_one_day_ours(benchmark, book) -> None:
    r, _ = book
    inc = IncrementalCovariance(ASSETS)
    inc.extend(r[:10])
    row = r[11].copy()
    run(benchmark, lambda: inc.push(row), None, rounds=2000)


@pytest.mark.benchmark(group="parametric-var-incremental")
def test_bench_parametric_var_from_kept_covariance_numpy(benchmark, book) -> None:
    r, w = book
    cov = np.cov(r, rowvar=False)
    run(benchmark, lambda: Z99 * math.sqrt(w @ cov @ w), None, rounds=2000)


@pytest.mark.benchmark(group="parametric-var-1000-positions")
def test_bench_parametric_var_1000_positions_ours(benchmark, big_book) -> None:
    r, w = big_book
    run(benchmark, lambda: var_from_returns(r, w, 0.99, 1, "parametric_normal"), 20.0, 50)


@pytest.mark.benchmark(group="parametric-var-1000-positions")
def test_bench_parametric_var_1000_positions_numpy_cov(benchmark, big_book) -> None:
    r, w = big_book

    def numpy_var() -> float:
        cov = np.cov(r, rowvar=False)
        return Z99 * math.sqrt(w @ cov @ w)

    run(benchmark, numpy_var, None, 20)


# -- historical VaR ------------------------------------------------------------------------


@pytest.mark.benchmark(group="historical-var")
def test_bench_historical_var_ours(benchmark, book) -> None:
    r, w = book
    pnl = r @ w
    run(benchmark, lambda: historical_var(pnl, 0.99), 0.05, rounds=2000)


@pytest.mark.benchmark(group="historical-var")
def test_bench_historical_var_numpy_quantile(benchmark, book) -> None:
    r, w = book
    pnl = r @ w
    run(benchmark, lambda: -np.quantile(pnl, 0.01, method="inverted_cdf"), None, rounds=2000)


@pytest.mark.benchmark(group="historical-var")
def test_bench_historical_var_from_returns_ours(benchmark, book) -> None:
    r, w = book
    run(benchmark, lambda: var_from_returns(r, w, 0.99, 1, "historical"), None, rounds=1000)


# -- covariance estimators -----------------------------------------------------------------


@pytest.mark.benchmark(group="ledoit-wolf")
def test_bench_ledoit_wolf_ours(benchmark, book) -> None:
    r, _ = book
    run(benchmark, lambda: estimate_covariance(r, "ledoit_wolf"), 1.0)


@pytest.mark.benchmark(group="ledoit-wolf")
def test_bench_ledoit_wolf_sklearn(benchmark, book) -> None:
    r, _ = book
    run(benchmark, lambda: LedoitWolf().fit(r), None)


@pytest.mark.benchmark(group="ewma")
def test_bench_ewma_covariance_ours(benchmark, book) -> None:
    r, _ = book
    run(benchmark, lambda: estimate_covariance(r, "ewma", ewma_lambda=0.94), 1.0)


@pytest.mark.benchmark(group="ewma")
def test_bench_ewma_covariance_numpy(benchmark, book) -> None:
    r, _ = book
    lam = 0.94
    w = (1 - lam) * lam ** np.arange(DAYS - 1, -1, -1)
    w /= w.sum()

    def numpy_ewma() -> np.ndarray:
        x = r * np.sqrt(w)[:, None]
        return x.T @ x

    run(benchmark, numpy_ewma, None)


# -- Monte Carlo ---------------------------------------------------------------------------


@pytest.mark.benchmark(group="monte-carlo")
def test_bench_monte_carlo_full_100k_ours(benchmark, book) -> None:
    r, w = book
    cov = np.cov(r, rowvar=False)
    run(benchmark, lambda: monte_carlo_var(cov, w, 0.99, n_paths=100_000, seed=1), 100.0, 10)


@pytest.mark.benchmark(group="monte-carlo")
def test_bench_monte_carlo_full_100k_numpy(benchmark, book) -> None:
    r, w = book
    cov = np.cov(r, rowvar=False)
    factor = np.linalg.cholesky(cov)

    def numpy_mc() -> float:
        rng = np.random.default_rng(1)
        x = rng.standard_normal((100_000, ASSETS)) @ factor.T
        return float(-np.quantile(x @ w, 0.01))

    run(benchmark, numpy_mc, None, 10)


@pytest.mark.benchmark(group="monte-carlo")
def test_bench_monte_carlo_linear_fast_path_100k_ours(benchmark, book) -> None:
    r, w = book
    cov = np.cov(r, rowvar=False)
    run(
        benchmark,
        lambda: monte_carlo_var(cov, w, 0.99, n_paths=100_000, seed=1, full=False),
        5.0,
        50,
    )


@pytest.mark.benchmark(group="monte-carlo")
def test_bench_monte_carlo_student_t_linear_fast_path_100k_ours(benchmark, book) -> None:
    r, w = book
    cov = np.cov(r, rowvar=False)
    run(
        benchmark,
        lambda: monte_carlo_var(cov, w, 0.99, n_paths=100_000, seed=1, full=False, student_t=True),
        5.0,
        50,
    )


# -- decomposition -------------------------------------------------------------------------


@pytest.mark.benchmark(group="decomposition")
def test_bench_full_decomposition_ours(benchmark, book) -> None:
    r, w = book
    cov = np.cov(r, rowvar=False)
    run(benchmark, lambda: var_decomposition(cov, w, 0.99), 2.0)


@pytest.mark.benchmark(group="decomposition")
def test_bench_euler_component_var_numpy(benchmark, book) -> None:
    r, w = book
    cov = np.cov(r, rowvar=False)

    def numpy_euler() -> np.ndarray:
        cw = cov @ w
        sigma = math.sqrt(w @ cw)
        return w * Z99 * cw / sigma

    run(benchmark, numpy_euler, None)


@pytest.mark.benchmark(group="decomposition")
@pytest.mark.skipif(not HAS_RISKFOLIO, reason="riskfolio-lib not installed")
def test_bench_risk_contributions_riskfolio(benchmark, book) -> None:
    import pandas as pd
    import riskfolio as rp

    r, w = book
    cov = pd.DataFrame(np.cov(r, rowvar=False))
    weights = pd.DataFrame(w / w.sum())
    returns = pd.DataFrame(r)
    run(
        benchmark,
        lambda: rp.Risk_Contribution(weights, returns=returns, cov=cov, rm="MV"),
        None,
        50,
    )
