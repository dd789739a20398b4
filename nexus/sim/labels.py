"""The ground-truth label file: which episodes were injected, by whom, where, when, with what.

Written as JSON (msgspec) beside the event stream; the detectors never read it, the
surveillance evaluation does. ``type`` uses the alert types of
:class:`nexus.events.SurveillanceAlert`. Times are simulated UTC nanoseconds (inclusive window
from the episode's first order to its last cancel).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import msgspec

from nexus.sim.config import SimConfig
from nexus.sim.users import UserRecord

EpisodeType = Literal["SPOOFING", "LAYERING", "WASH_TRADING", "MOMENTUM_IGNITION"]
LABEL_FORMAT_VERSION = 1


class EpisodeLabel(msgspec.Struct, frozen=True, kw_only=True):
    """One injected episode.

    ``order_ids`` lists every order it sent, ``roles[i]`` the role of ``order_ids[i]``
    (``spoof``, ``layer``, ``genuine``, ``wash_sell``, ``wash_buy``, ``ignition``, ``unwind``);
    ``trade_ids`` every trade one of those orders took part in.
    """

    episode_id: str
    type: EpisodeType
    symbol: str
    user_id: str
    user_ids: list[str]
    beneficial_owner: str
    accounts: list[str]
    window_start_ns: int
    window_end_ns: int
    order_ids: list[str]
    roles: list[str]
    trade_ids: list[str]


class LegitLabel(msgspec.Struct, frozen=True, kw_only=True):
    """One legitimate look-alike behaviour (never an episode: alerts on it are false)."""

    kind: str
    symbol: str
    user_ids: list[str]
    accounts: list[str]
    window_start_ns: int
    window_end_ns: int
    orders: int


class FlowStats(msgspec.Struct, frozen=True, kw_only=True):
    """Counts of the generated stream and the background-flow ratios."""

    events: int
    orders: int
    amends: int
    cancels: int
    expires: int
    trades: int
    fills: int
    cancel_ratio: float
    order_to_trade: float


class LabelFile(msgspec.Struct, frozen=True, kw_only=True):
    """The whole label file: the run's config, the population and the episodes."""

    format_version: int = LABEL_FORMAT_VERSION
    config: SimConfig
    symbols: list[str]
    users: list[UserRecord]
    episodes: list[EpisodeLabel]
    stats: FlowStats
    legit: list[LegitLabel] = []


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(LabelFile)


def encode_labels(labels: LabelFile) -> bytes:
    """Deterministic JSON bytes of a label file."""
    return _ENCODER.encode(labels)


def read_labels(path: str | Path) -> LabelFile:
    """Load and validate a label file."""
    return _DECODER.decode(Path(path).read_bytes())


def encode_accounts(users: list[UserRecord]) -> bytes:
    """The user -> beneficial owner / accounts mapping alone (what KYC would give a detector)."""
    return _ENCODER.encode(users)
