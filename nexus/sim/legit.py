"""Legitimate behaviour that a naive surveillance rule would mistake for manipulation.

Each behaviour is a script of steps on a symbol's :class:`~nexus.sim.episodes.Market`, like the
manipulation episodes, but by dedicated users and never labelled as an episode: it is the
yardstick's set of traps (see :class:`nexus.sim.config.LegitConfig`). What each one did is
recorded as a :class:`LegitRecord` (kind, symbol, users, window) so an evaluation can say which
trap a false alert fell into.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from nexus.sim.config import Range, SimConfig
from nexus.sim.episodes import MS, Episode, Market, draw, draw_int
from nexus.sim.layout import BUY, SELL, TIF_GTC, TIF_IOC

S = 1_000_000_000

MARKET_MAKER = "MARKET_MAKER"
HFT = "HFT"
INSTITUTION = "INSTITUTION"
SLICED_PARENT = "SLICED_PARENT"
NEWS_JUMP = "NEWS_JUMP"
RELATED_ACCOUNTS = "RELATED_ACCOUNTS"


@dataclass(slots=True)
class LegitActor:
    """One legitimate behaviour instance: where, who, when, and the episode-like order log."""

    kind: str
    symbol: int
    accounts: list[int]
    users: list[int]
    start_ns: int
    end_ns: int
    rng: np.random.Generator
    log: Episode = field(init=False)

    def __post_init__(self) -> None:
        self.log = Episode(
            episode_id=f"LEGIT-{self.kind}",
            kind=self.kind,
            symbol=self.symbol,
            user=self.users[0],
            accounts=list(self.accounts),
            users=list(self.users),
            start_ns=self.start_ns,
            rng=self.rng,
            config=None,  # type: ignore[arg-type]
        )


def _cancel(m: Market, handle: int, log: Episode, ts: int) -> None:
    m.cancel(ts, handle, log)


def _hit_later(hit: Callable[[int, int, int], None], account: int, times: int, ts: int) -> None:
    hit(ts, account, times)


def _lots(m: Market, lots: int) -> int:
    return max(1, lots) * m.lot_raw


def market_maker(a: LegitActor, m: Market) -> None:
    """Two-sided normal-size quotes at the touch, cancelled and re-quoted every few hundred
    milliseconds for the whole window."""
    rng = a.rng
    size = int(rng.integers(1, 4))
    live: list[int] = []

    def quote(ts: int) -> None:
        for h in live:
            m.cancel(ts, h, a.log)
        live.clear()
        if ts >= a.end_ns:
            return
        bid, ask = m.top(ts)
        live.append(m.submit(ts, a.accounts[0], BUY, bid, _lots(m, size), TIF_GTC, a.log, "mm"))
        live.append(m.submit(ts, a.accounts[0], SELL, ask, _lots(m, size), TIF_GTC, a.log, "mm"))
        m.schedule(ts + int(rng.uniform(150, 600) * MS), quote)

    m.schedule(a.start_ns, quote)


def hft(a: LegitActor, m: Market) -> None:
    """Small orders at or near the touch on either side, cancelled within milliseconds, and a
    marketable IOC about once in 80 orders (an order-to-trade ratio of roughly 50-110)."""
    rng = a.rng

    def act(ts: int) -> None:
        if ts >= a.end_ns:
            return
        bid, ask = m.top(ts)
        side = BUY if rng.random() < 0.5 else SELL
        if rng.random() < 1 / 80:
            price = ask if side == BUY else bid
            m.submit(ts, a.accounts[0], side, price, m.lot_raw, TIF_IOC, a.log, "hft_take")
        else:
            behind = int(rng.integers(1, 4))
            price = bid - behind * m.tick_raw if side == BUY else ask + behind * m.tick_raw
            if price > 0:
                h = m.submit(ts, a.accounts[0], side, price, m.lot_raw, TIF_GTC, a.log, "hft")
                cancel_at = ts + int(rng.uniform(5, 150) * MS)
                m.schedule(cancel_at, functools.partial(_cancel, m, h, a.log))
        m.schedule(ts + int(rng.exponential(25) * MS) + 1, act)

    m.schedule(a.start_ns, act)


def institution(a: LegitActor, m: Market, depth_multiple: Range, rest_s: Range) -> None:
    """A large resting order near the touch (a multiple of its level's displayed quantity),
    cancelled after seconds or minutes, possibly replaced once; nothing on the other side."""
    rng = a.rng
    side = BUY if rng.random() < 0.5 else SELL
    cycles = int(rng.integers(1, 3))
    state = {"left": cycles}

    def place(ts: int) -> None:
        bid, ask = m.top(ts)
        behind = int(rng.integers(0, 3))
        price = bid - behind * m.tick_raw if side == BUY else ask + behind * m.tick_raw
        level = m.depth_at(side, price)
        qty = max(20 * m.lot_raw, round(draw(rng, depth_multiple) * level / m.lot_raw) * m.lot_raw)
        h = m.submit(ts, a.accounts[0], side, price, qty, TIF_GTC, a.log, "institution")
        m.schedule(ts + int(draw(rng, rest_s) * S), lambda t: cancel(t, h))

    def cancel(ts: int, h: int) -> None:
        m.cancel(ts, h, a.log)
        state["left"] -= 1
        if state["left"] > 0:
            m.schedule(ts + int(rng.uniform(0.5, 5) * S), place)

    m.schedule(a.start_ns, place)


def sliced_parent(a: LegitActor, m: Market) -> None:
    """A parent order worked as 5-20 aggressive IOC children in one direction, each a part of
    the far touch's displayed quantity, spaced 50 ms to 2 s."""
    rng = a.rng
    side = BUY if rng.random() < 0.5 else SELL
    children = draw_int(rng, Range(5, 20))
    state = {"sent": 0}

    def child(ts: int) -> None:
        bid, ask = m.top(ts)
        far = ask if side == BUY else bid
        level = m.depth_at(1 - side, far)
        qty = max(m.lot_raw, round(rng.uniform(0.3, 1.0) * level / m.lot_raw) * m.lot_raw)
        m.submit(ts, a.accounts[0], side, far, qty, TIF_IOC, a.log, "child")
        state["sent"] += 1
        if state["sent"] < children:
            m.schedule(ts + int(rng.uniform(50, 2000) * MS), child)

    m.schedule(a.start_ns, child)


def news_jump(a: LegitActor, m: Market) -> None:
    """Many participants (``a.accounts``) hit one side within two seconds, as after news; a
    third of them later take profit with passive orders on the other side."""
    rng = a.rng
    side = BUY if rng.random() < 0.5 else SELL

    def hit(ts: int, account: int, left: int) -> None:
        bid, ask = m.top(ts)
        far = ask if side == BUY else bid
        level = m.depth_at(1 - side, far)
        qty = max(m.lot_raw, round(rng.uniform(0.1, 0.4) * level / m.lot_raw) * m.lot_raw)
        price = max(m.tick_raw, far + (1 if side == BUY else -1) * m.tick_raw)
        m.submit(ts, account, side, price, qty, TIF_IOC, a.log, "news")
        if left > 1:
            m.schedule(ts + int(rng.uniform(20, 500) * MS), lambda t: hit(t, account, left - 1))
        elif rng.random() < 1 / 3:
            m.schedule(ts + int(rng.uniform(5, 60) * S), lambda t: take_profit(t, account, qty))

    def take_profit(ts: int, account: int, qty: int) -> None:
        bid, ask = m.top(ts)
        near = ask if side == BUY else bid
        h = m.submit(ts, account, 1 - side, near, qty, TIF_GTC, a.log, "news_exit")
        m.schedule(ts + int(rng.uniform(1, 10) * S), lambda t: m.cancel(t, h, a.log))

    for account in a.accounts:
        start = a.start_ns + int(rng.uniform(0, 2000) * MS)
        m.schedule(start, functools.partial(_hit_later, hit, account, int(rng.integers(1, 4))))


def related_accounts(a: LegitActor, m: Market) -> None:
    """Two users of one beneficial owner quote the same symbol, one bidding and one offering
    passively, re-quoting every 0.5-2 s: their orders can never cross each other."""
    rng = a.rng
    live: dict[int, int] = {}

    def quote(ts: int, k: int) -> None:
        old = live.pop(k, None)
        if old is not None:
            m.cancel(ts, old, a.log)
        if ts >= a.end_ns:
            return
        bid, ask = m.top(ts)
        side = BUY if k == 0 else SELL
        price = bid if side == BUY else ask
        lots = int(rng.integers(1, 4))
        live[k] = m.submit(ts, a.accounts[k], side, price, _lots(m, lots), TIF_GTC, a.log, "rel")
        m.schedule(ts + int(rng.uniform(500, 2000) * MS), lambda t: quote(t, k))

    m.schedule(a.start_ns, lambda t: quote(t, 0))
    m.schedule(a.start_ns + int(rng.uniform(0, 300) * MS), lambda t: quote(t, 1))


def schedule_legit(
    cfg: SimConfig,
    first_user: int,
    user_accounts: list[list[int]],
    background_users: int,
    markets: Sequence[Market],
) -> list[LegitActor]:
    """Create and schedule every legitimate behaviour of ``cfg.legit``.

    Dedicated users start at ``first_user`` (one account each; the related-accounts pairs are
    two users of one owner); news jumps draw their participants from the background users.
    """
    legit = cfg.legit
    span = int(cfg.seconds * S)
    rng = np.random.default_rng([cfg.seed, 6])
    actors: list[LegitActor] = []
    next_user = first_user

    def take(n: int) -> list[int]:
        nonlocal next_user
        users = list(range(next_user, next_user + n))
        next_user += n
        return users

    def new(kind: str, users: list[int], accounts: list[int], start: int, end: int) -> LegitActor:
        actor = LegitActor(
            kind=kind,
            symbol=int(rng.integers(0, cfg.symbols)),
            accounts=accounts,
            users=users,
            start_ns=start,
            end_ns=end,
            rng=np.random.default_rng([cfg.seed, 7, len(actors)]),
        )
        actors.append(actor)
        return actor

    def window(low_s: float, high_s: float) -> tuple[int, int]:
        start = cfg.start_ns + int(rng.integers(span // 20, max(span // 20 + 1, span * 4 // 5)))
        return start, min(cfg.start_ns + span, start + int(rng.uniform(low_s, high_s) * S))

    whole = (cfg.start_ns + span // 50, cfg.start_ns + span)
    for _ in range(legit.market_makers):
        u = take(1)
        a = new(MARKET_MAKER, u, [user_accounts[u[0]][0]], *whole)
        market_maker(a, markets[a.symbol])
    for _ in range(legit.hft):
        u = take(1)
        a = new(HFT, u, [user_accounts[u[0]][0]], *whole)
        hft(a, markets[a.symbol])
    for _ in range(legit.institutions):
        u = take(1)
        a = new(INSTITUTION, u, [user_accounts[u[0]][0]], *window(10, 240))
        institution(
            a, markets[a.symbol], legit.institution_depth_multiple, legit.institution_rest_s
        )
    for _ in range(legit.sliced_parents):
        u = take(1)
        a = new(SLICED_PARENT, u, [user_accounts[u[0]][0]], *window(5, 60))
        sliced_parent(a, markets[a.symbol])
    for _ in range(legit.related_accounts):
        u = take(2)
        a = new(
            RELATED_ACCOUNTS, u, [user_accounts[u[0]][0], user_accounts[u[1]][0]], *window(20, 90)
        )
        related_accounts(a, markets[a.symbol])
    for _ in range(legit.news_jumps):
        k = int(rng.integers(8, 26))
        users = sorted({int(x) for x in rng.integers(0, background_users, k)})
        a = new(NEWS_JUMP, users, [user_accounts[x][0] for x in users], *window(60, 90))
        news_jump(a, markets[a.symbol])
    return actors
