"""Background order flow of one symbol, generated in vectorised numpy batches.

Orders arrive as a Poisson process; the mid follows a tick-rounded Brownian path; each order
is a limit order on a random side, either passive (a geometric number of ticks behind the mid,
GTC) or marketable (1-3 ticks through the mid, IOC). Sizes are Pareto-distributed lots (heavy
tail, capped). Most passive orders are cancelled after an exponential lifetime, some amended
first (half a size decrease that keeps priority, half a one-tick reprice). Participants are
drawn with Zipf-like activity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from nexus.sim import kernels
from nexus.sim.config import SimConfig
from nexus.sim.layout import (
    ACTION_COLUMNS,
    TIF_GTC,
    TIF_IOC,
)
from nexus.sim.users import Population

I64 = npt.NDArray[np.int64]
NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class MidPath:
    """The mid of one symbol: ``ticks[k]`` holds from ``ts[k]`` on (raw = ticks * tick_raw)."""

    ts: I64
    ticks: I64
    start_ticks: int

    def at(self, ts: int) -> int:
        """Mid in ticks at time ``ts`` (the start mid before the first step)."""
        k = int(np.searchsorted(self.ts, ts, side="right")) - 1
        return int(self.ticks[k]) if k >= 0 else self.start_ticks


@dataclass(frozen=True, slots=True)
class BackgroundFlow:
    """One symbol's background actions (sorted by time) and its mid path."""

    actions: I64
    mid: MidPath
    first_handle: int
    accounts: I64
    sides: I64


class AccountSampler:
    """Draws accounts of users weighted by activity (vectorised)."""

    def __init__(self, population: Population) -> None:
        self._cum = np.cumsum(np.asarray(population.activity, dtype=np.float64))
        self._cum[-1] = 1.0
        counts = [len(a) for a in population.user_accounts]
        self._count = np.asarray(counts, dtype=np.int64)
        self._first = np.asarray([a[0] for a in population.user_accounts], dtype=np.int64)

    def draw(self, rng: np.random.Generator, n: int) -> I64:
        users = np.searchsorted(self._cum, rng.random(n), side="right")
        users = np.minimum(users, len(self._count) - 1)
        offset = (rng.random(n) * self._count[users]).astype(np.int64)
        out: I64 = self._first[users] + offset
        return out


def background_flow(
    cfg: SimConfig,
    rng: np.random.Generator,
    rate: float,
    start_ticks: int,
    tick_raw: int,
    first_handle: int,
    accounts: AccountSampler,
) -> BackgroundFlow:
    """Actions of one symbol's background participants over ``cfg.seconds`` of simulated time."""
    span = int(cfg.seconds * NS)
    n = int(rng.poisson(rate * cfg.seconds))
    t_new = cfg.start_ns + np.sort(rng.integers(0, span, n))
    # mid path sampled at the arrivals (a Brownian motion in ticks, rounded to the tick)
    dt = np.diff(t_new, prepend=cfg.start_ns).astype(np.float64) / NS
    walk = np.cumsum(rng.standard_normal(n) * np.sqrt(dt)) * cfg.mid_vol_ticks_per_sqrt_s
    mid_ticks = np.maximum(start_ticks + np.rint(walk).astype(np.int64), 20)
    side = (rng.random(n) < 0.5).astype(np.int64)
    sign = 1 - 2 * side  # +1 buy, -1 sell
    marketable = rng.random(n) < cfg.marketable_fraction
    passive_offset = rng.geometric(cfg.passive_offset_p, n)
    through = rng.integers(1, 4, n)
    price_ticks = np.where(
        marketable, mid_ticks + sign * through, mid_ticks - sign * passive_offset
    )
    price_ticks = np.maximum(price_ticks, 1)
    lots = np.minimum(np.floor(rng.pareto(cfg.size_tail_alpha, n) + 1.0), cfg.max_lots)
    qty = lots.astype(np.int64) * np.int64(cfg.lot_size * 10**9)
    account = accounts.draw(rng, n)

    tif = np.where(marketable, TIF_IOC, TIF_GTC).astype(np.int64)
    price = price_ticks * tick_raw
    lifetime = rng.exponential(cfg.lifetime_ms * 1e6, n).astype(np.int64) + 1
    t_cancel = t_new + lifetime
    cancels = ~marketable & (rng.random(n) < cfg.cancel_probability)
    cancels &= t_cancel < cfg.start_ns + span
    amends = cancels & (rng.random(n) < cfg.amend_fraction)
    idx_c = np.flatnonzero(cancels)
    idx_a = np.flatnonzero(amends)
    frac = rng.uniform(0.2, 0.8, len(idx_a))
    t_amend = t_new[idx_a] + (lifetime[idx_a] * frac).astype(np.int64)
    shrink = rng.random(len(idx_a)) < 0.5
    lot_raw = np.int64(cfg.lot_size * 10**9)
    amend_qty = np.where(
        shrink, np.maximum(lots[idx_a].astype(np.int64) // 2, 1) * lot_raw, qty[idx_a]
    )
    move = np.where(rng.random(len(idx_a)) < 0.5, 1, -1) * tick_raw
    amend_price = np.where(shrink, price[idx_a], np.maximum(price[idx_a] + move, tick_raw))

    ts_all = np.concatenate([t_new, t_amend, t_cancel[idx_c]])
    perm = np.argsort(ts_all, kind="stable")
    actions = np.empty((len(ts_all), ACTION_COLUMNS), dtype=np.int64)
    kernels.fill_actions(
        actions,
        perm,
        ts_all,
        n,
        len(idx_a),
        idx_a,
        idx_c,
        first_handle,
        side,
        price,
        qty,
        account,
        tif,
        amend_price,
        amend_qty,
    )
    return BackgroundFlow(
        actions=actions,
        mid=MidPath(ts=t_new, ticks=mid_ticks, start_ticks=start_ticks),
        first_handle=first_handle,
        accounts=account,
        sides=side,
    )
