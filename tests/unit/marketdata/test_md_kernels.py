"""Numba kernels against their pure-Python references."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from services.marketdata.core import kernels


def garch_reference(
    shocks: npt.NDArray[np.float64],
    omega: npt.NDArray[np.float64],
    alpha: npt.NDArray[np.float64],
    beta: npt.NDArray[np.float64],
    mu: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    n_days, n_sym = shocks.shape
    out = [[0.0] * n_sym for _ in range(n_days)]
    for i in range(n_sym):
        h = omega[i] / (1 - alpha[i] - beta[i])
        for t in range(n_days):
            eps = math.sqrt(h) * shocks[t, i]
            out[t][i] = mu[i] + eps
            h = omega[i] + alpha[i] * eps * eps + beta[i] * h
    return np.array(out)


def ticks_reference(
    start: npt.NDArray[np.float64], log_returns: npt.NDArray[np.float64], tick: float
) -> npt.NDArray[np.int64]:
    n_days, n_sym = log_returns.shape
    out = np.zeros((n_days + 1, n_sym), dtype=np.int64)
    for i in range(n_sym):
        lp = math.log(start[i])
        for t in range(n_days + 1):
            if t:
                lp += log_returns[t - 1, i]
            out[t, i] = max(round(math.exp(lp) / tick), 1)
    return out


KERNEL_IMPLS = pytest.mark.parametrize("compiled", [True, False], ids=["numba", "py_func"])


def _impl(name: str, compiled: bool):  # type: ignore[no-untyped-def]
    fn = getattr(kernels, name)
    return fn if compiled else fn.py_func


@KERNEL_IMPLS
def test_garch_log_returns_random_input_matches_reference(compiled: bool) -> None:
    rng = np.random.default_rng(3)
    shocks = rng.standard_normal((200, 4))
    omega = np.full(4, 1e-5)
    alpha = np.array([0.05, 0.1, 0.0, 0.2])
    beta = np.array([0.9, 0.85, 0.5, 0.7])
    mu = np.array([0.0, 1e-4, -1e-4, 0.0])
    got = _impl("garch_log_returns", compiled)(shocks, omega, alpha, beta, mu)
    np.testing.assert_allclose(got, garch_reference(shocks, omega, alpha, beta, mu), rtol=1e-12)


@KERNEL_IMPLS
def test_closes_to_ticks_random_walk_matches_reference(compiled: bool) -> None:
    rng = np.random.default_rng(4)
    r = rng.normal(0, 0.02, (300, 3))
    start = np.array([12.345, 0.5, 250.0])
    np.testing.assert_array_equal(
        _impl("closes_to_ticks", compiled)(start, r, 0.01), ticks_reference(start, r, 0.01)
    )


@KERNEL_IMPLS
def test_closes_to_ticks_collapsing_price_floors_at_one_tick(compiled: bool) -> None:
    r = np.full((5, 1), -5.0)
    assert _impl("closes_to_ticks", compiled)(np.array([1.0]), r, 0.01)[-1, 0] == 1


def test_warm_up_compiles_every_kernel() -> None:
    kernels.warm_up()
    assert kernels.garch_log_returns.signatures


@KERNEL_IMPLS
def test_equal_weight_index_two_assets_matches_direct_product(compiled: bool) -> None:
    closes = np.array([[100, 200], [110, 190], [121, 209]], dtype=np.int64)
    level = _impl("equal_weight_index", compiled)(closes, 1000.0)
    expected = 1000.0 * (1 + (0.1 - 0.05) / 2) * (1 + (0.1 + 0.1) / 2)
    assert level[-1] == pytest.approx(expected, rel=1e-12)


async def test_the_service_warms_its_kernels_before_it_seeds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nexus.config import load_settings
    from services.marketdata import main

    calls: list[str] = []
    monkeypatch.setattr(main, "warm_up", lambda: calls.append("warm"))
    _app, runtime, service = main.build(load_settings({}))

    async def seed() -> None:
        calls.append("seed")

    monkeypatch.setattr(service, "seed_if_empty", seed)
    for hook in runtime._startup:
        await hook()
    assert calls == ["warm", "seed"]
