"""Worker log output: Faust's human-readable text, or JSON lines for log pipelines.

Faust (through ``mode``) replaces the root logger's handlers when its worker starts, so a
handler configured beforehand would be dropped; the JSON format is therefore handed to
``faust.Worker`` as a ``logging_config`` that ``mode`` merges into its own, replacing the
formatter of its one "default" handler and keeping its levels.  The worker's console banner
(plain text) is switched off with it, so every line of output is one JSON object.

Each line has the stable keys ``ts`` (RFC 3339, UTC, milliseconds), ``level``, ``logger`` and
``message``, an ``exception`` when there is one, and the fields a call site passes with
``extra=`` (for example ``type`` and ``reason`` of a dead letter, named like the labels of
the metrics that count the same thing).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any, Literal

LogFormat = Literal["text", "json"]

# Everything a LogRecord carries by itself; any other attribute came from ``extra=``.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_MODE_FIELDS = frozenset({"extra", "data"})  # what mode's formatters add to every record


class JsonLines(logging.Formatter):
    """One JSON object per record: ts, level, logger, message, the ``extra`` fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in _MODE_FIELDS and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def worker_options(log_format: LogFormat) -> dict[str, Any]:
    """Keyword arguments for ``faust.Worker`` that give it this log format."""
    if log_format == "text":
        return {}
    return {
        "quiet": True,
        "logging_config": {
            "version": 1,
            "merge": True,
            "formatters": {"json": {"()": JsonLines}},
            "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        },
    }
