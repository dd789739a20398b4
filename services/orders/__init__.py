"""Orders/positions ledger: per-user positions and fills from ``trades.executed``."""
