"""PortfolioAnalyticsService: composes the calculators with positions, prices and a cache.

The service does no I/O itself: positions, prices and the cache are constructor arguments
implementing the protocols of :mod:`.sources`. The portfolio is valued at the latest prices;
risk statistics use the daily returns of the current holdings over a look-back window
(constant-holdings assumption: the history is that of today's book, not of past trades).

Cache keys carry a fingerprint of the positions and latest prices they were computed from, so
a read after a trade or a price move never returns a stale result even before
:meth:`PortfolioAnalyticsService.positions_changed` drops the old keys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
import numpy as np
import numpy.typing as npt

from nexus.errors import ValidationError
from nexus.money import Fixed, Money, Rounding

from . import correlation as corr
from .decomposition import factor_risk, risk_decomposition, var_decomposition
from .montecarlo import MAX_PATHS
from .performance import performance_metrics
from .sources import PositionSource, PriceSource, ResultCache
from .stress import StressScenario, apply_scenario, resolve_scenarios
from .types import (
    CorrelationMatrix,
    PerformanceMetrics,
    PortfolioPosition,
    RiskDecomposition,
    VaREstimate,
    VaRMethod,
    VaRResult,
    money_text,
)
from .validation import (
    FloatArray,
    check_confidence,
    check_finite_number,
    check_horizon,
    check_int,
    check_unit_interval,
)
from .var import to_var_result, var_from_returns

T = TypeVar("T")


class AnalyticsConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Service settings; look-backs are calendar days before ``clock()``."""

    var_lookback_days: int = 730
    money_places: int = 2
    rounding: Rounding = Rounding.HALF_EVEN
    summary_confidence: float = 0.95
    decomposition_confidence: float = 0.99
    estimator: corr.Estimator = corr.Estimator.SAMPLE
    ewma_lambda: float = corr.RISKMETRICS_LAMBDA
    age_decay: float = 0.98
    mc_paths: int = 100_000
    mc_seed: int | None = 7
    mc_full_simulation: bool = False
    student_t_dof: float = 5.0
    benchmark_symbol: str | None = None
    risk_free_rate: float = 0.0
    periods_per_year: int = 252

    def __post_init__(self) -> None:
        """Every setting checked at construction (a bad one never waits for a request)."""
        check_int(self.var_lookback_days, "var_lookback_days", 2, 3660)
        check_int(self.money_places, "money_places", 0, 9)
        if not isinstance(self.rounding, Rounding) or self.rounding is Rounding.EXACT:
            raise ValidationError("rounding must be a Rounding mode other than EXACT", "rounding")
        check_confidence(self.summary_confidence, "summary_confidence")
        check_confidence(self.decomposition_confidence, "decomposition_confidence")
        try:
            corr.Estimator(self.estimator)
        except ValueError as exc:
            raise ValidationError(f"unknown estimator {self.estimator!r}", "estimator") from exc
        check_unit_interval(self.ewma_lambda, "ewma_lambda")
        check_unit_interval(self.age_decay, "age_decay")
        check_int(self.mc_paths, "mc_paths", 100, MAX_PATHS)
        if self.mc_seed is not None:
            check_int(self.mc_seed, "mc_seed", 0, 2**63 - 1)
        if not isinstance(self.mc_full_simulation, bool):
            raise ValidationError("mc_full_simulation must be a boolean", "mc_full_simulation")
        dof = check_finite_number(self.student_t_dof, "student_t_dof")
        if dof <= 2.0:
            raise ValidationError("student_t_dof must be > 2", "student_t_dof")
        if self.benchmark_symbol is not None and (
            not isinstance(self.benchmark_symbol, str) or not self.benchmark_symbol
        ):
            raise ValidationError("benchmark_symbol must be a non-empty string", "benchmark_symbol")
        if check_finite_number(self.risk_free_rate, "risk_free_rate") <= -1.0:
            raise ValidationError("risk_free_rate must be > -100%", "risk_free_rate")
        check_int(self.periods_per_year, "periods_per_year", 1, 366 * 24)


def _check_user(user_id: Any) -> str:
    if not isinstance(user_id, str) or not user_id:
        raise ValidationError("user_id must be a non-empty string", "user_id")
    return user_id


