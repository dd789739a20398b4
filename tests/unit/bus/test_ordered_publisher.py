"""OrderedPublisher: call order kept, one batch per round trip, a failed batch retried first."""

from __future__ import annotations

import asyncio

import pytest

from nexus.bus import OrderedPublisher, OutgoingMessage, PublisherUnavailable
from tests.support.publishing import RecordingPublisher


def records(*values: bytes) -> list[OutgoingMessage]:
    return [OutgoingMessage("t", v) for v in values]


async def test_refuses_new_records_while_failing_or_full() -> None:
    outbox = OrderedPublisher(RecordingPublisher(), max_backlog=2)
    outbox.enqueue([OutgoingMessage("t", b"1"), OutgoingMessage("t", b"2")])
    with pytest.raises(PublisherUnavailable):
        outbox.check_accepting()
    healthy = OrderedPublisher(RecordingPublisher())
    healthy.failing = True
    with pytest.raises(PublisherUnavailable):
        healthy.check_accepting()


async def test_calls_queued_during_a_round_trip_go_out_together_in_call_order() -> None:
    broker = RecordingPublisher()
    broker.release.clear()
    publisher = OrderedPublisher(broker)
    task = asyncio.create_task(publisher.run())
    try:
        first = publisher.enqueue(records(b"1"))
        await asyncio.sleep(0)  # the first batch is in flight, held by the broker
        later = [publisher.enqueue(records(b"2", b"3")), publisher.enqueue(records(b"4"))]
        broker.release.set()
        await asyncio.wait_for(asyncio.gather(first, *later), 1.0)
    finally:
        task.cancel()
    assert [[m.value for m in b] for b in broker.batches] == [[b"1"], [b"2", b"3", b"4"]]
    assert (publisher.published, publisher.batches, publisher.backlog) == (4, 2, 0)


async def test_a_failed_batch_is_retried_before_anything_queued_after_it() -> None:
    broker = RecordingPublisher(failures=2)
    publisher = OrderedPublisher(broker)
    task = asyncio.create_task(publisher.run())
    try:
        acks = [publisher.enqueue(records(b"1")), publisher.enqueue(records(b"2"))]
        await asyncio.wait_for(asyncio.gather(*acks), 5.0)
    finally:
        task.cancel()
    assert [[m.value for m in b] for b in broker.batches] == [[b"1", b"2"]]
    assert publisher.failing is False
