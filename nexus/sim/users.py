"""The simulated population: users, their accounts and the beneficial owners behind them.

Most users own their accounts themselves; a fraction share a beneficial owner with another
user (affiliates, family offices), which is what cross-account wash trading hides behind.
"""

from __future__ import annotations

import msgspec
import numpy as np
import numpy.typing as npt


class UserRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One user: id, beneficial owner and accounts (all identifiers of the events)."""

    user_id: str
    beneficial_owner: str
    accounts: list[str]


class Population(msgspec.Struct, frozen=True, kw_only=True):
    """Every user, plus per-account arrays the encoder reads (``account_user[a]``)."""

    users: list[UserRecord]
    account_ids: list[str]
    account_user: list[int]
    user_accounts: list[list[int]]
    activity: list[float]

    def owner_of(self, user: int) -> str:
        """Beneficial owner of user index ``user``."""
        return self.users[user].beneficial_owner


def build_population(
    n_users: int,
    accounts_low: int,
    accounts_high: int,
    shared_owner_fraction: float,
    rng: np.random.Generator,
) -> Population:
    """Users ``U00001..``, accounts ``A000001..`` and owners ``BO00001..``; Zipf-like activity."""
    n_acc = rng.integers(accounts_low, accounts_high + 1, n_users)
    owner = np.arange(n_users)
    shared = rng.random(n_users) < shared_owner_fraction
    # A shared user takes the owner of a random earlier user (owner indices stay canonical).
    for u in np.flatnonzero(shared).tolist():
        if u > 0:
            owner[u] = owner[int(rng.integers(0, u))]
    users: list[UserRecord] = []
    account_ids: list[str] = []
    account_user: list[int] = []
    user_accounts: list[list[int]] = []
    for u in range(n_users):
        mine = []
        for _ in range(int(n_acc[u])):
            mine.append(len(account_ids))
            account_ids.append(f"A{len(account_ids) + 1:06d}")
            account_user.append(u)
        user_accounts.append(mine)
        users.append(
            UserRecord(
                user_id=f"U{u + 1:05d}",
                beneficial_owner=f"BO{int(owner[u]) + 1:05d}",
                accounts=[account_ids[a] for a in mine],
            )
        )
    ranks = rng.permutation(n_users) + 1
    weights: npt.NDArray[np.float64] = 1.0 / ranks.astype(np.float64) ** 0.8
    weights /= weights.sum()
    return Population(
        users=users,
        account_ids=account_ids,
        account_user=account_user,
        user_accounts=user_accounts,
        activity=weights.tolist(),
    )


def add_dedicated_users(population: Population, count: int, pairs: int = 0) -> Population:
    """``population`` plus ``count`` dedicated users (one account each, no background
    activity, their own owners) for scripted behaviours; the last ``2 * pairs`` of them come in
    pairs sharing one beneficial owner."""
    users = list(population.users)
    account_ids = list(population.account_ids)
    account_user = list(population.account_user)
    user_accounts = [list(a) for a in population.user_accounts]
    activity = list(population.activity)
    first_paired = len(users) + count - 2 * pairs
    for _ in range(count):
        u = len(users)
        a = len(account_ids)
        account_ids.append(f"A{a + 1:06d}")
        account_user.append(u)
        user_accounts.append([a])
        activity.append(0.0)
        owner = u if u < first_paired or (u - first_paired) % 2 == 0 else u - 1
        users.append(
            UserRecord(
                user_id=f"U{u + 1:05d}",
                beneficial_owner=f"BO{owner + 1:05d}",
                accounts=[account_ids[a]],
            )
        )
    return Population(
        users=users,
        account_ids=account_ids,
        account_user=account_user,
        user_accounts=user_accounts,
        activity=activity,
    )
