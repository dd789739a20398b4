"""Route declarations: what each responder accepts, answers and who may call it.

Resources stay plain Falcon classes (``on_get``, ``on_post``, ``on_get_item`` ...). Decorate a
responder with :func:`endpoint` to declare its roles and schemas; the app factory enforces
the roles in one middleware and builds ``/openapi.json`` from the same declarations::

    class OrdersResource:
        @endpoint(roles={"trader"}, body=NewOrder, response=OrderView, status=201)
        async def on_post(self, req, resp, *, body: NewOrder) -> None:
            ...  # body is the decoded, validated NewOrder

A responder without :func:`endpoint` requires an authenticated caller (any role) and is
documented without schemas. ``public=True`` disables authentication.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import falcon
import falcon.asgi

from nexus.web.request import read_body

F = TypeVar("F", bound=Callable[..., Any])

ENDPOINT_ATTRIBUTE = "__nexus_endpoint__"


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """Declared contract of one responder."""

    roles: frozenset[str] = frozenset()
    public: bool = False
    body: Any = None
    response: Any = None
    query: Any = None
    status: int = 200
    paginated: bool = False
    summary: str | None = None
    media_type: str = "application/json"
    tags: tuple[str, ...] = ()
    in_schema: bool = True


def endpoint(
    *,
    roles: Iterable[str] = (),
    public: bool = False,
    body: Any = None,
    response: Any = None,
    query: Any = None,
    status: int = 200,
    paginated: bool = False,
    summary: str | None = None,
    media_type: str = "application/json",
    tags: Iterable[str] = (),
    in_schema: bool = True,
) -> Callable[[F], F]:
    """Declare a responder's roles, request ``body``/``query`` Structs and ``response`` type.

    With ``body=X`` the decorator decodes the JSON request body into ``X`` once, before the
    responder runs (after authentication and the role check), and passes it as the keyword
    argument ``body``: declare it ``*, body: X``. The responder never sees an undecoded body:
    a wrong content type is a 415, an over-long body a 413, an empty or non-JSON body a 400,
    and a body that breaks ``X`` (wrong type, missing or unknown field, constraint) a 422
    naming the field, all as problem+json (see :func:`nexus.web.request.read_body`).
    A responder declared with a ``body`` but taking no ``body`` parameter is a ``TypeError``
    when the class is defined.

    ``paginated`` documents the ``limit``/``cursor`` parameters; ``status`` is the success
    status; ``media_type`` the success content type.
    """
    spec = EndpointSpec(
        roles=frozenset(roles),
        public=public,
        body=body,
        response=response,
        query=query,
        status=status,
        paginated=paginated,
        summary=summary,
        media_type=media_type,
        tags=tuple(tags),
        in_schema=in_schema,
    )

    def mark(responder: F) -> F:
        marked = responder if body is None else cast(F, _decoding_body(responder, body))
        setattr(marked, ENDPOINT_ATTRIBUTE, spec)
        return marked

    return mark


def _decoding_body(responder: Callable[..., Any], type_: Any) -> Callable[..., Any]:
    """``responder`` called with ``body=`` the request body decoded into ``type_``."""
    if "body" not in inspect.signature(responder).parameters:
        raise TypeError(
            f"{responder.__qualname__} declares body={getattr(type_, '__name__', type_)} "
            "but takes no `body` parameter"
        )

    @functools.wraps(responder)
    async def decode_then_respond(
        resource: object,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        **params: Any,
    ) -> Any:
        decoded = await read_body(req, type_)
        return await responder(resource, req, resp, body=decoded, **params)

    return decode_then_respond


@dataclass(frozen=True, slots=True)
class Route:
    """A URI template served by ``resource`` (responders ``on_<method>[_<suffix>]``)."""

    template: str
    resource: object
    suffix: str | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    """One (template, method) pair with its responder and declared spec."""

    template: str
    method: str
    resource: object
    responder: Callable[..., Any]
    spec: EndpointSpec | None
    tags: tuple[str, ...] = field(default=())


RouteLike = Route | tuple[str, object] | tuple[str, object, str]


def as_route(item: RouteLike) -> Route:
    """Normalise a :class:`Route` or ``(template, resource[, suffix])`` tuple."""
    if isinstance(item, Route):
        return item
    if len(item) == 2:
        return Route(item[0], item[1])
    return Route(item[0], item[1], item[2])


def operations_of(route: Route) -> list[Operation]:
    """The responders ``route.resource`` really defines (not Falcon's default 405/OPTIONS)."""
    suffix = f"_{route.suffix}" if route.suffix else ""
    found: list[Operation] = []
    for method in falcon.COMBINED_METHODS:
        responder = getattr(route.resource, f"on_{method.lower()}{suffix}", None)
        if responder is None:
            continue
        spec = getattr(responder, ENDPOINT_ATTRIBUTE, None)
        found.append(Operation(route.template, method, route.resource, responder, spec))
    return found


__all__ = [
    "EndpointSpec",
    "Operation",
    "Route",
    "RouteLike",
    "as_route",
    "endpoint",
    "operations_of",
]
