"""The report resources over an in-memory flow: formats, roles, periods, problems."""

from __future__ import annotations

import csv
import io

import falcon.testing
import pytest

from nexus.web import COMPLIANCE, TRADER, create_app
from services.routing.reports.model import Fills, IndexMembership, Orders, QuoteTape, Routes
from services.routing.reports_api import report_routes
from services.routing.reports_store import RecordedFlow
from tests.unit.routing_reports.support import MS, raw, ts

T0 = ts(2026, 12, 7)


def _flow() -> RecordedFlow:
    orders = Orders.build(
        order_id=["a", "b"],
        symbol=["AAPL", "ZZZ"],
        side=[1, -1],
        quantity=[raw(100), raw(100)],
        limit_price=[0, raw("9.99")],
        ts_received=[T0, T0],
        bid=[raw("10.00")] * 2,
        ask=[raw("10.02")] * 2,
    )
    routes = Routes.build(order=[0, 1], venue=["ALPHA", "BRAVO"], quantity=[raw(100)] * 2)
    fills = Fills.build(
        order=[0, 1],
        venue=["ALPHA", "BRAVO"],
        price=[raw("10.02"), raw("10.00")],
        quantity=[raw(100), raw(100)],
        fee=[raw("0.30"), raw("-0.20")],
        ts=[T0 + MS, T0 + MS],
    )
    tape = QuoteTape.from_quotes(["AAPL"], [T0], [raw("10.00")], [raw("10.02")])
    return RecordedFlow(orders, routes, fills, tape)


class Loader:
    """Records the periods asked for and answers the same flow."""

    def __init__(self) -> None:
        self.periods: list[tuple[int, int]] = []

    async def __call__(self, start: int, end: int) -> RecordedFlow:
        self.periods.append((start, end))
        return _flow()


@pytest.fixture
def loader() -> Loader:
    return Loader()


@pytest.fixture
def client(loader: Loader) -> falcon.testing.TestClient:
    sp500 = IndexMembership.from_csv("AAPL,1982-11-30,\n")
    return falcon.testing.TestClient(create_app("routing", report_routes(loader, sp500)))


def _auth(client: falcon.testing.TestClient, role: str = COMPLIANCE) -> dict[str, str]:
    app = client.app
    token = app.authenticator.issue_token("c1", [role])  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {token}"}


def test_606_json_states_period_and_rule_set(
    client: falcon.testing.TestClient, loader: Loader
) -> None:
    got = client.simulate_get("/reports/606", params={"quarter": "2026Q4"}, headers=_auth(client))
    assert got.status_code == 200, got.text
    body = got.json
    assert body["quarter"] == "2026Q4" and "606" in body["rule_set"]
    assert (body["period_start"], body["period_end"]) == ("2026-10-01", "2026-12-31")
    assert loader.periods == [(ts(2026, 10, 1, 0), ts(2027, 1, 1, 0))]
    dec = body["months"][2]["sections"]
    assert dec["sp500"]["venues"][0]["venue"] == "ALPHA"
    assert dec["other_nms"]["venues"][0]["net_payment_usd"]["marketable_limit"] == "0.20"


def test_606_csv_and_xml(client: falcon.testing.TestClient) -> None:
    h = _auth(client)
    got = client.simulate_get(
        "/reports/606", params={"quarter": "2026Q4", "format": "csv"}, headers=h
    )
    assert got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert {r["venue"] for r in rows} == {"*", "ALPHA", "BRAVO"}
    xml = client.simulate_get(
        "/reports/606", params={"quarter": "2026Q4", "format": "xml"}, headers=h
    )
    assert xml.headers["content-type"] == "application/xml"
    assert b"<heldOrderRoutingPublicReport>" in xml.content


def test_605_csv_and_json(client: falcon.testing.TestClient, loader: Loader) -> None:
    h = _auth(client)
    got = client.simulate_get(
        "/reports/605", params={"month": "2026-12", "format": "csv"}, headers=h
    )
    assert got.status_code == 200
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert {r["symbol"] for r in rows} == {"AAPL", "ZZZ", "*"}
    assert loader.periods == [(ts(2026, 12, 1, 0), ts(2027, 1, 1, 0))]
    body = client.simulate_get("/reports/605", params={"month": "2026-12"}, headers=h).json
    assert body["month"] == "2026-12" and body["summary"]


def test_markouts_and_best_execution(client: falcon.testing.TestClient, loader: Loader) -> None:
    h = _auth(client)
    got = client.simulate_get(
        "/reports/markouts", params={"start": "2026-12-01", "end": "2026-12-31"}, headers=h
    )
    assert got.status_code == 200
    assert [v["venue"] for v in got.json["venues"]] == ["ALPHA", "BRAVO"]
    assert loader.periods[-1] == (ts(2026, 12, 1, 0), ts(2027, 1, 1, 0))
    best = client.simulate_get("/reports/best-execution", params={"format": "csv"}, headers=h)
    assert best.status_code == 200 and best.text.startswith("symbol,order_class")


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/reports/606", {"quarter": "2026Q5"}, "quarter"),
        ("/reports/606", {}, "quarter"),
        ("/reports/606", {"quarter": "2026Q4", "format": "pdf"}, "format"),
        ("/reports/605", {"month": "2026-13"}, "month"),
        ("/reports/605", {"month": "2026-12", "format": "xml"}, "format"),
        ("/reports/markouts", {"start": "2026-12-31", "end": "2026-12-01"}, "end"),
        ("/reports/markouts", {"start": "2026-02-31"}, "start"),
    ],
)
def test_bad_input_is_a_problem_naming_the_parameter(
    client: falcon.testing.TestClient, path: str, params: dict[str, str], field: str
) -> None:
    got = client.simulate_get(path, params=params, headers=_auth(client))
    assert got.status_code == 422, got.text
    assert got.headers["content-type"] == "application/problem+json"
    assert field in got.text


def test_reports_need_the_compliance_role(client: falcon.testing.TestClient) -> None:
    params = {"quarter": "2026Q4"}
    assert client.simulate_get("/reports/606", params=params).status_code == 401
    got = client.simulate_get("/reports/606", params=params, headers=_auth(client, TRADER))
    assert got.status_code == 403
