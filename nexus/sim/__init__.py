"""Order-flow simulator: background flow plus injected, labelled manipulation episodes.

Library::

    result = simulate(SimConfig(seed=1, symbols=20, users=300, seconds=60))
    result.write("events.msgpack")         # length-prefixed msgpack frames
    result.write_labels("labels.json")     # ground truth (episodes, users, owners, accounts)
    result.publish(publisher)              # publisher(topic, key, payload) per event

CLI: ``python -m nexus.sim --seed 1 --symbols 20 --users 300 --seconds 60 --out events.msgpack
--labels labels.json``. Orders are matched by the compiled order book (``nexus._ext.book``)
in batches, producing exactly the events :class:`nexus.matching.MatchingEngine`
produces for the same commands (:func:`replay` proves it). Event time is simulated time.
"""

from nexus.sim.config import EpisodeConfig, Range, SimConfig
from nexus.sim.labels import EpisodeLabel, FlowStats, LabelFile, read_labels
from nexus.sim.runner import Publisher, SimResult, simulate, warm_up
from nexus.sim.sink import Action, MatchingEngineSink, OrderSink, matching_engine_sink, replay
from nexus.sim.wire import iter_frames, read_events

__all__ = [
    "Action",
    "EpisodeConfig",
    "EpisodeLabel",
    "FlowStats",
    "LabelFile",
    "MatchingEngineSink",
    "OrderSink",
    "Publisher",
    "Range",
    "SimConfig",
    "SimResult",
    "iter_frames",
    "matching_engine_sink",
    "read_events",
    "read_labels",
    "replay",
    "simulate",
    "warm_up",
]
