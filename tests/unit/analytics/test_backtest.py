"""Kupiec POF and Christoffersen tests against the textbook likelihood ratios."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from nexus.errors import ValidationError
from services.analytics.core.backtest import var_backtest


def _history(hits: list[int], var: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    v = np.full(len(hits), var)
    pnl = np.where(np.array(hits) == 1, -150.0, 10.0)
    return v, pnl


def _ll(zeros, ones, p):
    out = 0.0
    if zeros:
        out += zeros * math.log(1 - p)
    if ones:
        out += ones * math.log(p)
    return out


def test_kupiec_matches_formula() -> None:
    hits = [0] * 250
    for i in (10, 50, 51, 120, 200, 230):
        hits[i] = 1
    v, pnl = _history(hits)
    got = var_backtest(v, pnl, 0.99)
    x, t = 6, 250
    lr = -2 * (_ll(t - x, x, 0.01) - _ll(t - x, x, x / t))
    assert got.n_exceptions == 6
    assert got.lr_pof == pytest.approx(lr, rel=1e-12)
    assert got.p_value_pof == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-12)


def test_christoffersen_matches_formula() -> None:
    hits = [0] * 250
    for i in (10, 50, 51, 120, 200, 230):
        hits[i] = 1
    v, pnl = _history(hits)
    got = var_backtest(v, pnl, 0.99)
    n00, n01, n10, n11 = got.transitions
    assert (n00, n01, n10, n11) == (238, 5, 5, 1)
    pi0, pi1, pi = n01 / (n00 + n01), n11 / (n10 + n11), (n01 + n11) / 249
    lr = -2 * (_ll(n00 + n10, n01 + n11, pi) - _ll(n00, n01, pi0) - _ll(n10, n11, pi1))
    assert got.lr_independence == pytest.approx(lr, rel=1e-12)
    assert got.lr_conditional_coverage == pytest.approx(got.lr_pof + lr, rel=1e-12)
    assert got.p_value_conditional_coverage == pytest.approx(
        stats.chi2.sf(got.lr_pof + lr, 2), rel=1e-12
    )


def test_zero_exceptions_are_finite() -> None:
    v, pnl = _history([0] * 100)
    got = var_backtest(v, pnl, 0.99)
    assert got.n_exceptions == 0
    assert got.lr_pof == pytest.approx(-2 * 100 * math.log(0.99), rel=1e-12)
    assert got.lr_independence == 0.0


def test_all_exceptions_are_finite_and_reject() -> None:
    v, pnl = _history([1] * 50)
    got = var_backtest(v, pnl, 0.95)
    assert math.isfinite(got.lr_pof)
    assert got.p_value_pof < 1e-10


def test_clustered_exceptions_reject_independence() -> None:
    hits = [0] * 500
    for i in range(200, 210):
        hits[i] = 1
    v, pnl = _history(hits)
    got = var_backtest(v, pnl, 0.98)
    assert got.p_value_independence < 0.01
    assert got.p_value_pof > 0.05  # the count is right, the timing is not


def test_loss_equal_to_var_is_not_an_exception() -> None:
    got = var_backtest([100.0, 100.0, 100.0], [-100.0, -100.1, 5.0], 0.95)
    assert got.n_exceptions == 1


def test_correct_model_is_not_rejected_on_simulated_data() -> None:
    rng = np.random.default_rng(0)
    pnl = rng.normal(0, 1, 2000)
    var = np.full(2000, stats.norm.ppf(0.99))
    got = var_backtest(var, pnl, 0.99)
    assert got.p_value_conditional_coverage > 0.01


@pytest.mark.parametrize(
    ("v", "pnl", "c", "field"),
    [
        ([1.0], [1.0], 0.99, "var_forecasts"),
        ([1.0, 1.0], [1.0], 0.99, "pnl"),
        ([1.0, np.nan], [1.0, 1.0], 0.99, "var_forecasts"),
        ([1.0, 1.0], [1.0, 1.0], 1.2, "confidence"),
    ],
)
def test_backtest_bad_inputs_raise_with_field(v, pnl, c, field) -> None:
    with pytest.raises(ValidationError) as err:
        var_backtest(v, pnl, c)
    assert err.value.field == field


def test_rolling_historical_var_uses_only_past_days() -> None:
    from services.analytics.core.backtest import rolling_historical_var

    from . import reference

    pnl = np.random.default_rng(3).standard_t(4, 400) * 1000
    got = rolling_historical_var(pnl, 250, 0.99)
    assert got.shape == (150,)
    for i in (0, 75, 149):
        assert got[i] == reference.historical_tail(pnl[i : i + 250], 0.99, 1.96)[0]


def test_rolling_forecasts_feed_the_backtest() -> None:
    from services.analytics.core.backtest import rolling_historical_var

    pnl = np.random.default_rng(4).normal(0, 1000, 1250)
    forecasts = rolling_historical_var(pnl, 250, 0.99)
    got = var_backtest(forecasts, pnl[250:], 0.99)
    assert got.n_observations == 1000
    assert got.p_value_pof > 0.001


@pytest.mark.parametrize(("window", "field"), [(1, "window"), (400, "window"), (2.5, "window")])
def test_rolling_historical_var_bad_window_raises(window, field) -> None:
    from services.analytics.core.backtest import rolling_historical_var

    with pytest.raises(ValidationError) as err:
        rolling_historical_var(np.zeros(400), window, 0.99)
    assert err.value.field == field


def _hits(n: int, at: list[int]) -> list[bool]:
    out = [False] * n
    for i in at:
        out[i] = True
    return out


@pytest.mark.parametrize(
    ("count", "zone"),
    [(0, "green"), (4, "green"), (5, "yellow"), (9, "yellow"), (10, "red"), (20, "red")],
)
def test_basel_zone_on_250_days_at_99(count: int, zone: str) -> None:
    from services.analytics.core.backtest import basel_zone

    got = basel_zone(_hits(250, list(range(0, 250, 12))[:count]), 0.99)
    assert (got.zone, got.exceptions, got.observations) == (zone, count, 250)


def test_basel_zone_of_a_longer_backtest_counts_only_the_last_250_days() -> None:
    from services.analytics.core.backtest import basel_zone

    hits = _hits(300, [*range(10), 100, 200, 299])  # 10 breaks before the last 250 days
    got = basel_zone(hits, 0.99)
    assert (got.zone, got.exceptions, got.observations) == ("green", 3, 250)
    hits = _hits(300, [*range(50, 60)])  # the same 10 breaks inside the last 250
    assert basel_zone(hits, 0.99).zone == "red"


@pytest.mark.parametrize(("n", "c", "why"), [(249, 0.99, "250 observations"), (250, 0.95, "99%")])
def test_basel_zone_is_not_defined_off_the_table(n: int, c: float, why: str) -> None:
    from services.analytics.core.backtest import basel_zone

    got = basel_zone(_hits(n, [0, 1, 2, 3, 4, 5]), c)
    assert got.zone is None and got.exceptions is None and got.observations is None
    assert got.rule.startswith("not defined") and why in got.rule


def test_backtest_series_rounds_money_once_and_flags_on_unrounded_values() -> None:
    import datetime as dt

    from nexus.money import Rounding
    from services.analytics.core.backtest import backtest_series

    days = [dt.date(2026, 1, d) for d in (5, 6, 7, 8)]
    var = [100.0, 100.0, 100.125, 80.0]
    pnl = [-100.004, 5.125, -100.0, -150.5]
    got = backtest_series(days, var, pnl)
    assert [(d.date, d.pnl, d.var, d.exception) for d in got] == [
        (days[0], "-100.00", "100.00", True),  # the loss rounds to the VaR and still breaks it
        (days[1], "5.12", "100.00", False),  # HALF_EVEN
        (days[2], "-100.00", "100.12", False),
        (days[3], "-150.50", "80.00", True),
    ]
    assert [d.pnl for d in backtest_series(days, var, pnl, 1, Rounding.FLOOR)] == [
        "-100.1",
        "5.1",
        "-100.0",
        "-150.5",
    ]
    flags = [d.exception for d in got]
    assert sum(flags) == var_backtest(var, pnl, 0.99).n_exceptions


def test_backtest_series_needs_one_date_per_day() -> None:
    import datetime as dt

    from services.analytics.core.backtest import backtest_series

    with pytest.raises(ValidationError) as err:
        backtest_series([dt.date(2026, 1, 5)], [1.0, 1.0], [0.0, 0.0])
    assert err.value.field == "dates"
