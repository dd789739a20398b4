"""The router's external venues: found from their descriptors, reached over FIX sessions.

Each venue process writes ``<data dir>/venues/<NAME>.json`` once its FIX acceptor listens
(host, port, CompIDs, fee schedule, latency). :class:`VenueDirectory` reads them, writes one
initiator settings file per venue under ``<data dir>/fix/router/<sender>/<NAME>/`` (its
FileStore beside it, so sequence numbers survive a router restart) and registers a
:class:`~services.routing.fix.FixVenue` with the router. It keeps polling: a venue that starts
later is added, one that moved to another port gets a new session on the same store.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nexus.money import to_raw
from services.routing.core import ExecutionVenue, VenueProfile
from services.routing.fix import DEFAULT_SENDER, FixVenue, write_initiator_settings

log = logging.getLogger(__name__)

POLL_S = 1.0


@dataclass(frozen=True, slots=True)
class VenueDescriptor:
    """What a venue announces about itself."""

    name: str
    host: str
    port: int
    sender_comp_id: str
    clients: tuple[str, ...]
    maker_fee_per_share: int
    taker_fee_per_share: int
    latency_median_ms: float
    pid: int

    def profile(self) -> VenueProfile:
        """The router's static view of the venue (maker rebate = minus the maker fee)."""
        return VenueProfile(
            venue_id=self.name,
            kind="EXTERNAL",
            protected=True,
            taker_fee=self.taker_fee_per_share,
            maker_rebate=-self.maker_fee_per_share,
            expected_latency_ns=max(1, int(self.latency_median_ms * 1_000_000)),
            supports_iso=True,
        )


def read_descriptor(path: Path) -> VenueDescriptor | None:
    """A descriptor file, or None if it is unreadable or malformed."""
    try:
        body = json.loads(path.read_text())
        return VenueDescriptor(
            name=str(body["name"]),
            host=str(body["host"]),
            port=int(body["port"]),
            sender_comp_id=str(body["sender_comp_id"]),
            clients=tuple(str(c) for c in body.get("clients", ())),
            maker_fee_per_share=to_raw(body["maker_fee_per_share"]),
            taker_fee_per_share=to_raw(body["taker_fee_per_share"]),
            latency_median_ms=float(body.get("latency_median_ms", 1.0)),
            pid=int(body.get("pid", 0)),
        )
    except (OSError, ValueError, KeyError, TypeError, ArithmeticError):
        return None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_descriptors(directory: Path, *, live_only: bool = True) -> list[VenueDescriptor]:
    """Every readable descriptor in ``directory`` (of a live process, unless told otherwise)."""
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.glob("*.json")):
        descriptor = read_descriptor(path)
        if descriptor is not None and (not live_only or _alive(descriptor.pid)):
            found.append(descriptor)
    return found


class VenueDirectory:
    """Keeps one FIX session per announced venue and hands each new one to ``register``."""

    def __init__(
        self,
        data_dir: Path,
        register: Callable[[ExecutionVenue], None],
        *,
        sender_comp_id: str = DEFAULT_SENDER,
        heartbeat_s: int = 5,
        cancel_timeout_s: float = 3.0,
    ) -> None:
        self._descriptors = data_dir / "venues"
        self._fix_dir = data_dir / "fix" / "router" / sender_comp_id
        self._register = register
        self._sender = sender_comp_id
        self._heartbeat_s = heartbeat_s
        self._cancel_timeout_s = cancel_timeout_s
        self.venues: dict[str, FixVenue] = {}
        self._endpoints: dict[str, tuple[str, int]] = {}

    async def refresh(self) -> list[str]:
        """Connect to venues announced since the last look; returns the names added or moved."""
        changed = []
        for d in read_descriptors(self._descriptors):
            if self._sender not in d.clients:
                continue
            endpoint = (d.host, d.port)
            if self._endpoints.get(d.name) == endpoint:
                continue
            old = self.venues.get(d.name)
            if old is not None:
                await old.stop()
            cfg = write_initiator_settings(
                self._fix_dir / d.name,
                self._sender,
                d.sender_comp_id,
                d.host,
                d.port,
                heartbeat_s=self._heartbeat_s,
            )
            venue = FixVenue(
                d.profile(),
                cfg,
                sender_comp_id=self._sender,
                cancel_timeout_s=self._cancel_timeout_s,
            )
            await venue.start(logon_timeout_s=None)
            self.venues[d.name] = venue
            self._endpoints[d.name] = endpoint
            self._register(venue)
            changed.append(d.name)
            log.info("FIX session to venue %s at %s:%d", d.name, d.host, d.port)
        return changed

    async def wait_logged_on(self, timeout_s: float = 10.0) -> None:
        """Until every known venue's session is logged on."""
        for venue in self.venues.values():
            await venue.wait_logged_on(timeout_s)

    async def follow(self, interval_s: float = POLL_S) -> None:
        """Refresh forever (a background task)."""
        while True:
            try:
                await self.refresh()
            except Exception:  # a bad descriptor or a failing start must not stop the poller
                log.exception("venue directory refresh failed")
            await asyncio.sleep(interval_s)

    async def stop(self) -> None:
        """Stop every session (concurrently: each waits for its logout)."""
        await asyncio.gather(*(v.stop() for v in self.venues.values()), return_exceptions=True)
        self.venues.clear()
        self._endpoints.clear()
