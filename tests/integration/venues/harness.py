"""Venue processes for integration tests: start, kill, restart ``python -m services.venues.main``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from services.routing.core import VenueProfile
from services.routing.fix import FixVenue, write_initiator_settings
from services.routing.venues import read_descriptor
from services.venues.fix import free_port

START_TIMEOUT_S = 60.0


@dataclass
class VenueProcess:
    """One venue process on a fixed FIX port (kept across restarts)."""

    name: str
    data_dir: Path
    symbols: str = "SIM0000=50.00"
    kafka_bootstrap: str | None = None
    args: Sequence[str] = ()
    clients: str = "NEXUSROUTER,TAKER"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def descriptor_path(self) -> Path:
        return self.data_dir / "venues" / f"{self.name}.json"

    async def start(self, extra: Sequence[str] = ()) -> VenueProcess:
        """Start the process and wait until it announced its FIX endpoint."""
        env = dict(os.environ)
        env["NEXUS_DATA_DIR"] = str(self.data_dir)
        env["NEXUS_LOG_LEVEL"] = "WARNING"
        env.pop("NEXUS_KAFKA_BOOTSTRAP", None)
        if self.kafka_bootstrap:
            env["NEXUS_KAFKA_BOOTSTRAP"] = self.kafka_bootstrap
        cmd = [
            sys.executable,
            "-m",
            "services.venues.main",
            "--venue",
            self.name,
            "--symbols",
            self.symbols,
            "--fix-port",
            str(self.port),
            "--clients",
            self.clients,
            "--no-follow-trades",
            *self.args,
            *extra,
        ]
        self.proc = self._spawn(cmd, env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            d = read_descriptor(self.descriptor_path) if self.descriptor_path.exists() else None
            if d is not None and d.pid == self.proc.pid:
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"venue {self.name} exited: {self.tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"venue {self.name} did not start: {self.tail()}")
            await asyncio.sleep(0.05)

    def _spawn(self, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with open(self.data_dir / f"{self.name}.log", "ab") as log:
            return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)

    def tail(self, n: int = 2000) -> str:
        path = self.data_dir / f"{self.name}.log"
        return path.read_text(errors="replace")[-n:] if path.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the process and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    async def restart(self, extra: Sequence[str] = ()) -> VenueProcess:
        """Kill -9 and start again on the same port with the same data dir (FIX store kept)."""
        self.kill()
        return await self.start(extra)

    def descriptor(self) -> dict[str, object]:
        return dict(json.loads(self.descriptor_path.read_text()))


async def connect(
    venue: VenueProcess,
    *,
    sender: str = "NEXUSROUTER",
    profile: VenueProfile | None = None,
    cancel_timeout_s: float = 3.0,
    heartbeat_s: int = 1,
) -> FixVenue:
    """A logged-on FIX initiator adapter to ``venue`` (store under the venue's data dir)."""
    cfg = write_initiator_settings(
        venue.data_dir / "fix" / "router" / sender / venue.name,
        sender,
        venue.name,
        "127.0.0.1",
        venue.port,
        heartbeat_s=heartbeat_s,
    )
    adapter = FixVenue(
        profile or VenueProfile(venue_id=venue.name),
        cfg,
        sender_comp_id=sender,
        cancel_timeout_s=cancel_timeout_s,
    )
    await adapter.start(logon_timeout_s=15.0)
    return adapter


@contextlib.asynccontextmanager
async def venue_processes(*venues: VenueProcess) -> AsyncIterator[tuple[VenueProcess, ...]]:
    """Start the venues (concurrently); stop them at the end."""
    try:
        await asyncio.gather(*(v.start() for v in venues))
        yield venues
    finally:
        for v in venues:
            v.kill(signal.SIGTERM)
