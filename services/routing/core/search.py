"""The split search: the best allocation of a quantity over venue levels under order protection.

A *candidate* is one price level at one venue with a per-share cost ``key`` (raw, lower is
better: the side-signed price plus the strategy's per-share adjustments, see scoring.py). A
split gives each candidate a quantity ``0 <= x <= size``; its objective is ``sum(x * key)``.

A split is *protection-feasible* when, for every candidate it uses at price ``p``, every
protected quote whose ``protect_price`` is strictly better than ``p`` is taken in full (an
ISO). Among feasible splits the search first maximises the routed quantity (up to the target)
and then minimises the objective.

Exactness: a feasible split is fixed by its worst used price ``w``: it must take in full the
protected quotes better than ``w`` and may use any level no worse than ``w``. Taking ``w`` at a
protected price (or at the worst candidate price) loses nothing, because between two protected
prices the forced set is the same and a looser price bound only adds options. So the search
tries each such bound ``theta``, forces the quotes better than it, fills the rest greedily by
key (optimal for a linear objective with box constraints), and keeps the best - O(P x L) for P
protected quotes and L levels, with the levels sorted once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from services.routing.core.protection import ProtectedQuote
from services.routing.core.types import Side


class Candidate(NamedTuple):
    """One level of one venue: ``level`` 0 is the venue's displayed top of book."""

    venue_id: str
    level: int
    price: int
    size: int
    key: int


@dataclass(frozen=True, slots=True)
class Allocation:
    """The chosen split: quantities per candidate, the quotes swept, the bound used."""

    legs: tuple[tuple[Candidate, int], ...]
    quantity: int
    objective: int
    swept: tuple[ProtectedQuote, ...]
    worst_price: int
    bounds_tried: int


EMPTY = Allocation(legs=(), quantity=0, objective=0, swept=(), worst_price=0, bounds_tried=0)


def _signed(side: Side, price: int) -> int:
    return price if side == "BUY" else -price


def allocate(
    side: Side,
    candidates: Sequence[Candidate],
    protected: Sequence[ProtectedQuote],
    target: int,
    allowed: Collection[str] | None = None,
) -> Allocation:
    """The best protection-feasible split of up to ``target`` over ``candidates``.

    ``candidates`` must already be sorted by (key, tie-breaks); ``allowed`` restricts the venues
    that may be used (None: all). A protected quote of a venue that may not be used can never
    be swept, so no split may trade at a price worse than its ``protect_price``.
    """
    if target <= 0 or not candidates:
        return EMPTY
    usable = [c for c in candidates if allowed is None or c.venue_id in allowed]
    if not usable:
        return EMPTY
    tops = {c.venue_id: c for c in usable if c.level == 0}
    buy = side == "BUY"
    signed = [c.price if buy else -c.price for c in usable]
    prot = [(p.protect_price if buy else -p.protect_price, p) for p in protected]
    bounds = sorted({sp for sp, _ in prot} | {max(signed)})
    best: Allocation | None = None
    tried = 0
    for theta in bounds:
        forced = [p for sp, p in prot if sp < theta]
        legs: list[tuple[Candidate, int]] = []
        forced_keys: set[tuple[str, int]] = set()
        ok = True
        forced_total = 0
        for p in forced:
            top = tops.get(p.venue_id)
            if top is None or (top.price if buy else -top.price) > theta:
                ok = False
                break
            legs.append((top, top.size))
            forced_keys.add((top.venue_id, 0))
            forced_total += top.size
        if not ok or forced_total > target:
            continue
        tried += 1
        remaining = target - forced_total
        objective = sum(c.key * q for c, q in legs)
        worst = max((c.price if buy else -c.price for c, _ in legs), default=-(2**63))
        for c, sp in zip(usable, signed, strict=True):
            if remaining == 0:
                break
            if sp > theta or (forced_keys and (c.venue_id, c.level) in forced_keys):
                continue
            take = c.size if c.size < remaining else remaining
            legs.append((c, take))
            objective += c.key * take
            if sp > worst:
                worst = sp
            remaining -= take
        qty = target - remaining
        if (
            best is None
            or qty > best.quantity
            or (qty == best.quantity and objective < best.objective)
            or (
                qty == best.quantity
                and objective == best.objective
                and len(forced) < len(best.swept)
            )
        ):
            best = Allocation(
                legs=tuple(legs),
                quantity=qty,
                objective=objective,
                swept=tuple(forced),
                worst_price=abs(worst) if legs else 0,
                bounds_tried=0,
            )
    if best is None:
        return Allocation((), 0, 0, (), 0, tried)
    return Allocation(best.legs, best.quantity, best.objective, best.swept, best.worst_price, tried)


def is_feasible(
    side: Side,
    legs: Sequence[tuple[Candidate, int]],
    protected: Sequence[ProtectedQuote],
) -> bool:
    """Whether a split trades through no protected quote (each better one taken in full)."""
    used = [c for c, q in legs if q > 0]
    if not used:
        return True
    worst = max(_signed(side, c.price) for c in used)
    taken = {(c.venue_id, c.level): q for c, q in legs}
    for p in protected:
        if _signed(side, p.protect_price) < worst and taken.get((p.venue_id, 0), 0) < p.size:
            return False
    return True
