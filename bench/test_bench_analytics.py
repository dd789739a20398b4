"""Portfolio analytics benchmarks, side by side with plain numpy and published libraries.

100 positions x 1,000 days (and 1,000 positions for the scaling case), one process, warm
kernels. Each group holds our calculator and, side by side, **the same algorithm in plain
numpy** (``*_numpy_same_algorithm``: the same estimator, the same statistics out, no input
validation), plus peers (scikit-learn's LedoitWolf; Riskfolio-Lib when installed) and the
older "numpy shortcut" lines. Targets from issue 7 are printed next to the measured median;
figures and the command are recorded in docs/bench/analytics.md. BLAS is limited to one
thread for the whole module. Compare ratios within one run (the machine is shared).
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

from bench.analytics_workload import synthetic_exposures, synthetic_returns
from services.analytics.core import kernels
from services.analytics.core.correlation import IncrementalCovariance, estimate_covariance
from services.analytics.core.decomposition import var_decomposition
from services.analytics.core.montecarlo import monte_carlo_var
from services.analytics.core.var import Z_CI, historical_var, var_from_returns

DAYS, ASSETS = 1_000, 100
Z99 = float(-ndtri(0.01))
PHI99 = math.exp(-0.5 * Z99 * Z99) / math.sqrt(2.0 * math.pi) / 0.01


# -- the same algorithms in plain numpy (what each of our calculators computes) -----------


def numpy_parametric(r: np.ndarray, w: np.ndarray, c: float = 0.99) -> tuple[float, ...]:
    """Normal VaR, ES, their delta-method SEs and CI from the P&L variance of ``R w``."""
    pnl = r @ w
    return numpy_normal_from_sigma(float(np.std(pnl, ddof=1)), pnl.shape[0])


def numpy_normal_from_sigma(sigma: float, n: int) -> tuple[float, ...]:
    """Normal VaR, ES, delta-method SEs and CI of a P&L with daily volatility ``sigma``."""
    var, es = Z99 * sigma, PHI99 * sigma
    se_var = math.sqrt(Z99 * Z99 * sigma * sigma / (2 * (n - 1)))
    se_es = math.sqrt(PHI99 * PHI99 * sigma * sigma / (2 * (n - 1)))
    return var, es, se_var, se_es, var - Z_CI * se_var, var + Z_CI * se_var


def numpy_incremental(m2: np.ndarray, count: int, w: np.ndarray) -> tuple[float, ...]:
    """The same statistics from a kept co-moment matrix (``w' M2 w / (n - 1)``)."""
    return numpy_normal_from_sigma(math.sqrt(float(w @ m2 @ w) / (count - 1)), count)


def numpy_historical(pnl: np.ndarray, c: float = 0.99) -> tuple[float, ...]:
    """Inverted-CDF VaR, Acerbi-Tasche ES, order-statistic CI and ES SE by one partition."""
    n = pnl.shape[0]
    m = n * (1 - c)
    k = max(1, min(math.ceil(m - 1e-9), n))
    half = Z_CI * math.sqrt(n * c * (1 - c))
    kw = max(1, min(k, math.floor(m - half + 1e-9)))
    kb = max(k, min(n, math.ceil(m + half - 1e-9)))
    part = np.partition(pnl, sorted({kw - 1, k - 1, kb - 1}))
    kth = part[k - 1]
    var = -kth
    es = -(part[: k - 1].sum() + (m - (k - 1)) * kth) / m
    loss_var = float(np.var(part[:k], ddof=1)) if k >= 2 else 0.0
    se_es = math.sqrt((loss_var + c * (es - var) ** 2) / (n * (1 - c)))
    return var, es, -part[kb - 1], -part[kw - 1], se_es


def numpy_decomposition(cov: np.ndarray, w: np.ndarray) -> tuple[object, ...]:
    """Marginal, component, incremental VaR and component ES (lists), as ours returns."""
    cw = cov @ w
    variance = float(w @ cw)
    sigma = math.sqrt(variance)
    total = Z99 * sigma
    marginal = Z99 * cw / sigma
    component = w * marginal
    component_es = w * PHI99 * cw / sigma
    reduced = variance - 2.0 * w * cw + w * w * np.diag(cov)
    incremental = total - Z99 * np.sqrt(np.clip(reduced, 0.0, None))
    return (
        total,
        PHI99 * sigma,
        marginal.tolist(),
        component.tolist(),
        incremental.tolist(),
        component_es.tolist(),
    )


def numpy_ledoit_wolf(r: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit-Wolf (2004) towards ``mu I``, the estimator of ours and of scikit-learn."""
    t, n = r.shape
    x = r - r.mean(axis=0)
    emp = x.T @ x / t
    mu = np.trace(emp) / n
    beta = (((x * x).sum(axis=1) ** 2).sum() / t - (emp * emp).sum()) / (n * t)
    delta = ((emp * emp).sum() - 2 * mu * np.trace(emp) + n * mu * mu) / n
    shrink = 0.0 if beta == 0 else min(beta, delta) / delta
    out = (1 - shrink) * emp
    out.flat[:: n + 1] += shrink * mu
    return out, shrink


def numpy_monte_carlo_full(factor: np.ndarray, w: np.ndarray, seed: int = 1) -> tuple:
    """Antithetic asset-level simulation ``Z L'`` (half the draws, mirrored), P&L, tail."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((50_000, factor.shape[0]))
    half = (z @ factor.T) @ w
    return numpy_historical(np.concatenate((half, -half)))


def numpy_monte_carlo_linear(sigma: float, nu: float | None = None, seed: int = 1) -> tuple:
    """Antithetic univariate P&L ``sigma_p Y`` (normal or scaled Student-t), tail."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(50_000)
    if nu is not None:
        z = z * np.sqrt(nu / rng.chisquare(nu, 50_000)) * math.sqrt((nu - 2) / nu)
    return numpy_historical(sigma * np.concatenate((z, -z)))


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
def test_bench_parametric_var_from_returns_numpy_same_algorithm(benchmark, book) -> None:
    r, w = book
    run(benchmark, lambda: numpy_parametric(r, w), None)


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
def test_bench_parametric_var_incremental_numpy_same_algorithm(benchmark, book) -> None:
    r, w = book
    inc = IncrementalCovariance(ASSETS)
    inc.extend(r)
    m2, count = inc._m2, inc.count
    run(benchmark, lambda: numpy_incremental(m2, count, w), None, rounds=2000)


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
def test_bench_parametric_var_1000_positions_numpy_same_algorithm(benchmark, big_book) -> None:
    r, w = big_book
    run(benchmark, lambda: numpy_parametric(r, w), None, 50)


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
def test_bench_historical_var_numpy_same_algorithm(benchmark, book) -> None:
    r, w = book
    pnl = r @ w
    run(benchmark, lambda: numpy_historical(pnl), None, rounds=2000)


@pytest.mark.benchmark(group="historical-var")
def test_bench_historical_var_numpy_quantile(benchmark, book) -> None:
    r, w = book
    pnl = r @ w
    run(benchmark, lambda: -np.quantile(pnl, 0.01, method="inverted_cdf"), None, rounds=2000)


@pytest.mark.benchmark(group="historical-var-raw")
def test_bench_historical_var_from_returns_ours(benchmark, book) -> None:
    r, w = book
    run(benchmark, lambda: var_from_returns(r, w, 0.99, 1, "historical"), None, rounds=1000)


@pytest.mark.benchmark(group="historical-var-raw")
def test_bench_historical_var_from_returns_numpy_same_algorithm(benchmark, book) -> None:
    r, w = book
    run(benchmark, lambda: numpy_historical(r @ w), None, rounds=1000)


# -- covariance estimators -----------------------------------------------------------------


@pytest.mark.benchmark(group="ledoit-wolf")
def test_bench_ledoit_wolf_ours(benchmark, book) -> None:
    r, _ = book
    run(benchmark, lambda: estimate_covariance(r, "ledoit_wolf"), 1.0)


@pytest.mark.benchmark(group="ledoit-wolf")
def test_bench_ledoit_wolf_numpy_same_algorithm(benchmark, book) -> None:
    r, _ = book
    run(benchmark, lambda: numpy_ledoit_wolf(r), None)


@pytest.mark.benchmark(group="ledoit-wolf")
def test_bench_ledoit_wolf_sklearn(benchmark, book) -> None:
    r, _ = book
    run(benchmark, lambda: LedoitWolf().fit(r), None)


@pytest.mark.benchmark(group="ewma")
def test_bench_ewma_covariance_ours(benchmark, book) -> None:
    r, _ = book
    run(benchmark, lambda: estimate_covariance(r, "ewma", ewma_lambda=0.94), 1.0)


@pytest.mark.benchmark(group="ewma")
def test_bench_ewma_covariance_numpy_same_algorithm(benchmark, book) -> None:
    r, _ = book
    lam = 0.94
    w = (1 - lam) * lam ** np.arange(DAYS - 1, -1, -1)
    w /= w.sum()

    def numpy_ewma() -> np.ndarray:
        x = r * np.sqrt(w)[:, None]
        return x.T @ x

    run(benchmark, numpy_ewma, None)


@pytest.mark.benchmark(group="ewma")
def test_bench_ewma_covariance_numpy_weights_each_call(benchmark, book) -> None:
    r, _ = book
    lam = 0.94

    def numpy_ewma() -> np.ndarray:
        w = (1 - lam) * lam ** np.arange(DAYS - 1, -1, -1)
        x = r * np.sqrt(w / w.sum())[:, None]
        return x.T @ x

    run(benchmark, numpy_ewma, None)


# -- Monte Carlo ---------------------------------------------------------------------------


@pytest.mark.benchmark(group="monte-carlo")
def test_bench_monte_carlo_full_100k_ours(benchmark, book) -> None:
    r, w = book
    cov = np.cov(r, rowvar=False)
    run(benchmark, lambda: monte_carlo_var(cov, w, 0.99, n_paths=100_000, seed=1), 100.0, 10)


@pytest.mark.benchmark(group="monte-carlo")
def test_bench_monte_carlo_full_100k_numpy_same_algorithm(benchmark, book) -> None:
    r, w = book
    factor = np.linalg.cholesky(np.cov(r, rowvar=False))
    run(benchmark, lambda: numpy_monte_carlo_full(factor, w), None, 10)


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
def test_bench_monte_carlo_linear_fast_path_100k_numpy_same_algorithm(benchmark, book) -> None:
    r, w = book
    sigma = math.sqrt(w @ np.cov(r, rowvar=False) @ w)
    run(benchmark, lambda: numpy_monte_carlo_linear(sigma), None, 50)


@pytest.mark.benchmark(group="monte-carlo")
def test_bench_monte_carlo_student_t_linear_fast_path_100k_numpy_same_algorithm(
    benchmark, book
) -> None:
    r, w = book
    sigma = math.sqrt(w @ np.cov(r, rowvar=False) @ w)
    run(benchmark, lambda: numpy_monte_carlo_linear(sigma, nu=5.0), None, 50)


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
def test_bench_full_decomposition_numpy_same_algorithm(benchmark, book) -> None:
    r, w = book
    cov = np.cov(r, rowvar=False)
    run(benchmark, lambda: numpy_decomposition(cov, w), None)


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


# -- Monte Carlo accuracy per millisecond (variance reduction) ----------------------------

EFFICIENCY_SEEDS = 12


@pytest.mark.benchmark(group="monte-carlo-efficiency")
@pytest.mark.parametrize(
    ("sampler", "antithetic", "paths"),
    [
        ("pseudo", False, 100_000),
        ("pseudo", True, 100_000),
        ("sobol", False, 100_000),
        ("sobol", True, 100_000),
        ("sobol", True, 16_384),
    ],
)
def test_bench_monte_carlo_full_error_per_ms(
    benchmark, book, sampler: str, antithetic: bool, paths: int
) -> None:
    """Full asset-level Monte Carlo VaR (100 assets) over 12 seeds: the spread of the VaR
    across seeds is its standard error; ``SE x sqrt(ms per run)`` (lower is better) is the
    error at equal cost (an i.i.d. estimator's SE falls as 1/sqrt(paths) = 1/sqrt(time))."""
    r, w = book
    cov = np.cov(r, rowvar=False)
    estimates: list[float] = []

    def batch() -> None:
        estimates.clear()
        for seed in range(EFFICIENCY_SEEDS):
            est = monte_carlo_var(
                cov, w, 0.99, n_paths=paths, seed=seed, sampler=sampler, antithetic=antithetic
            )
            estimates.append(est.var)

    benchmark.pedantic(batch, rounds=2, iterations=1, warmup_rounds=0)
    ms = benchmark.stats.stats.median * 1e3 / EFFICIENCY_SEEDS
    se = float(np.std(estimates, ddof=1))
    work = se * math.sqrt(ms)
    benchmark.extra_info.update(ms_per_run=ms, var_se=se, se_sqrt_ms=work)
    print(
        f"\n[analytics] mc efficiency {paths} paths sampler={sampler} antithetic={antithetic}: "
        f"{ms:.1f} ms/run, VaR {np.mean(estimates):.1f}, SE {se:.2f} "
        f"({se / np.mean(estimates):.2%}), SE x sqrt(ms) {work:.2f}, SE/ms {se / ms:.4f}"
    )


# -- interleaved ratios (robust to a shared machine's load swings) -------------------------


def _interleaved(ours: Callable[[], object], ref: Callable[[], object], n: int, rounds: int):
    """Per-call seconds of ``ours`` and ``ref`` in alternating batches of ``n`` calls."""
    import time

    ours()
    ref()
    a: list[float] = []
    b: list[float] = []
    for _ in range(rounds):
        for fn, out in ((ours, a), (ref, b)):
            start = time.perf_counter()
            for _ in range(n):
                fn()
            out.append((time.perf_counter() - start) / n)
    return a, b


@pytest.mark.benchmark(group="interleaved-ratios")
def test_bench_ours_over_numpy_same_algorithm_interleaved(benchmark, book, big_book) -> None:
    """Every calculator against its numpy same-algorithm line, alternating batches in one
    loop, so both sides see the same load: prints median and min per call and their ratio
    (ours / numpy, below 1 = ours faster) and how often ours won a batch."""
    r, w = book
    big_r, big_w = big_book
    cov = np.cov(r, rowvar=False)
    pnl = r @ w
    factor = np.linalg.cholesky(cov)
    sigma = math.sqrt(w @ cov @ w)
    inc = IncrementalCovariance(ASSETS)
    inc.extend(r)
    lam = 0.94
    weights = (1 - lam) * lam ** np.arange(DAYS - 1, -1, -1)
    root = np.sqrt(weights / weights.sum())[:, None]

    def numpy_ewma() -> np.ndarray:
        x = r * root
        return x.T @ x

    cases: list[tuple[str, Callable[[], object], Callable[[], object], int, int]] = [
        (
            "parametric VaR 100 x 1,000",
            lambda: var_from_returns(r, w, 0.99, 1, "parametric_normal"),
            lambda: numpy_parametric(r, w),
            20,
            200,
        ),
        (
            "parametric VaR 1,000 x 1,000",
            lambda: var_from_returns(big_r, big_w, 0.99, 1, "parametric_normal"),
            lambda: numpy_parametric(big_r, big_w),
            5,
            100,
        ),
        (
            "incremental parametric VaR",
            lambda: inc.parametric_var(w, 0.99, 1),
            lambda: numpy_incremental(inc._m2, inc.count, w),
            50,
            200,
        ),
        (
            "historical VaR+ES of a P&L",
            lambda: historical_var(pnl, 0.99),
            lambda: numpy_historical(pnl),
            50,
            200,
        ),
        (
            "historical VaR from returns",
            lambda: var_from_returns(r, w, 0.99, 1, "historical"),
            lambda: numpy_historical(r @ w),
            20,
            200,
        ),
        (
            "EWMA covariance",
            lambda: estimate_covariance(r, "ewma", ewma_lambda=lam),
            numpy_ewma,
            2,
            100,
        ),
        (
            "Ledoit-Wolf",
            lambda: estimate_covariance(r, "ledoit_wolf"),
            lambda: numpy_ledoit_wolf(r),
            2,
            100,
        ),
        (
            "full decomposition",
            lambda: var_decomposition(cov, w, 0.99),
            lambda: numpy_decomposition(cov, w),
            20,
            200,
        ),
        (
            "Monte Carlo linear 100k",
            lambda: monte_carlo_var(cov, w, 0.99, n_paths=100_000, seed=1, full=False),
            lambda: numpy_monte_carlo_linear(sigma),
            1,
            40,
        ),
        (
            "Monte Carlo Student-t linear 100k",
            lambda: monte_carlo_var(
                cov, w, 0.99, n_paths=100_000, seed=1, full=False, student_t=True
            ),
            lambda: numpy_monte_carlo_linear(sigma, nu=5.0),
            1,
            40,
        ),
        (
            "Monte Carlo full 100k x 100",
            lambda: monte_carlo_var(cov, w, 0.99, n_paths=100_000, seed=1),
            lambda: numpy_monte_carlo_full(factor, w),
            1,
            8,
        ),
    ]
    rows: list[str] = []

    def compare() -> None:
        rows.clear()
        for name, ours, ref, n, rounds in cases:
            a, b = _interleaved(ours, ref, n, rounds)
            med_a, med_b = float(np.median(a)) * 1e3, float(np.median(b)) * 1e3
            min_a, min_b = min(a) * 1e3, min(b) * 1e3
            wins = sum(x <= y for x, y in zip(a, b, strict=True))
            rows.append(
                f"| {name} | {med_a:.4f} / {min_a:.4f} | {med_b:.4f} / {min_b:.4f} | "
                f"{med_a / med_b:.2f} / {min_a / min_b:.2f} | {wins}/{rounds} |"
            )
            benchmark.extra_info[name] = {"median_ratio": med_a / med_b, "min_ratio": min_a / min_b}

    benchmark.pedantic(compare, rounds=1, iterations=1, warmup_rounds=0)
    print(
        "\n[analytics] interleaved: case | ours median / min ms | numpy median / min ms | "
        "ratio median / min | batches ours won"
    )
    for row in rows:
        print("[analytics] " + row)
