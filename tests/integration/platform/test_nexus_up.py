"""``nexus up`` (behind ``make run``) starts every service that exists and stops cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nexus.cli import available_services
from nexus.config import SERVICE_PORTS
from nexus.infra import Stack, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[3]


def test_nexus_up_starts_every_service_prints_its_api_and_stops(
    stack: Stack, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "NEXUS_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "NEXUS_PG_DSN": stack.pg_dsn,
        "NEXUS_REDIS_URL": stack.redis_url,
        "NEXUS_DATA_DIR": str(tmp_path),
        **{f"NEXUS_{name.upper()}_PORT": str(free_port()) for name in SERVICE_PORTS},
    }
    done = subprocess.run(
        [sys.executable, "-m", "nexus.cli", "up", "--check", "--no-sim"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    services = available_services()
    assert {"risk", "orders"} <= set(services)
    assert "NexusTrade is up:" in done.stdout
    for name in services:
        assert f"http://127.0.0.1:{env[f'NEXUS_{name.upper()}_PORT']}" in done.stdout, name
    assert done.stdout.rstrip().endswith("stopping the stack ...")
