"""Positions domain core (no I/O)."""

from services.orders.core.positions import Fill, Position, apply_fill, fills_of_trade

__all__ = ["Fill", "Position", "apply_fill", "fills_of_trade"]
