"""An in-memory halt registry fed by ``risk.halts`` events; a :class:`HaltChecker` for the engine.

The risk service owns halts (reason, source alert, expiry); the matching engine only needs to
know, for the next order, whether its user or symbol is halted. Applying each ``Halt`` event as
it arrives makes the engine obey it from the very next command. Expiry is the risk service's
to announce (it publishes a RESUME); :meth:`HaltRegistry.expire` also drops halts whose
``expires_at_ns`` has passed, given an event time.
"""

from __future__ import annotations

from nexus.events import Halt


class HaltRegistry:
    """Current USER and SYMBOL halts, with their reasons."""

    def __init__(self) -> None:
        self._users: dict[str, Halt] = {}
        self._symbols: dict[str, Halt] = {}

    def apply(self, halt: Halt) -> None:
        """Apply one ``risk.halts`` event (HALT adds or replaces, RESUME removes)."""
        table = self._users if halt.scope == "USER" else self._symbols
        if halt.action == "HALT":
            table[halt.target] = halt
        else:
            table.pop(halt.target, None)

    def expire(self, ts_ns: int) -> list[Halt]:
        """Drop the halts whose expiry is at or before ``ts_ns`` (event time); returns them."""
        gone = []
        for table in (self._users, self._symbols):
            for target, halt in list(table.items()):
                if halt.expires_at_ns is not None and halt.expires_at_ns <= ts_ns:
                    gone.append(table.pop(target))
        return gone

    def is_halted(self, user_id: str, symbol: str) -> str | None:
        """The reason ``user_id`` may not trade ``symbol`` now, or None."""
        halt = self._symbols.get(symbol)
        if halt is not None:
            return f"symbol {symbol} halted: {halt.reason}"
        halt = self._users.get(user_id)
        if halt is not None:
            return f"user {user_id} halted: {halt.reason}"
        return None
