"""Cursor (keyset) pagination and query filters.

A cursor is opaque to clients: URL-safe base64 of the JSON array of the sort-key values of
the last item served. The next page is "sort key > cursor", so rows inserted while a client
pages never cause duplicates or skips among the rows that existed (the key must be unique and
immutable, e.g. ``(created_at, id)``). ``limit`` is bounded; a bad cursor is a 400.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import falcon.asgi
import msgspec

from nexus.web.problems import FieldError, MalformedRequest, ValidationFailed

T = TypeVar("T")
K = TypeVar("K")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


class Page(msgspec.Struct, Generic[T]):
    """One page of ``items``; ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None = None


class PageRequest(msgspec.Struct, frozen=True):
    """Validated ``limit`` and decoded ``after`` key (``None`` for the first page)."""

    limit: int
    after: Any = None


def encode_cursor(key: Any) -> str:
    """Opaque cursor of a sort key (a scalar or a tuple of scalars)."""
    raw = msgspec.json.encode(list(key) if isinstance(key, tuple) else key)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, key_type: type[K]) -> K:
    """Sort key of ``cursor`` as ``key_type`` (e.g. ``tuple[int, str]``); 400 if invalid."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii"))
        return msgspec.json.decode(raw, type=key_type)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise MalformedRequest(
            "invalid cursor; pass back the next_cursor of a previous page",
            errors=[FieldError(field="cursor", message="invalid cursor", location="query")],
        ) from None


def page_request(
    req: falcon.asgi.Request,
    key_type: type[Any],
    *,
    default_limit: int = DEFAULT_LIMIT,
    max_limit: int = MAX_LIMIT,
) -> PageRequest:
    """Read ``limit`` (1..max_limit, default ``default_limit``) and ``cursor`` from ``req``."""
    text = req.get_param("limit")
    limit = default_limit
    if text is not None:
        try:
            limit = int(text)
        except ValueError:
            limit = -1
        if not 1 <= limit <= max_limit:
            raise ValidationFailed(
                [
                    FieldError(
                        field="limit",
                        message=f"must be an integer within 1..{max_limit}",
                        location="query",
                    )
                ]
            )
    cursor = req.get_param("cursor")
    after = decode_cursor(cursor, key_type) if cursor else None
    return PageRequest(limit=limit, after=after)


def make_page(rows: Sequence[T], limit: int, key_of: Callable[[T], Any]) -> Page[T]:
    """A page from up to ``limit + 1`` rows fetched in key order (the extra row means "more")."""
    if len(rows) > limit:
        items = list(rows[:limit])
        return Page(items=items, next_cursor=encode_cursor(key_of(items[-1])))
    return Page(items=list(rows))


def paginate(items: Sequence[T], page: PageRequest, key_of: Callable[[T], Any]) -> Page[T]:
    """Keyset-paginate an in-memory sequence (sorted here by ``key_of``)."""
    ordered = sorted(items, key=key_of)
    if page.after is not None:
        after = tuple(page.after) if isinstance(page.after, list) else page.after
        ordered = [item for item in ordered if _as_key(key_of(item)) > _as_key(after)]
    return make_page(ordered[: page.limit + 1], page.limit, key_of)


def keyset_clause(
    columns: Sequence[str], after: Any, *, first_param: int = 1
) -> tuple[str, list[Any]]:
    """SQL ``(a, b) > ($1, $2)`` for the key ``after`` (``("TRUE", [])`` on the first page)."""
    for column in columns:
        _check_identifier(column)
    if after is None:
        return "TRUE", []
    values = list(after) if isinstance(after, list | tuple) else [after]
    if len(values) != len(columns):
        raise MalformedRequest("invalid cursor; it does not match this listing's sort key")
    placeholders = ", ".join(f"${first_param + i}" for i in range(len(values)))
    return f"({', '.join(columns)}) > ({placeholders})", values


def filter_clause(
    filters: Mapping[str, Any], *, allowed: Mapping[str, str], first_param: int = 1
) -> tuple[str, list[Any]]:
    """SQL ``col = $n AND ...`` for the non-null filters; ``allowed`` maps filter -> column.

    A list value becomes ``col = ANY($n)``. Unknown filter names raise ``KeyError`` (they are
    a programming error: query Structs already rejected unknown parameters).
    """
    parts: list[str] = []
    args: list[Any] = []
    for name, value in filters.items():
        if value is None:
            continue
        column = allowed[name]
        _check_identifier(column)
        args.append(list(value) if isinstance(value, list | tuple | set | frozenset) else value)
        op = "= ANY(${})" if isinstance(args[-1], list) else "= ${}"
        parts.append(f"{column} {op.format(first_param + len(args) - 1)}")
    return (" AND ".join(parts) or "TRUE"), args


def matches(item: Any, filters: Mapping[str, Any]) -> bool:
    """In-memory filter: every non-null filter equals (or contains) the item's attribute."""
    for name, value in filters.items():
        if value is None:
            continue
        actual = getattr(item, name)
        if isinstance(value, list | tuple | set | frozenset):
            if actual not in value:
                return False
        elif actual != value:
            return False
    return True


def _as_key(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def _check_identifier(column: str) -> None:
    if not _IDENTIFIER.match(column):
        raise ValueError(f"not a safe SQL identifier: {column!r}")
