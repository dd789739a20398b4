"""Structured JSON logs: one object per line with the correlation id of the request."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from nexus.web.codec import encode_json

#: LogRecord attributes that are not user-supplied ``extra`` fields.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """Format records as JSON: ts (UTC ISO 8601), level, logger, msg, extras, exc."""

    _second = -1
    _stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        """One JSON line for ``record``."""
        second = int(record.created)
        if second != self._second:
            # one strftime per second, not per record: the access log is on the hot path
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        out: dict[str, Any] = {
            "ts": f"{self._stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key[0] != "_":
                out[key] = value if isinstance(value, _PLAIN) else str(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return encode_json(out).decode()


_PLAIN = (str, int, float, bool, type(None))


def configure_logging(level: str = "INFO", *, stream: Any = None) -> None:
    """Send every log record to ``stream`` (stderr) as JSON lines at ``level``."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