class PortfolioAnalyticsService:
    """Real-time and historical risk metrics of user portfolios (see issue 7)."""

    def __init__(
        self,
        positions: PositionSource,
        prices: PriceSource,
        cache: ResultCache | None = None,
        *,
        config: AnalyticsConfig | None = None,
        clock: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self._positions = positions
        self._prices = prices
        self._cache = cache
        self.config = config or AnalyticsConfig()
        self._clock = clock

    # -- helpers ---------------------------------------------------------------------------

    async def _cached(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        if self._cache is None:
            return await compute()
        return await self._cache.get_or_compute(key, compute)

    def _money(self, value: float) -> str:
        return money_text(value, self.config.money_places, self.config.rounding)

    @staticmethod
    def _fingerprint(positions: list[PortfolioPosition]) -> str:
        text = "|".join(f"{p.symbol}:{p.quantity}:{p.price}" for p in positions)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    async def _valued(self, user_id: str) -> list[PortfolioPosition]:
        held = await self._positions.positions(_check_user(user_id))
        if not held:
            return []
        latest = await self._prices.latest_prices([p.symbol for p in held])
        return [msgspec.structs.replace(p, price=str(latest[p.symbol])) for p in held]

    async def _returns(
        self, symbols: list[str], start: dt.date, end: dt.date
    ) -> tuple[FloatArray, tuple[dt.date, ...]]:
        history = await self._prices.price_history(symbols, start, end)
        if len(history.dates) < 3:
            raise ValidationError("not enough price history in the window", "lookback")
        return history.returns(), history.dates

    @staticmethod
    def _exposures(positions: list[PortfolioPosition]) -> FloatArray:
        return np.array([p.market_value.as_float() for p in positions], dtype=np.float64)

    async def _window_returns(
        self, positions: list[PortfolioPosition], lookback_days: int
    ) -> FloatArray:
        end = self._clock()
        start = end - dt.timedelta(days=lookback_days)
        returns, _ = await self._returns([p.symbol for p in positions], start, end)
        return corr.common_window(returns)

    async def _betas(
        self, positions: list[PortfolioPosition], factors: list[str]
    ) -> dict[str, dict[str, float]]:
        """OLS betas of each position on the factor series (symbols) over the look-back."""
        symbols = [p.symbol for p in positions]
        window = await self._window_returns(
            [*positions, *(PortfolioPosition(symbol=f, quantity="0", price="0") for f in factors)],
            self.config.var_lookback_days,
        )
        n = len(symbols)
        model = factor_risk(window[:, :n], window[:, n:], np.zeros(n), factors)
        return {
            symbol: dict(zip(factors, row, strict=True))
            for symbol, row in zip(symbols, model.betas, strict=True)
        }

    # -- interface -------------------------------------------------------------------------

    async def positions_changed(self, user_id: str) -> None:
        """Drop the cached results of ``user_id`` (call on every trade of theirs)."""
        if self._cache is not None:
            await self._cache.invalidate(f"{_check_user(user_id)}:")

    async def get_positions(self, user_id: str) -> list[PortfolioPosition]:
        """Positions of the user revalued at the latest prices."""
        return await self._valued(user_id)

    async def get_portfolio_summary(self, user_id: str) -> dict[str, Any]:
        """Values (decimal strings) and 1-day parametric VaR/ES at the summary confidence."""
        positions = await self._valued(user_id)
        values = [p.market_value for p in positions]
        zero = Money(0)
        long_value = sum((v for v in values if v > zero), zero)
        short_value = sum((v for v in values if v < zero), zero)
        summary: dict[str, Any] = {
            "user_id": user_id,
            "as_of": self._clock().isoformat(),
            "n_positions": len(positions),
            "market_value": str(long_value + short_value),
            "long_value": str(long_value),
            "short_value": str(short_value),
            "gross_exposure": str(long_value - short_value),
            "confidence": self.config.summary_confidence,
            "var_1d": self._money(0.0),
            "expected_shortfall_1d": self._money(0.0),
        }
        if positions:
            result = await self.calculate_var(
                user_id, self.config.summary_confidence, 1, VaRMethod.PARAMETRIC_NORMAL
            )
            summary["var_1d"] = result.var
            summary["expected_shortfall_1d"] = result.expected_shortfall
        return summary

    async def calculate_var(
        self, user_id: str, confidence_level: float, time_horizon: int, method: VaRMethod | str
    ) -> VaRResult:
        """VaR and ES of the user's portfolio in money (positive loss) by ``method``."""
        try:
            m = VaRMethod(method)
        except ValueError as exc:
            raise ValidationError(f"unknown VaR method {method!r}", "method") from exc
        check_confidence(confidence_level, "confidence_level")
        check_horizon(time_horizon, "time_horizon")
        positions = await self._valued(user_id)
        if not positions:
            raise ValidationError("the portfolio has no positions", "user_id")
        key = (
            f"{user_id}:var:{self._fingerprint(positions)}:{confidence_level}:"
            f"{time_horizon}:{m.value}"
        )

        async def compute() -> VaRResult:
            cfg = self.config
            estimate = await self._estimate(positions, confidence_level, time_horizon, m)
            total = sum((p.market_value for p in positions), Money(0))
            return to_var_result(
                estimate, str(total), places=cfg.money_places, rounding=cfg.rounding
            )

        return await self._cached(key, compute)

    async def _estimate(
        self, positions: list[PortfolioPosition], confidence: float, horizon: int, m: VaRMethod
    ) -> VaREstimate:
        """The unrounded VaR estimate of valued ``positions`` over the VaR look-back."""
        cfg = self.config
        returns = await self._window_returns(positions, cfg.var_lookback_days)
        return var_from_returns(
            returns,
            self._exposures(positions),
            confidence,
            horizon,
            m,
            age_decay=cfg.age_decay,
            n_paths=cfg.mc_paths,
            seed=cfg.mc_seed,
            degrees_of_freedom=cfg.student_t_dof,
            full_simulation=cfg.mc_full_simulation,
        )

    async def get_performance_metrics(
        self, user_id: str, start_date: dt.date, end_date: dt.date
    ) -> PerformanceMetrics:
        """Performance of the current holdings' value series between the two dates."""
        if not isinstance(start_date, dt.date) or not isinstance(end_date, dt.date):
            raise ValidationError("start_date and end_date must be dates", "start_date")
        if end_date <= start_date:
            raise ValidationError("end_date must be after start_date", "end_date")
        positions = await self._positions.positions(_check_user(user_id))
        if not positions:
            raise ValidationError("the portfolio has no positions", "user_id")
        symbols = [p.symbol for p in positions]
        bench = self.config.benchmark_symbol
        wanted = [*symbols, bench] if bench and bench not in symbols else symbols
        history = await self._prices.price_history(wanted, start_date, end_date)
        raw = history.closes_raw
        keep: npt.NDArray[np.bool_] = np.asarray(history.present.all(axis=1))
        if int(keep.sum()) < 3:
            raise ValidationError("not enough common price history", "start_date")
        raw = raw[keep]
        dates = [d for d, k in zip(history.dates, keep, strict=True) if k]
        qty = [p.quantity_fixed for p in positions]
        values = np.array(
            [
                sum(
                    (Fixed.from_raw(int(row[j])).notional(q) for j, q in enumerate(qty)),
                    Money(0),
                ).as_float()
                for row in raw
            ]
        )
        if (values <= 0.0).any():
            raise ValidationError("portfolio value must stay positive for returns", "user_id")
        returns = values[1:] / values[:-1] - 1.0
        benchmark = None
        if bench:
            b = raw[:, history.column(bench)].astype(np.float64)
            benchmark = b[1:] / b[:-1] - 1.0
        return performance_metrics(
            returns,
            dates=dates,
            benchmark=benchmark,
            risk_free_rate=self.config.risk_free_rate,
            periods_per_year=self.config.periods_per_year,
        )

    async def get_risk_decomposition(self, user_id: str, factors: list[str]) -> RiskDecomposition:
        """Euler/incremental VaR per position and the split on the given factor series."""
        if not factors or not all(isinstance(f, str) and f for f in factors):
            raise ValidationError("factors must be a non-empty list of symbols", "factors")
        positions = await self._valued(user_id)
        if not positions:
            raise ValidationError("the portfolio has no positions", "user_id")
        symbols = [p.symbol for p in positions]
        end = self._clock()
        start = end - dt.timedelta(days=self.config.var_lookback_days)
        returns, _ = await self._returns([*symbols, *factors], start, end)
        window = corr.common_window(returns)
        n = len(symbols)
        assets, factor_returns = window[:, :n], window[:, n:]
        exposures = self._exposures(positions)
        cov = corr.estimate_covariance(assets, self.config.estimator).covariance
        decomposition = var_decomposition(cov, exposures, self.config.decomposition_confidence)
        model = factor_risk(assets, factor_returns, exposures, list(factors))
        return risk_decomposition(
            symbols,
            [p.market_value for p in positions],
            decomposition,
            model,
            places=self.config.money_places,
            rounding=self.config.rounding,
        )

    async def get_correlation_matrix(
        self, user_id: str, symbols: list[str] | None, lookback_days: int
    ) -> CorrelationMatrix:
        """Correlation of ``symbols`` (default: the user's holdings) over ``lookback_days``."""
        lookback_days = check_int(lookback_days, "lookback_days", 2, 3660)
        if not symbols:
            symbols = [p.symbol for p in await self._positions.positions(_check_user(user_id))]
        else:
            _check_user(user_id)
        if len(symbols) < 2:
            raise ValidationError("a correlation matrix needs at least 2 symbols", "symbols")
        end = self._clock()
        returns, _ = await self._returns(list(symbols), end - dt.timedelta(days=lookback_days), end)
        return corr.correlation_matrix(
            returns, list(symbols), self.config.estimator, ewma_lambda=self.config.ewma_lambda
        )

    async def run_stress_test(
        self, user_id: str, scenarios: list[str | StressScenario]
    ) -> list[dict[str, Any]]:
        """P&L of each scenario (named historical or custom), as plain dicts of strings.

        Factor shocks are mapped to positions through OLS betas on the factor symbols'
        returns over the VaR look-back window.
        """
        resolved = resolve_scenarios(scenarios)
        positions = await self._valued(user_id)
        base_var: float | None = None
        if positions:
            # the unrounded VaR: the stressed VaR is rounded once, after the multiplier
            estimate = await self._estimate(
                positions, self.config.summary_confidence, 1, VaRMethod.PARAMETRIC_NORMAL
            )
            base_var = estimate.var
        factors = sorted({f for sc in resolved for f in sc.factor_shocks})
        betas: dict[str, dict[str, float]] | None = None
        if positions and factors:
            betas = await self._betas(positions, factors)
        out: list[dict[str, Any]] = []
        for scenario in resolved:
            stressed = apply_scenario(
                positions,
                scenario,
                base_var=base_var,
                betas=betas,
                places=self.config.money_places,
                rounding=self.config.rounding,
            )
            out.append(msgspec.to_builtins(stressed))
        return out
