"""``nexus up`` supervision and status view: restarts with backoff, the status line, probes."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from nexus.cli import (
    BACKOFF_FIRST_S,
    BACKOFF_MAX_S,
    Supervised,
    _metric_sum,
    status_line,
    taken_ports,
)
from nexus.config import load_settings
from nexus.infra import InfraError, free_port, port_in_use, wait_for_health


def _exit_with(code: int, tmp_path: Path, restart_on_success: bool = True) -> Supervised:
    argv = [sys.executable, "-c", f"import sys; sys.exit({code})"]
    return Supervised("svc", argv, {}, tmp_path / "svc.log", restart_on_success)


def test_a_crashed_process_is_restarted_after_a_doubling_backoff(tmp_path: Path) -> None:
    proc = _exit_with(3, tmp_path)
    proc.start()
    assert proc.proc is not None
    proc.proc.wait()
    now = proc.started_at + 1.0
    assert proc.check(now) == f"svc exited with 3; restarting in {BACKOFF_FIRST_S:.0f} s"
    assert proc.status(now) == "svc down (exit 3), retry in 1s"
    assert proc.check(now + 0.5) is None  # not yet due
    assert proc.check(now + BACKOFF_FIRST_S) == "svc restarted (restart 1)"
    proc.proc.wait()
    message = proc.check(proc.started_at + 1.0)
    assert message is not None and "restarting in 2 s" in message
    assert proc.backoff_s == 4 * BACKOFF_FIRST_S
    proc.backoff_s = BACKOFF_MAX_S
    proc.restart_at = None
    proc.check(proc.started_at + 1.0)
    assert proc.backoff_s == BACKOFF_MAX_S  # capped
    proc.stop()
    assert (tmp_path / "svc.log").exists()


def test_a_process_that_finished_cleanly_is_not_restarted_when_so_configured(
    tmp_path: Path,
) -> None:
    proc = _exit_with(0, tmp_path, restart_on_success=False)
    proc.start()
    assert proc.proc is not None
    proc.proc.wait()
    assert proc.check(proc.started_at + 1.0) == "svc finished"
    assert proc.check(proc.started_at + 100.0) is None
    assert proc.status(proc.started_at + 100.0) is None
    proc.stop()


def test_status_line_shows_every_figure_and_dashes_for_absent_sources(tmp_path: Path) -> None:
    down = _exit_with(1, tmp_path)
    down.restart_at, down.last_exit = 12.0, -9
    line = status_line(
        {"sim_rate": 298.6, "trades": 1234, "open_orders": 456, "halts": 0, "lag": None},
        [down],
        now=10.0,
    )
    assert line.split(" | ", 1)[1] == (
        "sim 299 orders/s | trades 1234 | open orders 456 | halts 0 | lag - | "
        "svc down (exit -9), retry in 2s"
    )
    with_more = status_line({"alerts": "3", "routed": "2000+"}, [], now=0.0)
    assert with_more.endswith("| alerts 3 | routed orders 2000+")


def test_metric_sum_adds_every_sample_of_one_metric_only() -> None:
    text = "\n".join(
        [
            "# HELP nexus_consumer_lag Messages behind",
            'nexus_consumer_lag{topic="a",partition="0",group="g"} 3.0',
            'nexus_consumer_lag{topic="a",partition="1",group="g"} 4.0',
            "nexus_consumer_lag_other 100.0",
            "nexus_consumer_lag 1.0",
        ]
    )
    assert _metric_sum(text, "nexus_consumer_lag") == 8.0
    assert _metric_sum(text, "absent") == 0.0


class _Health(BaseHTTPRequestHandler):
    name = "other"

    def do_GET(self) -> None:
        body = json.dumps({"status": "ok", "service": self.name}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_health_answered_by_another_service_is_refused(health_server: str) -> None:
    wait_for_health(health_server, "other", timeout_s=5)
    with pytest.raises(InfraError, match="answers as 'other', not 'orders'"):
        wait_for_health(health_server, "orders", timeout_s=5)


def test_health_of_a_dead_process_fails_at_once() -> None:
    with pytest.raises(InfraError, match="exited before answering"):
        wait_for_health(f"http://127.0.0.1:{free_port()}", "orders", alive=lambda: False)


def test_taken_ports_names_the_services_whose_port_is_in_use(health_server: str) -> None:
    port = int(health_server.rsplit(":", 1)[1])
    assert port_in_use("127.0.0.1", port)
    free = free_port()
    assert not port_in_use("127.0.0.1", free)
    settings = load_settings({"NEXUS_RISK_PORT": str(port), "NEXUS_ORDERS_PORT": str(free)})
    assert taken_ports(settings, ["risk", "orders"]) == [("risk", port)]


def test_the_routed_flow_targets_the_router_at_the_chosen_rate_and_is_not_restarted_when_done(
    tmp_path: Path,
) -> None:
    from nexus.cli import _routed_flow

    settings = load_settings({"NEXUS_ROUTING_PORT": "18999"})
    proc = _routed_flow(settings, {}, None, tmp_path, 2.5)
    argv = proc.argv
    assert argv[argv.index("--routing-url") + 1] == f"http://{settings.host}:18999"
    assert argv[argv.index("--rate") + 1] == "2.5"
    assert argv[argv.index("--status-file") + 1] == str(tmp_path / "sim" / "routed.json")
    assert proc.restart_on_success is False


@pytest.mark.parametrize(
    ("pages", "expected"),
    [
        ([[{}] * 3], "3"),
        ([[{}] * 500], "500+"),  # one capped page: at least that many
        ([{"items": [{}] * 500, "next_cursor": "c"}, {"items": [{}] * 7}], "507"),
        ([{"items": [{}] * 500, "next_cursor": "c"}] * 4, "2000+"),
    ],
)
def test_listing_counts_say_when_they_are_only_a_lower_bound(
    pages: list[object], expected: str, tmp_path: Path
) -> None:
    import httpx

    from nexus.cli import StatusProbe

    answers = iter(pages)
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=next(answers)))
    probe = StatusProbe(load_settings({}), ["routing"], tmp_path / "s.json", "tok")
    with httpx.Client(transport=transport) as http:
        assert probe._count(http, "routing", "/orders") == expected
