"""Risk domain core: halt commands in, ``risk.halts`` events out (no I/O)."""

from services.risk.core.registry import (
    HaltCommand,
    HaltRegistry,
    NotHalted,
    ResumeCommand,
    StaleResume,
    halt_id_for_alert,
)

__all__ = [
    "HaltCommand",
    "HaltRegistry",
    "NotHalted",
    "ResumeCommand",
    "StaleResume",
    "halt_id_for_alert",
]
