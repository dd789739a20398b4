"""Returns over REST, computed from stored closes, against a direct computation."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.integration.marketdata.conftest import Running
from tests.integration.marketdata.test_prices_api import assert_problem, seeded_history

pytestmark = pytest.mark.integration


def direct_returns(closes: list[int], kind: str) -> list[float]:
    """Returns straight from raw closes with exact ratios, rounded to float once."""
    ratios = [Decimal(b) / Decimal(a) for a, b in itertools.pairwise(closes)]
    if kind == "log":
        return [math.log(float(r)) for r in ratios]
    return [float(r - 1) for r in ratios]


@pytest.mark.parametrize("kind", ["simple", "log"])
async def test_returns_from_stored_closes_match_a_direct_computation(
    marketdata: Running, kind: str
) -> None:
    history = seeded_history()
    days = history.trade_dates
    response = await marketdata.http.get(
        "/returns",
        params={
            "symbols": "S0004,S0001",
            "start": days[5].isoformat(),
            "end": days[-2].isoformat(),
            "kind": kind,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == kind and body["missing"] == "raise"
    assert body["base_date"] == days[5].isoformat()
    assert body["dates"] == [d.isoformat() for d in days[6:-1]]
    assert body["observations"] == len(days) - 7
    for series, j in zip(body["series"], (4, 1), strict=True):
        assert series["symbol"] == f"S000{j}"
        expected = direct_returns([int(c) for c in history.closes[5:-1, j]], kind)
        assert series["values"] == pytest.approx(expected, rel=1e-12, abs=1e-15)


async def gappy(marketdata: Running, tmp_path: Path) -> None:
    csv = tmp_path / "gaps.csv"
    csv.write_text(
        "date,GAPA,GAPB\n2024-01-02,100,50\n2024-01-03,110,\n2024-01-04,99,55\n2024-01-05,99,44\n"
    )
    await marketdata.service.import_csv(csv)


async def test_missing_close_is_404_naming_symbol_and_date_unless_a_policy_is_chosen(
    marketdata: Running, tmp_path: Path
) -> None:
    await gappy(marketdata, tmp_path)
    params = {"symbols": "GAPA,GAPB", "start": "2024-01-01", "end": "2024-01-31"}
    body = assert_problem(await marketdata.http.get("/returns", params=params), 404)
    assert "GAPB: 2024-01-03" in body["detail"] and "missing=drop" in body["detail"]
    assert body["errors"] == [
        {"field": "symbols", "message": "GAPB has no close on 2024-01-03", "in": "query"}
    ]

    dropped = (await marketdata.http.get("/returns", params={**params, "missing": "drop"})).json()
    assert dropped["dates"] == ["2024-01-04", "2024-01-05"]
    a, b = (s["values"] for s in dropped["series"])
    assert a == pytest.approx([-0.01, 0.0]) and b == pytest.approx([0.1, -0.2])
    assert "minus every day" in dropped["missing_days"]

    filled = (await marketdata.http.get("/returns", params={**params, "missing": "ffill"})).json()
    assert filled["dates"] == ["2024-01-03", "2024-01-04", "2024-01-05"]
    assert filled["series"][1]["values"] == pytest.approx([0.0, 0.1, -0.2])


async def test_fewer_than_two_closes_is_a_clear_404(marketdata: Running) -> None:
    days = seeded_history().trade_dates
    one_day = {"symbols": "S0000", "start": days[3].isoformat(), "end": days[3].isoformat()}
    body = assert_problem(await marketdata.http.get("/returns", params=one_day), 404)
    assert "at least two are needed" in body["detail"]
    empty = {"symbols": "S0000", "start": "1990-01-01", "end": "1990-02-01"}
    body = assert_problem(await marketdata.http.get("/returns", params=empty), 404)
    assert "0 close(s) between 1990-01-01 and 1990-02-01" in body["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"symbols": "S0000", "kind": "arithmetic"}, "$.kind"),
        ({"symbols": "S0000", "missing": "interpolate"}, "$.missing"),
        ({"symbols": "S0000", "start": "2024-02-30"}, "$.start"),
        ({"symbols": "S0000", "start": "2024-03-02", "end": "2024-03-01"}, "start"),
    ],
)
async def test_bad_returns_query_is_422_naming_the_field(
    marketdata: Running, params: dict[str, str], field: str
) -> None:
    body: dict[str, Any] = assert_problem(await marketdata.http.get("/returns", params=params), 422)
    assert [e["field"] for e in body["errors"]] == [field]


async def test_unknown_symbols_in_returns_are_named(marketdata: Running) -> None:
    body = assert_problem(
        await marketdata.http.get("/returns", params={"symbols": "GHOST,S0001"}), 404
    )
    assert [e["message"] for e in body["errors"]] == ["unknown symbol GHOST"]
