"""Domain errors as problem+json: "dependency down" is a 503 with Retry-After everywhere; a
validation error says where the value was sent (path, query or body)."""

from __future__ import annotations

import enum
from typing import Literal

import falcon.asgi
import falcon.testing
import msgspec
import pytest

from nexus.cache import CacheUnavailable
from nexus.clients.errors import CircuitOpen, ServiceUnavailable, Timeout
from nexus.errors import DependencyUnavailable, ValidationError
from nexus.web import create_app, endpoint, read_query


class Failing:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    @endpoint(public=True)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "retry_after"),
    [
        (DependencyUnavailable("the archive is down"), "1"),
        (CacheUnavailable("redis unreachable"), "1"),
        (ServiceUnavailable("risk", "answered 502", status=502), "1"),
        (CircuitOpen("marketdata", 2.4), "3"),
        (Timeout("analytics", "no answer in 2 s"), "1"),
    ],
    ids=["base", "cache", "service", "circuit", "timeout"],
)
def test_every_dependency_error_is_a_503_problem_with_retry_after(
    exc: Exception, retry_after: str
) -> None:
    client = falcon.testing.TestClient(create_app("t", [("/x", Failing(exc))]))
    resp = client.simulate_get("/x")
    assert resp.status_code == 503
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.headers["retry-after"] == retry_after
    body = resp.json
    assert body["status"] == 503 and body["detail"] == str(exc)


def test_an_unexpected_error_is_still_a_500() -> None:
    client = falcon.testing.TestClient(create_app("t", [("/x", Failing(RuntimeError("bug")))]))
    assert client.simulate_get("/x").status_code == 500


class Refusing:
    @endpoint(public=True)
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: str
    ) -> None:
        field = req.get_param("blame") or "user_id"
        raise ValidationError(f"{field} is not acceptable", field)


@pytest.mark.parametrize(
    ("blame", "where"), [("user_id", "path"), ("blame", "query"), ("quantity", "body")]
)
def test_a_domain_validation_error_says_where_the_value_was_sent(blame: str, where: str) -> None:
    client = falcon.testing.TestClient(create_app("t", [("/users/{user_id}", Refusing())]))
    resp = client.simulate_get("/users/u1", params={"blame": blame})
    assert resp.status_code == 422
    (error,) = resp.json["errors"]
    assert (error["field"], error["in"]) == (blame, where)


class Listing:
    @endpoint(public=True)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        query = read_query(req, ListQuery)
        resp.media = {"symbols": query.symbols, "side": query.side}


class ListQuery(msgspec.Struct):
    symbols: list[str] = msgspec.field(default_factory=list)
    side: str = "BUY"


@pytest.mark.parametrize(
    "query",
    ["symbols=A&symbols=B&symbols=C", "symbols=A,B,C", "symbols=A,B&symbols=C", "symbols=A,,B, C"],
)
def test_a_list_parameter_takes_repeats_commas_or_both(query: str) -> None:
    client = falcon.testing.TestClient(create_app("t", [("/x", Listing())]))
    resp = client.simulate_get("/x", query_string=query)
    assert resp.status_code == 200
    assert resp.json["symbols"] == (["A", "B", "C"] if "C" in query else ["A", "B"])


def test_a_scalar_parameter_given_twice_is_refused_not_reduced() -> None:
    client = falcon.testing.TestClient(create_app("t", [("/x", Listing())]))
    resp = client.simulate_get("/x", query_string="side=BUY&side=SELL")
    assert resp.status_code == 422
    assert resp.json["errors"][0]["field"] == "side" and resp.json["errors"][0]["in"] == "query"


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Paint(msgspec.Struct):
    colour: Colour
    finish: Literal["matt", "gloss"] | None = None


class Painting:
    @endpoint(public=True)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = {"colour": read_query(req, Paint).colour.value}


@pytest.mark.parametrize(
    ("query", "field", "listed"),
    [
        ("colour=green", "$.colour", "'red', 'blue'"),
        ("colour=red&finish=satin", "$.finish", "'matt', 'gloss'"),
    ],
)
def test_an_invalid_choice_lists_the_values_the_field_takes(
    query: str, field: str, listed: str
) -> None:
    client = falcon.testing.TestClient(create_app("t", [("/x", Painting())]))
    resp = client.simulate_get("/x", query_string=query)
    assert resp.status_code == 422
    (error,) = resp.json["errors"]
    assert error["field"] == field and error["message"].endswith(f"expected one of {listed}")
