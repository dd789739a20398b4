"""Run a simulation: population, background flow, episodes, matching, stream and labels."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from nexus.events import TOPIC_ORDERS, TOPIC_TRADES
from nexus.instruments import symbol_name
from nexus.money import to_raw
from nexus.sim import episodes as ep_mod
from nexus.sim.config import SimConfig
from nexus.sim.engine import EventBuffer, OrderRegistry, SymbolDriver
from nexus.sim.flow import AccountSampler, background_flow
from nexus.sim.labels import (
    EpisodeLabel,
    FlowStats,
    LabelFile,
    LegitLabel,
    encode_accounts,
    encode_labels,
)
from nexus.sim.layout import (
    A_HANDLE,
    A_OP,
    A_PRICE,
    A_QTY,
    A_SIDE,
    A_TIF,
    A_TS,
    ACTION_COLUMNS,
    E_H1,
    E_H2,
    E_KIND,
    E_SEQ,
    E_SYMBOL,
    E_TS,
    K_AMEND,
    K_CANCEL,
    K_EXPIRE,
    K_FILL,
    K_NEW,
    K_TRADE,
)
from nexus.sim.legit import LegitActor, schedule_legit
from nexus.sim.sink import Action
from nexus.sim.users import Population, add_dedicated_users, build_population
from nexus.sim.wire import FrameEncoder

I64 = npt.NDArray[np.int64]
#: Column of the merged action table holding the symbol index.
A_SYMBOL_COL = ACTION_COLUMNS
#: A publisher takes (topic, key, payload): the shape of a Kafka producer's send.
Publisher = Callable[[str, bytes, bytes], None]
CHUNK_EVENTS = 262_144


@dataclass(slots=True)
class SimResult:
    """A finished simulation: time-ordered event rows and everything to encode and label them."""

    config: SimConfig
    symbols: list[str]
    population: Population
    events: I64
    order: I64
    account_of: I64
    encoder: FrameEncoder
    episodes: list[ep_mod.Episode]
    seq_base: I64
    applied: list[tuple[int, I64]]
    end_ticks: list[int]
    legit: list[LegitActor] = field(default_factory=list)

    @property
    def end_prices(self) -> list[str]:
        """Each symbol's fundamental (latent mid) at the end of the run, decimal strings: the
        start prices of the next window of a continuous run."""
        tick = Decimal(self.config.tick)
        return [str(tick * t) for t in self.end_ticks]

    @property
    def actions(self) -> I64:
        """Every applied action plus a symbol column (``A_SYMBOL_COL``), in stream order."""
        return _merge_actions(self.applied)

    def iter_actions(self) -> Iterator[Action]:
        """Every participant action in the order the book applied it (time, then symbol).

        This is the command stream: fed to a matching engine in this order it reproduces the
        event stream exactly (see :func:`nexus.sim.sink.replay`).
        """
        users = self.population.users
        acc_ids = self.population.account_ids
        acc_user = self.population.account_user
        for row in self.actions.tolist():  # one Python object per action: not a hot path
            handle = row[A_HANDLE]
            account = int(self.account_of[handle])
            yield Action(
                op=("submit", "amend", "cancel")[row[A_OP]],
                ts_event=row[A_TS],
                symbol=self.symbols[row[A_SYMBOL_COL]],
                order_id=self.encoder.order_id(handle),
                user_id=users[acc_user[account]].user_id,
                account_id=acc_ids[account],
                side="BUY" if row[A_SIDE] == 0 else "SELL",
                price=row[A_PRICE],
                quantity=row[A_QTY],
                time_in_force=("GTC", "DAY", "IOC", "FOK")[row[A_TIF]],
            )

    def iter_chunks(
        self, chunk: int = CHUNK_EVENTS, buffers: int = 1
    ) -> Iterator[tuple[memoryview, I64, I64]]:
        """``(frames, frame_starts, row_indexes)`` per chunk of the stream, in stream order.

        ``frames`` stays valid while the next ``buffers - 1`` chunks are produced.
        """
        for i, lo in enumerate(range(0, len(self.order), chunk)):
            hi = min(lo + chunk, len(self.order))
            data, starts = self.encoder.encode(
                self.events, self.order, lo, hi, self.account_of, self.seq_base, i % buffers
            )
            yield data, starts, self.order[lo:hi]

    def write(self, out: str | Path | BinaryIO) -> int:
        """Write the length-prefixed msgpack stream; returns bytes written."""
        if isinstance(out, str | Path):
            with Path(out).open("wb") as fh:
                return self.write(fh)
        # Double buffering: the kernel encodes chunk k+1 (without the GIL) while a thread writes
        # chunk k.
        total = 0
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending: Future[int | None] | None = None
            for data, _, _ in self.iter_chunks(buffers=2):
                if pending is not None:
                    pending.result()
                pending = pool.submit(out.write, data)
                total += len(data)
            if pending is not None:
                pending.result()
        return total

    def publish(self, publisher: Publisher) -> int:
        """Send every event as ``publisher(topic, symbol_key, msgpack_payload)``; returns count."""
        keys = [s.encode() for s in self.symbols]
        sent = 0
        for data, starts, rows in self.iter_chunks():
            view = data
            kinds = self.events[rows, E_KIND].tolist()
            syms = self.events[rows, E_SYMBOL].tolist()
            bounds = starts.tolist()
            for i, kind in enumerate(kinds):
                payload = bytes(view[bounds[i] + 4 : bounds[i + 1]])
                topic = TOPIC_TRADES if kind == K_TRADE else TOPIC_ORDERS
                publisher(topic, keys[syms[i]], payload)
                sent += 1
        return sent

    def stats(self) -> FlowStats:
        """Counts and ratios of the whole stream (background and episodes)."""
        counts = np.bincount(self.events[:, E_KIND], minlength=6).tolist()
        orders, trades, cancels = counts[K_NEW], counts[K_TRADE], counts[K_CANCEL]
        return FlowStats(
            events=len(self.events),
            orders=orders,
            amends=counts[K_AMEND],
            cancels=cancels,
            expires=counts[K_EXPIRE],
            trades=trades,
            fills=counts[K_FILL],
            cancel_ratio=cancels / orders if orders else 0.0,
            order_to_trade=orders / trades if trades else math.inf,
        )

    def labels(self) -> LabelFile:
        """The ground truth of the injected episodes."""
        users = self.population.users
        acc_ids = self.population.account_ids
        trade_rows = np.flatnonzero(self.events[:, E_KIND] == K_TRADE)
        out: list[EpisodeLabel] = []
        for ep in self.episodes:
            if not ep.handles:
                continue
            handles = np.asarray(ep.handles, dtype=np.int64)
            rows = trade_rows[
                np.isin(self.events[trade_rows, E_H1], handles)
                | np.isin(self.events[trade_rows, E_H2], handles)
            ]
            rows = rows[np.lexsort((self.events[rows, E_SEQ], self.events[rows, E_TS]))]
            out.append(
                EpisodeLabel(
                    episode_id=ep.episode_id,
                    type=ep.kind,  # type: ignore[arg-type]
                    symbol=self.symbols[ep.symbol],
                    user_id=users[ep.user].user_id,
                    user_ids=[users[u].user_id for u in ep.users],
                    beneficial_owner=users[ep.user].beneficial_owner,
                    accounts=[acc_ids[a] for a in ep.accounts],
                    window_start_ns=min(ep.times),
                    window_end_ns=max(ep.times),
                    order_ids=[self.encoder.order_id(h) for h in ep.handles],
                    roles=list(ep.roles),
                    trade_ids=[
                        self.encoder.event_id(ep.symbol, int(self.seq_base[ep.symbol] + q + 1))
                        for q in self.events[rows, E_SEQ].tolist()
                    ],
                )
            )
        legit = [
            LegitLabel(
                kind=a.kind,
                symbol=self.symbols[a.symbol],
                user_ids=[users[u].user_id for u in a.users],
                accounts=[acc_ids[x] for x in a.accounts],
                window_start_ns=min(a.log.times),
                window_end_ns=max(a.log.times),
                orders=len(a.log.handles),
            )
            for a in self.legit
            if a.log.times
        ]
        return LabelFile(
            config=self.config,
            symbols=self.symbols,
            users=users,
            episodes=out,
            stats=self.stats(),
            legit=legit,
        )

    def write_labels(self, path: str | Path) -> None:
        """Write the label file (JSON)."""
        Path(path).write_bytes(encode_labels(self.labels()))

    def write_accounts(self, path: str | Path) -> None:
        """Write the user -> beneficial owner / accounts mapping (JSON)."""
        Path(path).write_bytes(encode_accounts(self.population.users))


def _plan_episodes(
    cfg: SimConfig, population: Population, rng: np.random.Generator
) -> list[ep_mod.Episode]:
    span = int(cfg.seconds * 1e9)
    by_owner: dict[str, list[int]] = {}
    for u, rec in enumerate(population.users):
        by_owner.setdefault(rec.beneficial_owner, []).append(u)
    multi = [
        us for us in by_owner.values() if sum(len(population.user_accounts[u]) for u in us) >= 2
    ]
    shared = [us for us in by_owner.values() if len(us) >= 2]
    plan: list[ep_mod.Episode] = []
    kinds = [
        (ep_mod.SPOOFING, cfg.spoofing),
        (ep_mod.LAYERING, cfg.layering),
        (ep_mod.WASH_TRADING, cfg.wash_trading),
        (ep_mod.MOMENTUM_IGNITION, cfg.momentum_ignition),
    ]
    for kind, ecfg in kinds:
        for j in range(ecfg.count):
            index = len(plan)
            symbol = int(rng.integers(0, cfg.symbols))
            start = cfg.start_ns + int(rng.integers(span // 20, span * 4 // 5))
            if kind == ep_mod.WASH_TRADING:
                if not multi:
                    continue
                accounts = _wash_accounts(population, multi, shared, j, rng)
                acc_users = [population.account_user[a] for a in accounts]
                users = sorted(set(acc_users), key=acc_users.index)
                user = users[0]
            else:
                user = int(rng.integers(0, cfg.users))
                accounts = [population.user_accounts[user][0]]
                users = [user]
            plan.append(
                ep_mod.Episode(
                    episode_id=f"{cfg.id_prefix}EP{index:04d}",
                    kind=kind,
                    symbol=symbol,
                    user=user,
                    accounts=accounts,
                    users=users,
                    start_ns=start,
                    rng=np.random.default_rng([cfg.seed, 2, index]),
                    config=ecfg,
                )
            )
    return plan


def _wash_accounts(
    population: Population,
    multi: list[list[int]],
    shared: list[list[int]],
    j: int,
    rng: np.random.Generator,
) -> list[int]:
    """Two accounts of one beneficial owner: every other episode (when the population has
    owners with several users) across two users, otherwise any two of the owner's accounts."""
    if j % 2 == 1 and shared:
        group = shared[int(rng.integers(0, len(shared)))]
        first, second = rng.choice(len(group), 2, replace=False)
        a = population.user_accounts[group[int(first)]]
        b = population.user_accounts[group[int(second)]]
        return [a[int(rng.integers(0, len(a)))], b[int(rng.integers(0, len(b)))]]
    group = multi[int(rng.integers(0, len(multi)))]
    accounts = [a for u in group for a in population.user_accounts[u]]
    pick = rng.choice(len(accounts), 2, replace=False)
    return [accounts[int(pick[0])], accounts[int(pick[1])]]


