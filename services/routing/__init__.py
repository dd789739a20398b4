"""Smart order router: market view, strategies, execution across venues (issue 13).

The decision logic lives in :mod:`services.routing.core` (pure, no I/O); the service process,
its venue adapters and its storage sit around it.
"""
