"""Rule 606(a)(1) on a hand-made quarter with known answers; the XML against an XSD."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from lxml import etree

from services.routing.reports.export import csv_606, to_builtins, xml_606
from services.routing.reports.model import Fills, IndexMembership, Orders, Routes
from services.routing.reports.rule606 import Report606, compute_606, parse_quarter
from tests.unit.routing_reports.support import raw, ts

SP500 = IndexMembership.from_csv("AAPL,1982-11-30,\nNEWCO,2026-11-15,\n")
BID, ASK = raw("100.00"), raw("100.02")

# (id, symbol, side, limit, received, directed, held, stop)
ORDERS = [
    ("1", "AAPL", 1, "0", ts(2026, 10, 5), False, True, False),  # market
    ("2", "AAPL", -1, "99.99", ts(2026, 10, 6), False, True, False),  # marketable limit
    ("3", "AAPL", 1, "99.50", ts(2026, 10, 7), False, True, False),  # non-marketable limit
    ("4", "AAPL", 1, "0", ts(2026, 10, 8), True, True, False),  # directed
    ("5", "AAPL", 1, "0", ts(2026, 10, 9), False, False, False),  # not held
    ("6", "NEWCO", 1, "0", ts(2026, 10, 20), False, True, False),  # not yet in the index
    ("7", "NEWCO", 1, "0", ts(2026, 11, 20), False, True, False),  # in the index
    ("8", "AAPL", 1, "0", ts(2026, 9, 30), False, True, False),  # before the quarter
    ("9", "AAPL", 1, "0", ts(2026, 10, 10), False, True, True),  # stop: other
]
# (order row, venue)
ROUTES = [(0, "ARCA"), (1, "ARCA"), (1, "BATS"), (1, "BATS"), (2, "BATS"), (3, "IEX")]
ROUTES += [(4, "IEX"), (5, "IEX"), (6, "ARCA"), (7, "ARCA"), (8, "IEX")]
# (order row, venue, shares, fee in dollars: + paid, - rebate)
FILLS = [
    (0, "ARCA", 100, "0.30"),
    (1, "ARCA", 100, "0.30"),
    (1, "BATS", 100, "-0.20"),
    (3, "IEX", 100, "5.00"),  # directed: not in the report
    (7, "ARCA", 100, "9.00"),  # September: not in the report
]


def _report() -> Report606:
    orders = Orders.build(
        order_id=[o[0] for o in ORDERS],
        symbol=[o[1] for o in ORDERS],
        side=[o[2] for o in ORDERS],
        quantity=[raw(100)] * len(ORDERS),
        limit_price=[raw(o[3]) for o in ORDERS],
        ts_received=[o[4] for o in ORDERS],
        bid=[BID] * len(ORDERS),
        ask=[ASK] * len(ORDERS),
        directed=[o[5] for o in ORDERS],
        held=[o[6] for o in ORDERS],
        stop=[o[7] for o in ORDERS],
    )
    routes = Routes.build(order=[r[0] for r in ROUTES], venue=[r[1] for r in ROUTES])
    fills = Fills.build(
        order=[f[0] for f in FILLS],
        venue=[f[1] for f in FILLS],
        price=[raw("100.01")] * len(FILLS),
        quantity=[raw(f[2]) for f in FILLS],
        fee=[raw(f[3]) for f in FILLS],
        ts=[ORDERS[f[0]][4] + 1 for f in FILLS],
    )
    return compute_606("2026Q4", orders, routes, fills, SP500)


def test_summary_counts_held_orders_and_splits_non_directed_by_type() -> None:
    report = _report()
    assert [(m.year, m.month) for m in report.months] == [(2026, 10), (2026, 11), (2026, 12)]
    sp = report.months[0].sections["sp500"]
    assert sp.held_orders == 5  # 1, 2, 3, 4 (directed), 9; not 5 (not held) nor 8 (September)
    assert sp.non_directed == 4
    assert sp.non_directed_pct == Decimal("80.00")
    assert sp.type_counts == {
        "market": 1,
        "marketable_limit": 1,
        "non_marketable_limit": 1,
        "other": 1,
    }
    assert set(sp.type_pct.values()) == {Decimal("25.00")}


def test_venues_count_each_order_once_per_venue_and_rank_by_routes() -> None:
    sp = _report().months[0].sections["sp500"]
    # routes: 1->ARCA, 2->ARCA, 2->BATS (twice, counted once), 3->BATS, 9->IEX
    assert [(v.venue, v.orders, v.order_pct) for v in sp.venues] == [
        ("ARCA", 2, Decimal("40.00")),
        ("BATS", 2, Decimal("40.00")),
        ("IEX", 1, Decimal("20.00")),
    ]
    arca, bats, iex = sp.venues
    assert arca.type_pct["market"] == Decimal("100.00")
    assert arca.type_pct["marketable_limit"] == Decimal("50.00")
    assert bats.type_pct["marketable_limit"] == Decimal("50.00")
    assert bats.type_pct["non_marketable_limit"] == Decimal("100.00")
    assert iex.type_pct["other"] == Decimal("100.00")


def test_net_payment_received_in_dollars_and_cents_per_hundred_shares() -> None:
    arca, bats, iex = _report().months[0].sections["sp500"].venues
    # ARCA charged $0.30 on 100 shares: paid, so negative; 30 cents per 100 shares
    assert arca.net_payment_usd["market"] == Decimal("-0.30")
    assert arca.net_payment_cph["market"] == Decimal("-30.0000")
    assert arca.net_payment_usd["marketable_limit"] == Decimal("-0.30")
    # BATS paid a $0.20 rebate on 100 shares: received
    assert bats.net_payment_usd["marketable_limit"] == Decimal("0.20")
    assert bats.net_payment_cph["marketable_limit"] == Decimal("20.0000")
    assert bats.net_payment_cph["non_marketable_limit"] == Decimal("0.0000")  # no execution
    assert iex.net_payment_usd["other"] == Decimal("0.00")  # the directed $5 is left out


def test_sections_follow_index_membership_dates() -> None:
    report = _report()
    other_oct = report.months[0].sections["other_nms"]
    assert (other_oct.non_directed, [v.venue for v in other_oct.venues]) == (1, ["IEX"])
    sp_nov = report.months[1].sections["sp500"]
    assert (sp_nov.non_directed, [v.venue for v in sp_nov.venues]) == (1, ["ARCA"])
    assert report.months[1].sections["other_nms"].non_directed == 0
    assert report.months[2].sections["sp500"].venues == []


def test_top_ten_venues_plus_any_with_five_percent() -> None:
    counts = [8] * 10 + [6, 4]  # of 90 routes: the 11th has 6.67%, the 12th 4.44%
    venues = [f"V{i:02d}" for i, c in enumerate(counts) for _ in range(c)]
    n = len(venues)
    orders = Orders.build(
        order_id=[str(i) for i in range(n)],
        symbol=["AAPL"] * n,
        side=[1] * n,
        quantity=[raw(1)] * n,
        limit_price=[0] * n,
        ts_received=[ts(2026, 10, 1)] * n,
        bid=[BID] * n,
        ask=[ASK] * n,
    )
    report = compute_606(
        "2026Q4",
        orders,
        Routes.build(order=list(range(n)), venue=venues),
        Fills.build(order=[], venue=[], price=[], quantity=[], ts=[]),
        SP500,
    )
    listed = report.months[0].sections["sp500"].venues
    assert [v.venue for v in listed] == [f"V{i:02d}" for i in range(11)]
    assert listed[10].order_pct == Decimal("6.67")


@pytest.mark.parametrize("bad", ["2026", "2026Q5", "26Q4xx", "2026-4", "abcdQ1"])
def test_parse_quarter_refuses_malformed(bad: str) -> None:
    with pytest.raises(ValueError, match="quarter"):
        parse_quarter(bad)


def test_csv_has_a_summary_row_and_one_row_per_venue() -> None:
    rows = list(csv.DictReader(io.StringIO(csv_606(_report()))))
    oct_sp = [r for r in rows if r["month"] == "10" and r["section"] == "sp500"]
    assert [r["venue"] for r in oct_sp] == ["*", "ARCA", "BATS", "IEX"]
    assert oct_sp[0]["order_pct"] == "80.00"
    assert oct_sp[2]["net_payment_marketable_limit_cents_per_100_shares"] == "20.0000"
    assert len(rows) == 6 + 3 + 1 + 1  # 6 summaries, 3 + 1 venues in October, 1 in November


def test_json_builtins_keep_decimals_as_strings() -> None:
    data = to_builtins(_report())
    assert data["quarter"] == "2026Q4"
    assert data["period_start"] == "2026-10-01" and data["period_end"] == "2026-12-31"
    venue = data["months"][0]["sections"]["sp500"]["venues"][0]
    assert venue["net_payment_usd"]["market"] == "-0.30"


# The layout of the SEC's Rule 606 XML schema, as far as this report fills it.
XSD = b"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:simpleType name="pct">
    <xs:restriction base="xs:decimal">
      <xs:minInclusive value="0"/><xs:maxInclusive value="100"/><xs:fractionDigits value="2"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="usd">
    <xs:restriction base="xs:decimal"><xs:fractionDigits value="2"/></xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="cph">
    <xs:restriction base="xs:decimal"><xs:fractionDigits value="4"/></xs:restriction>
  </xs:simpleType>
  <xs:complexType name="venue">
    <xs:sequence>
      <xs:element name="name" type="xs:string"/>
      <xs:element name="orderPct" type="pct"/>
      <xs:element name="marketPct" type="pct"/>
      <xs:element name="marketableLimitPct" type="pct"/>
      <xs:element name="nonMarketableLimitPct" type="pct"/>
      <xs:element name="otherPct" type="pct"/>
      <xs:element name="netPmtPaidRecvMarketOrdersUsd" type="usd"/>
      <xs:element name="netPmtPaidRecvMarketOrdersCph" type="cph"/>
      <xs:element name="netPmtPaidRecvMarketableLimitOrdersUsd" type="usd"/>
      <xs:element name="netPmtPaidRecvMarketableLimitOrdersCph" type="cph"/>
      <xs:element name="netPmtPaidRecvNonMarketableLimitOrdersUsd" type="usd"/>
      <xs:element name="netPmtPaidRecvNonMarketableLimitOrdersCph" type="cph"/>
      <xs:element name="netPmtPaidRecvOtherOrdersUsd" type="usd"/>
      <xs:element name="netPmtPaidRecvOtherOrdersCph" type="cph"/>
      <xs:element name="materialAspects" type="xs:string"/>
    </xs:sequence>
  </xs:complexType>
  <xs:complexType name="section">
    <xs:sequence>
      <xs:element name="ndoPct" type="pct"/>
      <xs:element name="ndoMarketPct" type="pct"/>
      <xs:element name="ndoMarketableLimitPct" type="pct"/>
      <xs:element name="ndoNonmarketableLimitPct" type="pct"/>
      <xs:element name="ndoOtherPct" type="pct"/>
      <xs:element name="rVenues">
        <xs:complexType><xs:sequence>
          <xs:element name="rVenue" type="venue" minOccurs="0" maxOccurs="unbounded"/>
        </xs:sequence></xs:complexType>
      </xs:element>
    </xs:sequence>
  </xs:complexType>
  <xs:element name="heldOrderRoutingPublicReport">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="bd" type="xs:string"/>
        <xs:element name="year" type="xs:gYear"/>
        <xs:element name="qtr">
          <xs:simpleType><xs:restriction base="xs:integer">
            <xs:minInclusive value="1"/><xs:maxInclusive value="4"/>
          </xs:restriction></xs:simpleType>
        </xs:element>
        <xs:element name="timestamp" type="xs:dateTime"/>
        <xs:element name="rMonthly" minOccurs="3" maxOccurs="3">
          <xs:complexType><xs:sequence>
            <xs:element name="mon">
              <xs:simpleType><xs:restriction base="xs:integer">
                <xs:minInclusive value="1"/><xs:maxInclusive value="12"/>
              </xs:restriction></xs:simpleType>
            </xs:element>
            <xs:element name="rSP500" type="section"/>
            <xs:element name="rOtherStocks" type="section"/>
          </xs:sequence></xs:complexType>
        </xs:element>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""


def test_xml_export_validates_against_the_606_schema() -> None:
    schema = etree.XMLSchema(etree.fromstring(XSD))
    doc = etree.fromstring(xml_606(_report()))
    schema.assertValid(doc)
    assert doc.findtext("qtr") == "4"
    venue = doc.find("rMonthly/rSP500/rVenues/rVenue")
    assert venue is not None
    assert venue.findtext("netPmtPaidRecvMarketOrdersCph") == "-30.0000"


def test_schema_refuses_a_broken_document() -> None:
    """The XSD is a real check: a percentage over 100 fails it."""
    schema = etree.XMLSchema(etree.fromstring(XSD))
    doc = etree.fromstring(xml_606(_report()))
    node = doc.find("rMonthly/rSP500/ndoPct")
    assert node is not None
    node.text = "101.00"
    assert not schema.validate(doc)