def simulate(cfg: SimConfig) -> SimResult:
    """Run the whole simulation in memory; deterministic for ``cfg`` (seed included)."""
    cfg.validate()
    tick = Decimal(cfg.tick)
    tick_raw = to_raw(tick)
    lot_raw = cfg.lot_size * 10**9
    setup = np.random.default_rng([cfg.seed, 0])
    acc = cfg.accounts_per_user
    population = build_population(
        cfg.users, round(acc.low), round(acc.high), cfg.shared_owner_fraction, setup
    )
    background_users = len(population.users)
    if cfg.legit.actors:
        population = add_dedicated_users(
            population, cfg.legit.actors, pairs=cfg.legit.related_accounts
        )
    sampler = AccountSampler(population)
    expected = int(cfg.orders_per_second * cfg.seconds * cfg.symbols)
    registry = OrderRegistry(capacity=int(expected * 1.2) + 1024)
    sink = EventBuffer(int(expected * 2.4) + 4096)
    lo, hi = cfg.start_price.low, cfg.start_price.high
    start_prices = np.exp(setup.uniform(math.log(lo), math.log(hi), cfg.symbols))
    if cfg.start_prices is not None:
        # drawn above all the same, so the rest of the run does not depend on this choice
        start_prices = np.array([float(Decimal(p)) for p in cfg.start_prices])
    disp = cfg.rate_dispersion
    rates = cfg.orders_per_second * np.exp(
        setup.normal(-0.5 * disp * disp, disp, cfg.symbols) if disp > 0 else np.zeros(cfg.symbols)
    )
    drivers: list[SymbolDriver] = []
    for s in range(cfg.symbols):
        rng = np.random.default_rng([cfg.seed, 1, s])
        start_ticks = max(20, round(float(start_prices[s]) / float(tick)))
        flow = background_flow(
            cfg, rng, float(rates[s]), start_ticks, tick_raw, registry.size, sampler
        )
        registry.allocate(flow.accounts, flow.sides)
        drivers.append(SymbolDriver(s, flow.actions, flow.mid, tick_raw, lot_raw, registry, sink))
    median_lots = max(1.0, math.floor(2 ** (1 / cfg.size_tail_alpha)))
    plan = _plan_episodes(cfg, population, np.random.default_rng([cfg.seed, 3]))
    for ep in plan:
        m = drivers[ep.symbol]
        if ep.kind == ep_mod.WASH_TRADING:
            ep_mod.wash_trading(ep, m)
        elif ep.kind == ep_mod.MOMENTUM_IGNITION:
            ep_mod.momentum_ignition(ep, m, median_lots)
        else:
            ep_mod.spoofing_or_layering(ep, m, median_lots)
    legit = schedule_legit(
        cfg, background_users, population.user_accounts, background_users, drivers
    )
    for d in drivers:
        d.run()
    events = sink.table
    # Each symbol's rows are time-ordered and symbols follow each other, so a stable sort on
    # time alone yields (time, symbol, production order).
    order = np.argsort(events[:, E_TS], kind="stable").astype(np.int64)
    symbols = [symbol_name(i) for i in range(cfg.symbols)]
    encoder = FrameEncoder(
        symbols,
        [u.user_id for u in population.users],
        population.account_ids,
        population.account_user,
        cfg.id_prefix,
    )
    return SimResult(
        config=cfg,
        symbols=symbols,
        population=population,
        events=events,
        order=order,
        account_of=registry.account_of[: registry.size].copy(),
        encoder=encoder,
        episodes=[ep for ep in plan if ep.handles],
        seq_base=np.zeros(cfg.symbols, dtype=np.int64),
        applied=[(d.symbol, seg) for d in drivers for seg in d.applied],
        end_ticks=[d.mid_at(cfg.start_ns + int(cfg.seconds * 1e9)) for d in drivers],
        legit=legit,
    )


def _merge_actions(applied: list[tuple[int, I64]]) -> I64:
    """All applied actions with a symbol column, in (time, symbol, apply order)."""
    parts = []
    for symbol, seg in applied:
        tagged = np.empty((len(seg), ACTION_COLUMNS + 1), dtype=np.int64)
        tagged[:, :ACTION_COLUMNS] = seg
        tagged[:, A_SYMBOL_COL] = symbol
        parts.append(tagged)
    if not parts:
        return np.zeros((0, ACTION_COLUMNS + 1), dtype=np.int64)
    merged = np.concatenate(parts)
    return merged[np.argsort(merged[:, A_TS], kind="stable")]


def warm_up() -> None:
    """Compile (or load from cache) every simulator kernel with a tiny run."""
    tiny = SimConfig(seed=0, symbols=1, users=4, seconds=1.0, orders_per_second=50.0)
    result = simulate(tiny)
    for _ in result.iter_chunks():
        pass
