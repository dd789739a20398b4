"""Typed request input: JSON bodies and query strings decoded into ``msgspec.Struct`` types.

Decoding is validation: a body that is not JSON is a 400, a body that breaks the Struct
(wrong type, missing or unknown field, ``Meta`` constraint) is a 422 naming the path.
Request Structs should derive from :class:`RequestBody` / :class:`QueryParams`, which forbid
unknown fields so a misspelt field is reported instead of silently ignored.
"""

from __future__ import annotations

import enum
import typing
from typing import Any, TypeVar

import falcon.asgi
import msgspec

from nexus.web.codec import convert, decoder_for
from nexus.web.edge import body_may_need_check, edge_error
from nexus.web.problems import (
    FieldError,
    HTTPProblem,
    MalformedRequest,
    ValidationFailed,
    field_error_of,
)

T = TypeVar("T")

#: Default upper bound of a request body.
MAX_BODY_BYTES = 1 << 20

_SEQUENCE_ORIGINS = (list, tuple, set, frozenset)
PAGINATION_PARAMS = frozenset({"limit", "cursor"})


class RequestBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of request bodies: unknown fields are rejected (422)."""


class QueryParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of query-string Structs: fields are strings converted leniently (``"5"`` -> 5)."""


async def read_body(
    req: falcon.asgi.Request, type_: type[T], *, max_bytes: int = MAX_BODY_BYTES
) -> T:
    """Decode the JSON body of ``req`` into ``type_``; raises 400/413/415/422 problems.

    Responders do not call it: ``@endpoint(body=X)`` does, once, and passes the result as
    the responder's ``body`` keyword (:func:`nexus.web.routing.endpoint`).
    """
    content_type = req.content_type
    if content_type is not None and not _is_json(content_type):
        raise HTTPProblem(415, f"expected application/json, got {content_type}")
    length = req.content_length
    if length is not None and length > max_bytes:
        raise HTTPProblem(413, f"body exceeds {max_bytes} bytes")
    data = await req.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise HTTPProblem(413, f"body exceeds {max_bytes} bytes")
    if not data.strip():
        raise MalformedRequest("request body is empty; a JSON document is required")
    try:
        body = decoder_for(type_).decode(data)
    except msgspec.ValidationError as exc:
        raise ValidationFailed([_with_allowed(field_error_of(exc, "body"), type_)]) from None
    except msgspec.DecodeError as exc:
        raise MalformedRequest(f"body is not valid JSON: {exc}") from None
    if body_may_need_check(data):
        _refuse_edge_values(body, "body")
    return body


def read_query(req: falcon.asgi.Request, type_: type[T]) -> T:
    """Convert the query string of ``req`` into the Struct ``type_``; raises 422 problems.

    ``limit`` and ``cursor`` are left to :func:`~nexus.web.pagination.page_request` unless
    the Struct declares them. One convention for lists, in every service: a list/tuple/set
    field takes repeated parameters (``?side=BUY&side=SELL``), comma-separated values
    (``?side=BUY,SELL``) or both; a single value becomes a one-element list. A field that is
    not a list given more than once is refused (422), never silently reduced to one value.
    """
    params: dict[str, Any] = dict(req.params)
    if isinstance(type_, type) and issubclass(type_, msgspec.Struct):
        fields = msgspec.structs.fields(type_)
        declared = {field.encode_name for field in fields}
        for reserved in PAGINATION_PARAMS - declared:
            params.pop(reserved, None)
        for field in fields:
            value = params.get(field.encode_name)
            if value is None:
                continue
            if _is_sequence(field.type):
                values = [value] if isinstance(value, str) else value
                params[field.encode_name] = [
                    part.strip() for v in values for part in v.split(",") if part.strip()
                ]
            elif isinstance(value, list):
                raise invalid(field.encode_name, "give this parameter once", "query")
    try:
        query = convert(params, type_, strict=False)
    except msgspec.ValidationError as exc:
        raise ValidationFailed([_with_allowed(field_error_of(exc, "query"), type_)]) from None
    _refuse_edge_values(query, "query")
    return query


def _refuse_edge_values(value: Any, location: str) -> None:
    """422 naming the field of a value msgspec accepted but nothing behind the edge can take."""
    found = edge_error(value)
    if found is not None:
        raise invalid(found[0], found[1], location)


def invalid(field: str, message: str, location: str = "body") -> ValidationFailed:
    """A 422 problem for one offending field (``raise invalid("$.price", "must be > 0")``)."""
    loc: Any = location
    return ValidationFailed([FieldError(field=field, message=message, location=loc)])


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _with_allowed(error: FieldError, type_: Any) -> FieldError:
    """An invalid enum or literal value's error, listing the values the field takes."""
    if not error.message.startswith("Invalid enum value"):
        return error
    allowed = _allowed_values(type_, error.field.removeprefix("$.").split("."))
    if not allowed:
        return error
    listed = ", ".join(repr(v) for v in allowed)
    return msgspec.structs.replace(error, message=f"{error.message}; expected one of {listed}")


def _allowed_values(type_: Any, path: list[str]) -> list[Any]:
    annotation = type_
    for name in path:
        annotation = _strip(annotation)
        if not (isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)):
            return []
        by_name = {f.encode_name: f.type for f in msgspec.structs.fields(annotation)}
        if name not in by_name:
            return []
        annotation = by_name[name]
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [member.value for member in annotation]
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    return []


def _strip(annotation: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` -> ``X``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, type(int | None)):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _is_sequence(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_sequence(typing.get_args(annotation)[0])
    if origin in _SEQUENCE_ORIGINS or annotation in _SEQUENCE_ORIGINS:
        return True
    if origin in (typing.Union, type(int | None)):
        return any(_is_sequence(arg) for arg in typing.get_args(annotation))
    return False
