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


#: msgspec ends the text of an error below the root with `` - at `$.path` ``.
_PATH_MARKER = " - at `"


def split_error_path(text: str) -> tuple[str, str | None]:
    """``"Expected `int`, got `str` - at `$.a[1]`"`` -> ``("Expected `int`, got `str`", "$.a[1]")``.

    A ``msgspec.ValidationError`` carries the path of the offending value only in its text
    (it has no attribute for it), so this is the one place that reads it; the path is
    ``None`` for an error at the root (e.g. a missing field of the top-level object).
    """
    message, marker, rest = text.rpartition(_PATH_MARKER)
    if not marker or not rest.endswith("`") or not rest.startswith("$"):
        return text, None
    return message, rest[:-1]
