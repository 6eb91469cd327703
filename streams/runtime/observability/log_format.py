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

At debug level the Kafka clients log what they send and receive: Faust and aiokafka each
record's key and value, aiokafka every protocol message whole (record batches of customer
events, a SASL PLAIN login's password).  ``filter_worker_logs`` keeps those lines but
replaces their contents by the kind and size of what went by: debug output names no
customer and holds no secret (the redaction of output, ``streams.runtime.redaction``, only
finds a secret written as it is, not escaped inside a ``repr``).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any, Literal

from aiohttp.http_exceptions import HttpProcessingError

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


# The Kafka clients' debug lines that carry record contents: format -> the positions of the
# arguments that hold them.  Faust's topic and producer log a send alike.
_SEND = "send: topic=%r k=%r v=%r timestamp=%r partition=%r"
_CONTENTS = {
    _SEND: (1, 2),
    "Sending (key=%s value=%s) to %s": (0, 1),  # aiokafka's producer
    "Request to %s:%d %d: %s": (3,),  # aiokafka's connection: the whole request ...
    "Response from %s:%d %d: %s": (3,),  # ... and the whole response
}
_CONTENT_LOGGERS = ("faust.topics", "faust.transport.drivers.aiokafka", "aiokafka.producer.producer", "aiokafka.conn")


class WithoutRecordContents(logging.Filter):
    """Replaces the record contents of the Kafka clients' debug lines by what they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        positions = _CONTENTS.get(record.msg) if isinstance(record.msg, str) else None
        if positions and isinstance(record.args, tuple):
            record.args = tuple(_kind(arg) if index in positions else arg for index, arg in enumerate(record.args))
        return True


def _kind(content: Any) -> str | None:
    """What ``content`` is without what it says: ``<12 bytes>``, a protocol message's name, None."""
    if content is None:
        return None
    if isinstance(content, (bytes, bytearray)):
        return f"<{len(content)} bytes>"
    return type(content).__name__


_HIDE = WithoutRecordContents()
_WEB_SERVER_LOGGER = "aiohttp.server"
_REQUEST_ERROR = "Error handling request from %s"  # aiohttp's web_protocol.handle_error


class ClientErrorsAtDebug(logging.Filter):
    """A request the client got wrong (a 4xx: a line or header too long, too many headers) is
    logged at debug level, as aiohttp itself logs a bad method: anyone who can reach the port
    would otherwise write ERROR lines with a traceback, which error-log alerts page on."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if record.msg != _REQUEST_ERROR or not isinstance(error, HttpProcessingError) or not 400 <= error.code < 500:
            return True
        if not logging.getLogger(_WEB_SERVER_LOGGER).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return True


_CLIENT_ERRORS = ClientErrorsAtDebug()


def filter_worker_logs() -> None:
    """Filter the worker's loggers (once): the Kafka clients' debug lines that carry record
    contents, and the web server's errors that are the client's."""
    for name in _CONTENT_LOGGERS:
        logging.getLogger(name).addFilter(_HIDE)
    logging.getLogger(_WEB_SERVER_LOGGER).addFilter(_CLIENT_ERRORS)


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
