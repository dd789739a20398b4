"""JSON log lines, the access log, and Falcon's media path through the msgspec handler."""

from __future__ import annotations

import io
import json
import logging
import sys

import falcon.asgi
import falcon.testing
import pytest

from nexus.money import Fixed
from nexus.web import JsonFormatter, configure_logging, create_app, endpoint


class EchoResource:
    @endpoint(public=True)
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        media = await req.get_media()
        resp.media = {"echo": media, "price": Fixed("1.50")}


@pytest.fixture
def client() -> falcon.testing.TestClient:
    return falcon.testing.TestClient(create_app("echo", [("/echo", EchoResource())]))


def test_get_media_round_trips_json_and_encodes_fixed_as_string(
    client: falcon.testing.TestClient,
) -> None:
    result = client.simulate_post("/echo", json={"a": [1, 2]})
    assert result.status_code == 200
    assert result.json == {"echo": {"a": [1, 2]}, "price": "1.5"}


def test_get_media_on_malformed_json_is_400_problem(client: falcon.testing.TestClient) -> None:
    result = client.simulate_post(
        "/echo", body=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert result.status_code == 400
    assert result.headers["content-type"] == "application/problem+json"


def test_json_formatter_writes_extras_and_exception() -> None:
    record = logging.LogRecord("nexus.test", logging.ERROR, __file__, 1, "boom %s", ("x",), None)
    record.request_id = "r-1"
    try:
        raise ValueError("inner")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "boom x"
    assert line["level"] == "ERROR"
    assert line["request_id"] == "r-1"
    assert "ValueError: inner" in line["exc"]
    assert line["ts"].endswith("Z")


def test_access_log_line_carries_request_id_route_and_status(
    client: falcon.testing.TestClient,
) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("INFO", stream=stream)
        client.simulate_post("/echo", json={}, headers={"X-Request-ID": "req-42"})
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    [access] = [line for line in lines if line["logger"] == "nexus.access"]
    assert access["request_id"] == "req-42"
    assert access["route"] == "/echo"
    assert access["status"] == 200
    assert access["duration_ms"] >= 0
