"""JSON-lines logs: one object per record with stable keys and the call site's extra fields."""

from __future__ import annotations

import io
import json
import logging

import pytest
from mode.utils.logging import setup_logging

from streams.runtime.observability.log_format import JsonLines, worker_options
from streams.runtime.settings import Settings


def formatted(logger: logging.Logger, emit) -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    logger.addHandler(handler)
    try:
        emit()
    finally:
        logger.removeHandler(handler)
    [line] = stream.getvalue().splitlines()
    return json.loads(line)


def test_a_record_is_one_json_line_with_the_stable_keys_and_its_extra_fields():
    log = logging.getLogger("streams.runtime.agents")
    entry = formatted(log, lambda: log.warning(
        "dead-lettered %s:%d", "shop.purchases", 3, extra={"type": "purchase", "reason": "malformed_json"}
    ))
    assert entry.pop("ts").endswith("+00:00")
    assert entry == {
        "level": "warning", "logger": "streams.runtime.agents", "message": "dead-lettered shop.purchases:3",
        "type": "purchase", "reason": "malformed_json",
    }


def test_an_exception_is_kept_in_the_same_line():
    log = logging.getLogger("streams.test")

    def fail() -> None:
        try:
            raise ValueError("bad\nvalue")
        except ValueError:
            log.exception("it broke")

    entry = formatted(log, fail)
    assert entry["level"] == "error" and entry["message"] == "it broke"
    assert "ValueError: bad\nvalue" in entry["exception"]


def test_text_leaves_faust_alone_and_json_is_what_mode_configures_the_worker_with(capsys: pytest.CaptureFixture):
    """The same call faust.Worker makes at start-up, with the options the json format gives it."""
    assert worker_options("text") == {}
    options = worker_options("json")
    assert options["quiet"] is True  # the console banner is not JSON
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging(loglevel="info", logging_config=options["logging_config"])
        logging.getLogger("faust.worker").info("[^Worker]: Ready")
        logging.getLogger("faust.worker").debug("below the level")
    finally:
        root.handlers[:], root.level = saved
    [line] = capsys.readouterr().err.splitlines()
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["message"]) == ("info", "faust.worker", "[^Worker]: Ready")


def test_the_setting_accepts_text_and_json_only():
    assert Settings(log_format="json").log_format == "json"
    with pytest.raises(ValueError, match="'text' or 'json'"):
        Settings(log_format="xml")
