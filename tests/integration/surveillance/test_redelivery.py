"""At least once, exactly one effect: redelivered batches and killed consumers add no alert."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from collections.abc import Callable
from typing import Any

import pytest

from nexus.config import Settings
from services.surveillance.store import content_key
from tests.integration.surveillance.conftest import Flow, Headers, Running, run_surveillance
from tests.integration.surveillance.kill_worker import EXIT_CODE
from tests.support.surveillance import self_trade

pytestmark = pytest.mark.integration


async def _versions(running: Running, alert_id: str) -> list[dict[str, Any]]:
    resp = await running.http.get(f"/alerts/{alert_id}", headers=running.headers)
    assert resp.status_code == 200, resp.text
    return [v["alert"] for v in resp.json()["versions"]]


def _assert_no_duplicate_versions(versions: list[dict[str, Any]]) -> None:
    assert [v["version"] for v in versions] == list(range(1, len(versions) + 1))
    for before, after in itertools.pairwise(versions):
        assert content_key(before) != content_key(after)


@pytest.mark.parametrize("mode", ["after-archive", "after-store"])
async def test_consumer_killed_mid_batch_resumes_the_episode_without_duplicates(
    mode: str,
    surveillance_settings: Settings,
    flow: Flow,
    tokens: Headers,
    self_trade_detector: Any,
    unique_name: Callable[[str], str],
) -> None:
    user, symbol = unique_name("u"), unique_name("S").upper()
    await flow.publish([self_trade(f"t{i}", user, symbol, i) for i in range(3)])
    env = {
        **os.environ,
        "NEXUS_KAFKA_BOOTSTRAP": flow.bootstrap,
        "NEXUS_PG_DSN": surveillance_settings.pg_dsn or "",
        "NEXUS_SURVEILLANCE_PG_DSN": surveillance_settings.service_pg_dsns["surveillance"],
        "NEXUS_SERVICE_URLS": "risk=http://127.0.0.1:9",
    }
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.surveillance.kill_worker",
        flow.group,
        flow.pattern,
        mode,
        env=env,
    )
    assert await asyncio.wait_for(worker.wait(), timeout=60) == EXIT_CODE

    async with run_surveillance(surveillance_settings, flow, tokens) as running:
        pool = running.built.runtime.pool
        assert await running.archived(symbol) == 3
        # the redelivered batch (and the warm-up) finish the episode; one more trade extends it
        await flow.publish([self_trade("t3", user, symbol, 3)])
        alert = await running.wait_alert(
            lambda a: a["symbol"] == symbol and a["explanation"].startswith("4 trades")
        )
        await asyncio.sleep(1.0)  # let any duplicate arrive
        mine = [a for a in await running.alerts() if a["symbol"] == symbol]
        assert [a["alert_id"] for a in mine] == [alert["alert_id"]]
        versions = await _versions(running, alert["alert_id"])
        _assert_no_duplicate_versions(versions)
        assert versions[-1]["trade_ids"] == [f"{symbol}-t{i}" for i in range(4)]
        assert await running.archived(symbol) == 4
        assert (
            await pool.fetchval(
                "SELECT count(*) FROM nexus_outbox WHERE id = $1", alert["alert_id"]
            )
            == 1
        )


async def test_handler_retry_after_a_failed_store_feeds_the_engine_once(
    surveillance: Running, unique_name: Callable[[str], str]
) -> None:
    user, symbol = unique_name("u"), unique_name("S").upper()
    store = surveillance.built.alerts
    save = store.save
    failures = {"left": 2}

    async def flaky_save(*args: Any, **kwargs: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("database went away")
        return await save(*args, **kwargs)

    failures_before = sum(r.stats.handler_failures for r in surveillance.built.runtime.runners)
    release_failures_before = surveillance.built.service.release_failures
    store.save = flaky_save  # type: ignore[method-assign]
    try:
        await surveillance.flow.publish([self_trade(f"t{i}", user, symbol, i) for i in range(2)])
        alert = await surveillance.wait_alert(lambda a: a["symbol"] == symbol)
    finally:
        store.save = save  # type: ignore[method-assign]
    assert failures["left"] == 0
    versions = await _versions(surveillance, alert["alert_id"])
    _assert_no_duplicate_versions(versions)
    # the retried batch was not fed to the engine twice: two trades, not four
    assert versions[-1]["trade_ids"] == [f"{symbol}-t0", f"{symbol}-t1"]
    # each failed store was retried: by the runner (the batch's handler) when the batch
    # released the events, by the idle release when the watermark held them
    failures_after = sum(r.stats.handler_failures for r in surveillance.built.runtime.runners)
    retried = failures_after - failures_before + surveillance.built.service.release_failures
    assert retried - release_failures_before == 2


async def test_restart_warms_the_engine_from_the_archive_so_an_episode_continues(
    surveillance_settings: Settings,
    flow: Flow,
    tokens: Headers,
    self_trade_detector: Any,
    unique_name: Callable[[str], str],
) -> None:
    user, symbol = unique_name("u"), unique_name("S").upper()
    async with run_surveillance(surveillance_settings, flow, tokens) as first:
        await flow.publish([self_trade("t0", user, symbol, 0)])
        alert = await first.wait_alert(lambda a: a["symbol"] == symbol)
    # offsets of t0 are committed: only the warm-up can tell the new engine about it
    async with run_surveillance(surveillance_settings, flow, tokens) as second:
        await flow.publish([self_trade("t1", user, symbol, 1)])
        again = await second.wait_alert(lambda a: a["symbol"] == symbol and a["version"] == 2)
        assert again["alert_id"] == alert["alert_id"]
        assert again["severity"] == "HIGH"
        versions = await _versions(second, alert["alert_id"])
        assert [v["trade_ids"] for v in versions] == [
            [f"{symbol}-t0"],
            [f"{symbol}-t0", f"{symbol}-t1"],
        ]
