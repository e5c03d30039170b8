"""Structured logs: one JSON object per line on stdout.

How it works: ``configure_logging`` installs a single handler on the root
logger whose formatter turns each ``logging.LogRecord`` into a JSON line with
``time``, ``level``, ``logger`` and ``msg``, plus any fields passed through
``extra=``.  Levels use the reference product's names (trace, debug, info,
warn, error, fatal); ``trace`` sits below ``debug``.

Rules it keeps: a log line is always one line of valid JSON, whatever the
message holds; callers pass structured fields through ``extra`` rather than
formatting them into the message; nothing here ever receives a secret
(redaction is the caller's job, at the source).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = ["TRACE", "JsonLineFormatter", "configure_logging"]

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

_LEVELS = {
    "trace": TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
}
_NAMES = {TRACE: "trace", logging.WARNING: "warn", logging.CRITICAL: "fatal"}
# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonLineFormatter(logging.Formatter):
    """Formats a record as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": _NAMES.get(record.levelno, record.levelname.lower()),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["err"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """Send every log record at ``level`` or above to ``stream`` (stdout) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS[level])
