"""Scoring alerts against ground-truth labels: precision, recall, false alerts per 100k events.

An alert *can match* a label when they have the same type and symbol, the same identity (the
alert's user is one of the label's users, or its owner is the label's beneficial owner, or they
share an account) and their time windows overlap (each widened by ``slack_ns``). Matching is a
maximum bipartite matching per type (augmenting paths), so one episode absorbs at most one
alert: a second alert on an already matched episode is a false alert, as is an alert that
matches nothing. Labels are :class:`nexus.sim.labels.EpisodeLabel`-shaped mappings or structs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from services.surveillance.core.types import ALERT_TYPES


@dataclass(frozen=True, slots=True)
class TypeScore:
    """The figures of one alert type."""

    alert_type: str
    labels: int
    alerts: int
    matched: int

    @property
    def false_alerts(self) -> int:
        """Alerts not matched to a label."""
        return self.alerts - self.matched

    @property
    def missed(self) -> int:
        """Labels without an alert."""
        return self.labels - self.matched

    @property
    def precision(self) -> float:
        """Matched / alerts (1.0 with no alerts)."""
        return self.matched / self.alerts if self.alerts else 1.0

    @property
    def recall(self) -> float:
        """Matched / labels (1.0 with no labels)."""
        return self.matched / self.labels if self.labels else 1.0


@dataclass(slots=True)
class Evaluation:
    """Per-type scores plus the stream size, and the unmatched items for diagnosis."""

    events: int
    by_type: dict[str, TypeScore]
    false_alerts: list[dict[str, Any]] = field(default_factory=list)
    missed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_false_alerts(self) -> int:
        """False alerts over every type."""
        return sum(s.false_alerts for s in self.by_type.values())

    @property
    def false_per_100k(self) -> float:
        """False alerts per 100,000 input events."""
        return self.total_false_alerts * 100_000 / self.events if self.events else 0.0

    def summary(self) -> dict[str, Any]:
        """Plain figures (for JSON and docs)."""
        return {
            "events": self.events,
            "false_alerts_per_100k_events": round(self.false_per_100k, 4),
            "types": {
                t: {
                    "labels": s.labels,
                    "alerts": s.alerts,
                    "matched": s.matched,
                    "precision": round(s.precision, 4),
                    "recall": round(s.recall, 4),
                }
                for t, s in self.by_type.items()
            },
        }


def _plain(x: Any) -> dict[str, Any]:
    if isinstance(x, Mapping):
        return dict(x)
    out: dict[str, Any] = msgspec.structs.asdict(x)
    return out


def compatible(alert: Mapping[str, Any], label: Mapping[str, Any], slack_ns: int) -> bool:
    """Can ``alert`` be matched to ``label`` (type, symbol, identity, time overlap)?"""
    if alert["type"] != label["type"] or alert["symbol"] != label["symbol"]:
        return False
    users = set(label.get("user_ids") or [label["user_id"]])
    identity = (
        alert["user_id"] in users
        or bool(users.intersection(alert.get("user_ids") or ()))
        or alert.get("owner_id") == label.get("beneficial_owner")
        or bool(set(alert.get("account_ids") or ()).intersection(label.get("accounts") or ()))
    )
    if not identity:
        return False
    return bool(
        alert["start_ns"] <= label["window_end_ns"] + slack_ns
        and label["window_start_ns"] <= alert["end_ns"] + slack_ns
    )


def _matching_sets(adj: list[list[int]], n_right: int) -> tuple[set[int], set[int]]:
    match_right = [-1] * n_right

    def augment(u: int, seen: list[bool]) -> bool:
        for v in adj[u]:
            if not seen[v]:
                seen[v] = True
                if match_right[v] < 0 or augment(match_right[v], seen):
                    match_right[v] = u
                    return True
        return False

    for u in range(len(adj)):
        if adj[u]:
            augment(u, [False] * n_right)
    right = {v for v in range(n_right) if match_right[v] >= 0}
    left = {match_right[v] for v in right}
    return left, right


def evaluate(
    alerts: Iterable[Any],
    labels: Iterable[Any],
    events: int,
    *,
    slack_ns: int = 1_000_000_000,
    types: Sequence[str] = ALERT_TYPES,
) -> Evaluation:
    """Score ``alerts`` (final versions: one per alert id) against ``labels``."""
    latest: dict[str, dict[str, Any]] = {}
    for a in alerts:
        d = _plain(a)
        prev = latest.get(d["alert_id"])
        if prev is None or d.get("version", 1) >= prev.get("version", 1):
            latest[d["alert_id"]] = d
    all_alerts = list(latest.values())
    all_labels = [_plain(x) for x in labels]
    by_type: dict[str, TypeScore] = {}
    result = Evaluation(events=events, by_type=by_type)
    for t in types:
        al = [a for a in all_alerts if a["type"] == t]
        lb = [x for x in all_labels if x["type"] == t]
        by_symbol: dict[str, list[int]] = {}
        for j, x in enumerate(lb):
            by_symbol.setdefault(x["symbol"], []).append(j)
        adj = [
            [j for j in by_symbol.get(a["symbol"], ()) if compatible(a, lb[j], slack_ns)]
            for a in al
        ]
        left, right = _matching_sets(adj, len(lb))
        by_type[t] = TypeScore(t, labels=len(lb), alerts=len(al), matched=len(right))
        result.false_alerts.extend(a for i, a in enumerate(al) if i not in left)
        result.missed.extend(x for j, x in enumerate(lb) if j not in right)
    return result


__all__ = ["Evaluation", "TypeScore", "compatible", "evaluate"]
