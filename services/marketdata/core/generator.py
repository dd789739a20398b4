"""Synthetic daily price history: factor-correlated, fat-tailed, volatility-clustered.

Model, per symbol ``i`` in sector ``s(i)`` on day ``t`` (log returns)::

    z[t, i] = sqrt(rho_m) * M[t] + sqrt(rho_s - rho_m) * S[t, s(i)] + sqrt(1 - rho_s) * E[t, i]
    r[t, i] = mu[i] + sqrt(h[t, i]) * z[t, i]
    h[t+1, i] = omega[i] + alpha * (r[t, i] - mu[i])**2 + beta * h[t, i]

``M``, ``S`` and ``E`` are independent Student-t draws scaled to unit variance, so the shocks of
two symbols correlate by ``rho_m`` (market only) across sectors and ``rho_s`` within a sector;
GARCH(1,1) gives volatility clustering and, with the t shocks, fat tails. Closes are rounded
half-even to the tick and stored as raw fixed point (:mod:`nexus.money`), so no float ever holds
a price outside this statistical step. The benchmark is a daily-rebalanced equal-weight index of
the generated closes. Same config and seed, same arrays.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from nexus.instruments import SECTORS
from nexus.money import Rounding, to_raw
from services.marketdata.core import kernels
from services.marketdata.core.errors import InvalidRangeError

TRADING_DAYS_PER_YEAR = 252


@dataclass(frozen=True, slots=True)
class HistoryConfig:
    """Parameters of the synthetic history; every statistical target is one field here.

    ``tick`` is a decimal string in currency units; volatilities and drifts are annualised
    over 252 trading days; ``start`` is the first trading day (weekdays only, no holidays).
    """

    n_symbols: int = 500
    n_days: int = 2520
    start: dt.date = dt.date(2016, 1, 4)
    n_sectors: int = 11
    market_correlation: float = 0.25
    sector_correlation: float = 0.50
    t_dof: float = 6.0
    garch_alpha: float = 0.06
    garch_beta: float = 0.92
    vol_range: tuple[float, float] = (0.15, 0.45)
    drift_range: tuple[float, float] = (-0.02, 0.12)
    start_price_range: tuple[float, float] = (10.0, 400.0)
    tick: str = "0.01"
    benchmark_base: str = "1000"
    benchmark_tick: str = "0.01"
    symbols: tuple[str, ...] | None = None

    def validate(self) -> None:
        """Raise :class:`InvalidRangeError` naming the first parameter out of range."""
        checks = [
            (self.n_symbols >= 1, "n_symbols must be >= 1"),
            (self.n_days >= 2, "n_days must be >= 2"),
            (1 <= self.n_sectors <= len(SECTORS), f"n_sectors must be in 1..{len(SECTORS)}"),
            (
                0.0 <= self.market_correlation <= self.sector_correlation < 1.0,
                "need 0 <= market_correlation <= sector_correlation < 1",
            ),
            (self.t_dof > 4.0, "t_dof must be > 4 (finite kurtosis)"),
            (self.garch_alpha >= 0 and self.garch_beta >= 0, "GARCH weights must be >= 0"),
            (self.garch_alpha + self.garch_beta < 1.0, "garch_alpha + garch_beta must be < 1"),
            (0 < self.vol_range[0] <= self.vol_range[1], "vol_range must be positive, ordered"),
            (self.drift_range[0] <= self.drift_range[1], "drift_range must be ordered"),
            (
                0 < self.start_price_range[0] <= self.start_price_range[1],
                "start_price_range must be positive, ordered",
            ),
            (Decimal(self.tick) > 0, "tick must be > 0"),
            (
                self.symbols is None or len(self.symbols) == self.n_symbols,
                "symbols must have n_symbols entries",
            ),
            (
                self.symbols is None or len(set(self.symbols)) == len(self.symbols),
                "symbols must be unique",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise InvalidRangeError(message)


@dataclass(frozen=True, slots=True)
class SyntheticHistory:
    """Generated history: ``closes[t, i]`` is the raw close of ``symbols[i]`` on ``dates[t]``."""

    dates: npt.NDArray[np.datetime64]
    symbols: tuple[str, ...]
    sectors: tuple[str, ...]
    closes: npt.NDArray[np.int64]
    benchmark: npt.NDArray[np.int64]
    benchmark_name: str = "SYNTH_EW"
    config: HistoryConfig = field(default_factory=HistoryConfig)

    @property
    def trade_dates(self) -> list[dt.date]:
        """Dates as :class:`datetime.date`."""
        return [d.item() for d in self.dates]

    def iter_close_rows(self) -> Iterator[tuple[str, dt.date, int]]:
        """``(symbol, trade_date, close_raw)`` rows, date-major: what the store inserts."""
        days = self.trade_dates
        for t, day in enumerate(days):
            row = self.closes[t].tolist()
            for i, symbol in enumerate(self.symbols):
                yield symbol, day, row[i]

    def iter_benchmark_rows(self) -> Iterator[tuple[str, dt.date, int]]:
        """``(benchmark, trade_date, level_raw)`` rows."""
        for day, level in zip(self.trade_dates, self.benchmark.tolist(), strict=True):
            yield self.benchmark_name, day, level


def symbol_names(n: int) -> tuple[str, ...]:
    """Deterministic synthetic tickers ``S0000``, ``S0001``, ... (valid event symbols)."""
    width = max(4, len(str(n - 1)))
    return tuple(f"S{i:0{width}d}" for i in range(n))


def trading_days(start: dt.date, n: int) -> npt.NDArray[np.datetime64]:
    """``n`` consecutive weekdays from ``start`` (rolled forward to a weekday)."""
    first = np.busday_offset(np.datetime64(start, "D"), 0, roll="forward")
    return np.busday_offset(first, np.arange(n), roll="forward").astype("datetime64[D]")


def garch_moment_targets(alpha: float, beta: float, shock_kurtosis: float) -> tuple[float, float]:
    """Theoretical (excess kurtosis, lag-1 autocorrelation of squared returns) of GARCH(1,1).

    ``shock_kurtosis`` is the (non-excess) kurtosis of the unit-variance shocks. Requires a
    finite fourth moment: ``(alpha + beta)**2 + alpha**2 * (shock_kurtosis - 1) < 1``.
    """
    p = alpha + beta
    denom = 1.0 - p * p - alpha * alpha * (shock_kurtosis - 1.0)
    if denom <= 0:
        raise InvalidRangeError("GARCH fourth moment is infinite for these parameters")
    # With unit unconditional variance: E[h^2] = (1 - p^2) / denom, E[r^4] = kappa * E[h^2].
    eh2 = (1.0 - p * p) / denom
    er4 = shock_kurtosis * eh2
    omega = 1.0 - p
    cov1 = omega + (alpha * shock_kurtosis + beta) * eh2 - 1.0
    return er4 - 3.0, cov1 / (er4 - 1.0)


def shock_kurtosis(config: HistoryConfig) -> float:
    """Kurtosis of the combined unit-variance shock ``z`` of one symbol."""
    t_excess = 6.0 / (config.t_dof - 4.0)
    rm, rs = config.market_correlation, config.sector_correlation
    weights_sq = rm * rm + (rs - rm) ** 2 + (1.0 - rs) ** 2
    return 3.0 + t_excess * weights_sq


def history_targets(config: HistoryConfig) -> dict[str, float]:
    """The statistical targets the generator aims at (what the tests measure against)."""
    excess, acf1 = garch_moment_targets(
        config.garch_alpha, config.garch_beta, shock_kurtosis(config)
    )
    return {
        "within_sector_correlation": config.sector_correlation,
        "cross_sector_correlation": config.market_correlation,
        "excess_kurtosis": excess,
        "squared_return_acf1": acf1,
    }


def _unit_t(
    rng: np.random.Generator, dof: float, shape: tuple[int, ...]
) -> npt.NDArray[np.float64]:
    scale = math.sqrt((dof - 2.0) / dof)
    out: npt.NDArray[np.float64] = rng.standard_t(dof, size=shape) * scale
    return out


def generate_history(config: HistoryConfig | None = None, seed: int = 0) -> SyntheticHistory:
    """Generate a :class:`SyntheticHistory`; deterministic for ``(config, seed)``.

    Raises :class:`InvalidRangeError` for inconsistent parameters.
    """
    cfg = config or HistoryConfig()
    cfg.validate()
    rng = np.random.default_rng(seed)
    n, days = cfg.n_symbols, cfg.n_days
    sector_of = np.arange(n) % cfg.n_sectors
    rm, rs = cfg.market_correlation, cfg.sector_correlation

    market = _unit_t(rng, cfg.t_dof, (days,))
    sector = _unit_t(rng, cfg.t_dof, (days, cfg.n_sectors))
    idio = _unit_t(rng, cfg.t_dof, (days, n))
    shocks = math.sqrt(1.0 - rs) * idio
    shocks += math.sqrt(rs - rm) * sector[:, sector_of]
    shocks += math.sqrt(rm) * market[:, None]

    vol = rng.uniform(cfg.vol_range[0], cfg.vol_range[1], n)
    daily_var = vol * vol / TRADING_DAYS_PER_YEAR
    drift = rng.uniform(cfg.drift_range[0], cfg.drift_range[1], n)
    mu = drift / TRADING_DAYS_PER_YEAR - 0.5 * daily_var
    alpha = np.full(n, cfg.garch_alpha)
    beta = np.full(n, cfg.garch_beta)
    omega = daily_var * (1.0 - alpha - beta)
    lo, hi = cfg.start_price_range
    start_price = np.exp(rng.uniform(math.log(lo), math.log(hi), n))

    log_returns = kernels.garch_log_returns(np.ascontiguousarray(shocks), omega, alpha, beta, mu)
    tick = Decimal(cfg.tick)
    tick_raw = to_raw(tick)
    ticks = kernels.closes_to_ticks(start_price, log_returns[: days - 1], float(tick))
    closes = ticks * np.int64(tick_raw)

    base = float(Decimal(cfg.benchmark_base))
    bench_tick = Decimal(cfg.benchmark_tick)
    index = kernels.equal_weight_index(ticks, base)
    bench_raw = np.rint(index / float(bench_tick)).astype(np.int64) * np.int64(
        to_raw(bench_tick, Rounding.EXACT)
    )
    symbols = cfg.symbols if cfg.symbols is not None else symbol_names(n)
    return SyntheticHistory(
        dates=trading_days(cfg.start, days),
        symbols=tuple(symbols),
        sectors=tuple(SECTORS[s] for s in sector_of.tolist()),
        closes=closes,
        benchmark=bench_raw,
        config=cfg,
    )


__all__: Sequence[str] = (
    "SECTORS",
    "HistoryConfig",
    "SyntheticHistory",
    "garch_moment_targets",
    "generate_history",
    "history_targets",
    "shock_kurtosis",
    "symbol_names",
    "trading_days",
)
