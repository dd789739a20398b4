"""PostgreSQL access of the matching service: engine sessions (the id namespace of each run).

The books themselves live in memory (see :mod:`services.matching.service`); what must survive
a restart is only the knowledge of which ids were already handed out, which one row per start
records.
"""

from __future__ import annotations

from nexus.store import Database

OPEN_SESSION = "INSERT INTO engine_sessions (venue) VALUES ($1) RETURNING session"


class SessionStore:
    """The ``engine_sessions`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def open_session(self, venue: str) -> int:
        """Record a start of ``venue``'s engine; returns its session number (1, 2, ...)."""
        session: int = await self._db.pool.fetchval(OPEN_SESSION, venue)
        return session
