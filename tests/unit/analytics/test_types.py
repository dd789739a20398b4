"""Every result type survives a JSON round trip (plain floats, strings, dates only)."""

from __future__ import annotations

import datetime as dt

import msgspec
import numpy as np

from services.analytics.core import backtest, correlation, decomposition, performance

from .conftest import market_returns


def _roundtrip(value: msgspec.Struct) -> None:
    assert msgspec.json.decode(msgspec.json.encode(value), type=type(value)) == value


def test_performance_metrics_roundtrip_json() -> None:
    r = market_returns(1, days=100, assets=2)
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(101)]
    _roundtrip(performance.performance_metrics(r[:, 0], dates=dates, benchmark=r[:, 1]))


def test_decomposition_results_roundtrip_json() -> None:
    r = market_returns(2, days=200, assets=4)
    w = np.array([1e4, 2e4, -5e3, 3e4])
    d = decomposition.var_decomposition(np.cov(r.T), w, 0.99)
    f = decomposition.factor_risk(r[:, :3], r[:, 3:], w[:3], ["F"])
    _roundtrip(d)
    _roundtrip(f)
    _roundtrip(decomposition.risk_decomposition(list("ABCD"), w, d, f))


def test_correlation_and_backtest_roundtrip_json() -> None:
    r = market_returns(3, days=100, assets=3)
    _roundtrip(correlation.correlation_matrix(r, ["A", "B", "C"], "ledoit_wolf"))
    _roundtrip(backtest.var_backtest(np.full(100, 500.0), r[:, 0] * 3e4, 0.99))
