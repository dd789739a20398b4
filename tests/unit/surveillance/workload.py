"""A realistic audit-line workload for the surveillance benchmarks and performance gates."""

from __future__ import annotations

import functools

from nexus.sim import simulate
from nexus.sim.audit import iter_audit_lines
from nexus.sim.profiles import realistic_config
from services.surveillance.core.normalise import Ev, normalise


@functools.cache
def audit_lines(symbols: int = 4, seconds: float = 30.0, seed: int = 3) -> tuple[bytes, ...]:
    """Audit JSON lines of a realistic run (episodes and legitimate look-alikes on)."""
    result = simulate(realistic_config(seed, symbols, 200, seconds))
    out: list[bytes] = []
    for block in iter_audit_lines(result.iter_chunks()):
        out.extend(block.splitlines())
    return tuple(out)


def owners(seed: int = 3, symbols: int = 4, seconds: float = 30.0) -> dict[str, str]:
    """Account -> beneficial owner of that run."""
    result = simulate(realistic_config(seed, symbols, 200, seconds))
    return {a: u.beneficial_owner for u in result.population.users for a in u.accounts}


def events(symbols: int = 4, seconds: float = 30.0, seed: int = 3) -> list[Ev]:
    """The same run normalised (parsing excluded from what is measured)."""
    out = [normalise(x) for x in audit_lines(symbols, seconds, seed)]
    return [e for e in out if e is not None]
