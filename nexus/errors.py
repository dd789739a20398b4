"""Exception hierarchy shared by every NexusTrade package.

Each error subclasses :class:`NexusError` and the built-in that fits, so callers may catch
either (``except ValidationError`` or ``except ValueError``).
"""

from __future__ import annotations


class NexusError(Exception):
    """Base of every NexusTrade error."""


class ConfigError(NexusError, ValueError):
    """A setting is missing or malformed."""


class ValidationError(NexusError, ValueError):
    """Input failed validation; ``field`` names the offending path (e.g. ``$.quantity``)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(NexusError, LookupError):
    """The requested entity does not exist."""


class ConflictError(NexusError):
    """The request conflicts with current state."""


class DependencyUnavailable(NexusError, ConnectionError):
    """Something this call needs (database, broker, cache, another service) cannot serve now.

    Every service answers it with 503 problem+json and ``Retry-After`` (mapped once, in
    :func:`nexus.web.problems.install_error_handlers`); ``retry_after_s`` is the hint.
    """

    retry_after_s: float = 1.0


class BuildError(NexusError, ImportError):
    """A compiled extension is missing: the package was not built."""
