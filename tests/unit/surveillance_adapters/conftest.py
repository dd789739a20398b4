"""Fixtures of the surveillance adapter tests (shared with the integration suite)."""

from tests.support.surveillance import self_trade_detector

__all__ = ["self_trade_detector"]
