"""Edge checks of decoded request input that msgspec types alone do not make.

msgspec decodes any JSON integer (``99999999999999999999`` included), any ISO datetime up to
year 9999, escaped control characters (``"\\u0000"``) and, in query strings, ``nan``: each
of these reached PostgreSQL or a compiled kernel and answered 500. :func:`edge_error` walks a
decoded value and names the first offending field, so the request is answered 422 before
anything runs:

* integers outside the int64 range (every integer column and kernel argument is int64);
* datetimes whose UTC nanoseconds do not fit int64 (before 1677-09-21 or after 2262-04-11);
* strings with a NUL or another C0 control character (TAB, LF and CR are text) or DEL;
* floats that are NaN or infinite.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, Final

import msgspec

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
#: the datetimes whose UTC nanoseconds fit int64 (what the services store and compute with)
NS_MIN: Final = dt.datetime(1677, 9, 22, tzinfo=dt.UTC)
NS_MAX: Final = dt.datetime(2262, 4, 11, tzinfo=dt.UTC)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What must be in a JSON body for it to hold any of the above (raw controls are not JSON).
_BODY_SUSPECT = re.compile(rb"\\u|\x7f|[0-9]{19}|[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]")
_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {}


def _fields(cls: type) -> tuple[tuple[str, str], ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple((f.name, f.encode_name) for f in msgspec.structs.fields(cls))
    return names


def body_may_need_check(data: bytes) -> bool:
    """Cheap test on a raw JSON body: could it carry a value :func:`edge_error` refuses?"""
    return _BODY_SUSPECT.search(data) is not None


def edge_error(value: Any, path: str = "$") -> tuple[str, str] | None:
    """``(path, message)`` of the first value outside the edge limits, or None."""
    if isinstance(value, str):
        if _CONTROL.search(value) is not None:
            return path, "control characters (NUL, C0 other than TAB/LF/CR, DEL) are not allowed"
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            return path, "integer out of the int64 range"
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return path, "number must be finite"
        return None
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        if not NS_MIN <= aware <= NS_MAX:
            return (
                path,
                "datetime out of range (UTC nanoseconds must fit int64: 1677-09-22 to 2262-04-11)",
            )
        return None
    if isinstance(value, msgspec.Struct):
        for name, encoded in _fields(type(value)):
            found = edge_error(getattr(value, name), f"{path}.{encoded}")
            if found is not None:
                return found
        return None
    if isinstance(value, list | tuple | set | frozenset):
        for i, item in enumerate(value):
            found = edge_error(item, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = edge_error(key, f"{path}.{key}") if isinstance(key, str) else None
            found = found or edge_error(item, f"{path}.{key}")
            if found is not None:
                return found
    return None
