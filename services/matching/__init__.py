"""Matching engine: the internal venue (price-time priority books, one per symbol)."""
