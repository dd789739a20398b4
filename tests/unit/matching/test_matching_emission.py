"""The emission rule on its own: order and end events per result, fill-record events in order."""

from __future__ import annotations

import numpy as np
import pytest

from nexus.book import FILL_MATCH, FILL_STP_CANCEL, OP_AMEND, OP_CANCEL, OP_SUBMIT, Result
from nexus.matching.emission import (
    AMEND,
    CANCEL,
    CAUSE_STP,
    CAUSE_USER,
    EXPIRE,
    FILL,
    NEW,
    NONE,
    TRADE,
    fill_events,
    operation_events,
    operation_table,
)

P = 1_000_000_000
REJECTS = [r for r in Result if r.is_reject]


@pytest.mark.parametrize("op", [OP_SUBMIT, OP_AMEND])
@pytest.mark.parametrize("result", REJECTS)
def test_a_rejected_operation_emits_nothing(op: int, result: int) -> None:
    assert operation_events(op, result) == (NONE, 0, False, NONE, 0)


def test_a_cancel_emits_its_cancel_only_when_something_was_cancelled() -> None:
    assert operation_events(OP_CANCEL, 5 * P) == (CANCEL, CAUSE_USER, False, NONE, 0)
    assert operation_events(OP_CANCEL, 0) == (NONE, CAUSE_USER, False, NONE, 0)


@pytest.mark.parametrize(
    ("op", "result", "plan"),
    [
        (OP_SUBMIT, Result.RESTED, (NEW, 0, True, NONE, 0)),
        (OP_SUBMIT, Result.FILLED, (NEW, 0, True, NONE, 0)),
        (OP_SUBMIT, Result.EXPIRED, (NEW, 0, True, EXPIRE, 0)),
        (OP_SUBMIT, Result.STP_CANCELLED, (NEW, 0, True, CANCEL, CAUSE_STP)),
        (OP_AMEND, Result.AMENDED, (AMEND, 1, False, NONE, 0)),
        (OP_AMEND, Result.RESTED, (AMEND, 0, True, NONE, 0)),
        (OP_AMEND, Result.FILLED, (AMEND, 0, True, NONE, 0)),
        (OP_AMEND, Result.STP_CANCELLED, (AMEND, 0, True, CANCEL, CAUSE_STP)),
    ],
)
def test_order_and_end_events_of_accepted_operations(op: int, result: int, plan: tuple) -> None:
    assert operation_events(op, result) == plan
    assert operation_table(op, [result]) == {result: plan}


def test_fill_records_give_trade_maker_fill_taker_fill_and_stp_cancels() -> None:
    taker = 9
    records = [
        (FILL_MATCH, 1, taker, 100 * P, 2 * P, 0),  # maker 1 filled out
        (FILL_STP_CANCEL, 2, taker, 101 * P, 3 * P, 0),  # own resting order: cancelled
        (FILL_MATCH, 3, taker, 101 * P, 1 * P, 4 * P),  # maker 3 keeps 4
    ]
    assert list(fill_events(records, 0, 0, len(records), taker, 5 * P)) == [
        (TRADE, 1, 100 * P, 2 * P, 0, 0),
        (FILL, 1, 100 * P, 2 * P, 0, 0),
        (FILL, taker, 100 * P, 2 * P, 3 * P, 1),
        (CANCEL, 2, 101 * P, 3 * P, 0, CAUSE_STP),  # STP does not reduce the taker
        (TRADE, 3, 101 * P, 1 * P, 4 * P, 0),
        (FILL, 3, 101 * P, 1 * P, 4 * P, 0),
        (FILL, taker, 101 * P, 1 * P, 2 * P, 1),
    ]
    # the kernel's layout: an op column first, and a record range out of a whole batch
    batch = np.array([(0, *records[0]), (1, *records[1]), (1, *records[2])], dtype=np.int64)
    assert list(fill_events(batch, 1, 1, 3, taker, 5 * P)) == [
        (CANCEL, 2, 101 * P, 3 * P, 0, CAUSE_STP),
        (TRADE, 3, 101 * P, 1 * P, 4 * P, 0),
        (FILL, 3, 101 * P, 1 * P, 4 * P, 0),
        (FILL, taker, 101 * P, 1 * P, 4 * P, 1),
    ]
