"""The consume-store-publish use case with in-memory stores: once per record, retry-safe."""

from __future__ import annotations

import pytest

from nexus.events import ALERT_CODEC
from services.surveillance.service import SurveillanceService
from tests.support.surveillance import make_service, self_trade
from tests.support.surveillance_fakes import FakeAlertStore, FakeArchive, FakePublisher, delivery

pytestmark = pytest.mark.usefixtures("self_trade_detector")


class Waker:
    def __init__(self) -> None:
        self.woken = 0

    def wake(self) -> None:
        self.woken += 1


def make() -> tuple[SurveillanceService, FakeAlertStore, FakeArchive, FakePublisher, Waker]:
    waker = Waker()
    parts = make_service(halts=waker)
    return parts.service, parts.store, parts.archive, parts.publisher, waker


async def test_a_redelivered_batch_is_archived_and_fed_once() -> None:
    service, store, archive, publisher, _ = make()
    batch = [delivery(self_trade(f"t{i}", "u", "AAPL", i), offset=i) for i in range(2)]
    await service.on_batch(batch)
    await service.on_batch(batch)
    assert len(archive.records) == 2
    assert service.events_seen == 2
    assert [r.payload["trade_ids"] for r in store.versions] == [["AAPL-t0", "AAPL-t1"]]
    assert len(publisher.messages) == 1


async def test_a_failed_store_is_retried_with_the_pending_alerts_not_a_second_feed() -> None:
    service, store, archive, _, _ = make()
    store.fail_saves = 1
    batch = [delivery(self_trade("t0", "u", "AAPL", 0), offset=0)]
    with pytest.raises(ConnectionError):
        await service.on_batch(batch)
    await service.on_batch(batch)
    assert len(store.versions) == 1
    assert service.events_seen == 1
    assert len(archive.records) == 1


async def test_publication_failure_leaves_versions_for_the_background_loop() -> None:
    service, store, _, publisher, _ = make()
    publisher.fail = True
    await service.on_batch([delivery(self_trade("t0", "u", "AAPL", 0), offset=0)])
    assert store.published == set()
    publisher.fail = False
    assert await service.publish_pending() == 1
    assert await service.publish_pending() == 0
    event = ALERT_CODEC.decode(publisher.messages[0].value)
    assert (event.event_id, event.version) == next(iter(store.published))


async def test_critical_alert_enqueues_one_halt_and_wakes_the_dispatcher() -> None:
    service, store, _, _, waker = make()
    for i in range(4):
        await service.on_batch([delivery(self_trade(f"t{i}", "u", "AAPL", i), offset=i)])
    assert [r.severity for r in store.versions] == ["MEDIUM", "HIGH", "CRITICAL", "CRITICAL"]
    assert list(store.halts) == [store.versions[0].alert_id]
    assert waker.woken == 2


async def test_listeners_hear_each_new_version_once() -> None:
    service, _, _, _, _ = make()
    heard: list[tuple[str, int]] = []
    service.add_listener(lambda a: heard.append((a.alert_id, a.version)))
    batch = [delivery(self_trade("t0", "u", "AAPL", 0), offset=0)]
    await service.on_batch(batch)
    await service.on_batch(batch)
    assert [v for _, v in heard] == [1]


async def test_warm_up_replays_the_archive_and_skips_its_redelivery() -> None:
    first, _, archive, _, _ = make()
    batch = [delivery(self_trade(f"t{i}", "u", "AAPL", i), offset=i) for i in range(2)]
    await first.on_batch(batch)
    second, store, _, _, _ = make()
    second._archive = archive  # type: ignore[assignment]  # the restart reads the same archive
    assert await second.warm_up() == 2
    await second.on_batch(batch)  # the broker redelivers what was not committed
    await second.on_batch([delivery(self_trade("t2", "u", "AAPL", 2), offset=2)])
    assert second.events_seen == 1
    assert store.versions[-1].payload["trade_ids"] == ["AAPL-t0", "AAPL-t1", "AAPL-t2"]
    assert len(archive.records) == 3


async def test_warm_up_of_an_empty_archive_does_nothing() -> None:
    service, store, _, _, _ = make()
    assert await service.warm_up() == 0
    assert store.versions == []


async def test_thresholds_are_validated_recorded_applied_and_reloaded() -> None:
    service, _, _, _, _ = make()
    before = service.thresholds("WASH_TRADING")
    applied = await service.change_thresholds(
        "WASH_TRADING", {"min_trades": 4}, actor="ann", reason="calibration"
    )
    assert applied["min_trades"] == 4
    assert applied["version"] == before["version"] + 1
    await service.load()  # a restart: the recorded change is in force again
    assert service.thresholds("WASH_TRADING") == applied


async def test_owner_links_reach_the_engine_and_a_scan_engine() -> None:
    service, _, _, _, _ = make()
    assert await service.set_owners({"a1": "fam"}, actor="ann") == 1
    assert service.owners() == {"a1": "fam"}
    assert service.engine.owner_of("a1", "u") == "fam"
    scan = service.scan_engine(object())  # type: ignore[arg-type]
    assert scan.owner_of("a1", "u") == "fam"
    assert scan is not service.engine
