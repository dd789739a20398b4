"""Cursor pagination and filter helpers."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus.web import (
    MalformedRequest,
    PageRequest,
    decode_cursor,
    encode_cursor,
    filter_clause,
    keyset_clause,
    paginate,
)


class Row(msgspec.Struct):
    ts: int
    id: str


@given(st.tuples(st.integers(), st.text(max_size=20)))
def test_cursor_round_trips_any_key(key: tuple[int, str]) -> None:
    assert decode_cursor(encode_cursor(key), tuple[int, str]) == key


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", encode_cursor("text")])
def test_bad_cursor_is_malformed_request(cursor: str) -> None:
    with pytest.raises(MalformedRequest):
        decode_cursor(cursor, tuple[int, str])


@given(st.lists(st.integers(min_value=0, max_value=50), unique=True), st.integers(1, 7))
def test_paging_to_the_end_returns_every_item_once_in_order(ids: list[int], limit: int) -> None:
    rows = [Row(ts=i % 3, id=f"{i:03d}") for i in ids]
    seen: list[Row] = []
    after = None
    while True:
        page = paginate(rows, PageRequest(limit=limit, after=after), lambda r: (r.ts, r.id))
        seen.extend(page.items)
        if page.next_cursor is None:
            break
        after = decode_cursor(page.next_cursor, tuple[int, str])
    assert seen == sorted(rows, key=lambda r: (r.ts, r.id))


def test_keyset_clause_compares_row_values_with_numbered_parameters() -> None:
    assert keyset_clause(["ts", "id"], None) == ("TRUE", [])
    assert keyset_clause(["ts", "id"], [5, "a"], first_param=3) == ("(ts, id) > ($3, $4)", [5, "a"])


def test_keyset_clause_with_cursor_of_wrong_arity_is_malformed() -> None:
    with pytest.raises(MalformedRequest):
        keyset_clause(["ts", "id"], [5])


def test_keyset_clause_rejects_unsafe_identifier() -> None:
    with pytest.raises(ValueError):
        keyset_clause(["ts; DROP TABLE x"], None)


def test_filter_clause_skips_nulls_and_uses_any_for_lists() -> None:
    sql, args = filter_clause(
        {"user_id": "u1", "symbol": None, "side": ["BUY", "SELL"]},
        allowed={"user_id": "user_id", "symbol": "symbol", "side": "o.side"},
        first_param=2,
    )
    assert sql == "user_id = $2 AND o.side = ANY($3)"
    assert args == ["u1", ["BUY", "SELL"]]
