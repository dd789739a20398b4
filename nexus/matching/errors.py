"""Errors of the matching engine's commands (each subclasses the fitting ``nexus.errors`` type)."""

from __future__ import annotations

from nexus.errors import ConflictError, NotFoundError, ValidationError


class InvalidOrder(ValidationError):
    """A command is malformed (bad side, type, price, quantity or id); ``field`` names it."""


class UnknownOrder(NotFoundError):
    """No order with this id was ever accepted by the engine."""


class DuplicateOrderId(ConflictError):
    """An order id was already used (ids are unique across the whole engine)."""


class OrderNotOpen(ConflictError):
    """The order exists but no longer rests (filled, cancelled, expired or rejected)."""
