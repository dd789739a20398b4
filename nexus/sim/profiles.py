"""Named simulator profiles: ready-made :class:`SimConfig` sets for common uses.

``realistic`` is the surveillance yardstick: manipulation sized against the displayed depth (a
spoof is large for its level, an ignition burst sweeps levels) and every legitimate look-alike
of :class:`~nexus.sim.config.LegitConfig` switched on, scaled with the run.
"""

from __future__ import annotations

import math

import msgspec

from nexus.sim.config import EpisodeConfig, LegitConfig, Range, SimConfig

PROFILES = ("default", "realistic")


def realistic_config(
    seed: int = 1,
    symbols: int = 20,
    users: int = 300,
    seconds: float = 60.0,
    episodes_per_type: int | None = None,
    **overrides: object,
) -> SimConfig:
    """The realistic profile: depth-relative episodes and the legitimate behaviours on.

    ``episodes_per_type`` defaults to about one episode of each type per symbol-minute; the
    legitimate behaviours are scaled to match (a market maker and an HFT on about half the
    symbols, as many institutions, sliced parents, news jumps and related-account pairs as
    episodes of one type).
    """
    n = (
        episodes_per_type
        if episodes_per_type is not None
        else max(4, round(symbols * seconds / 60.0))
    )
    actors = max(1, math.ceil(symbols / 2))
    cfg = SimConfig(
        seed=seed,
        symbols=symbols,
        users=users,
        seconds=seconds,
        spoofing=EpisodeConfig(count=n, depth_multiple=Range(1.0, 3.0)),
        layering=EpisodeConfig(count=n, orders=Range(3, 6), depth_multiple=Range(0.5, 1.5)),
        wash_trading=EpisodeConfig(
            count=n, size_multiple=Range(2, 6), orders=Range(3, 8), gap_ms=Range(200, 2000)
        ),
        momentum_ignition=EpisodeConfig(
            count=n,
            size_multiple=Range(3, 8),
            orders=Range(6, 15),
            gap_ms=Range(2, 30),
            depth_multiple=Range(1.0, 2.0),
        ),
        legit=LegitConfig(
            market_makers=actors,
            hft=actors,
            institutions=n,
            sliced_parents=n,
            news_jumps=max(1, n // 2),
            related_accounts=n,
        ),
    )
    if overrides:
        cfg = msgspec.structs.replace(cfg, **overrides)
    return cfg
