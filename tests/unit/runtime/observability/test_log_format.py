"""JSON-lines logs: one object per record with stable keys and the call site's extra fields."""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import logging

import aiohttp.web_protocol
import aiokafka.conn
import aiokafka.producer.producer
import faust.topics
import faust.transport.drivers.aiokafka
import pytest
from aiohttp import web
from aiokafka.protocol.admin import SaslAuthenticateRequest_v1
from aiokafka.structs import TopicPartition
from mode.utils.logging import setup_logging

from streams.runtime.observability import log_format
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


def debug_line(logger_name: str, message: str, *args: object) -> str:
    """What ``logger_name`` writes for a debug call, once the worker hid record contents."""
    logger = logging.getLogger(logger_name)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    saved = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        log_format.filter_worker_logs()
        logger.debug(message, *args)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved)
        _without_worker_filters()
    return stream.getvalue()


def _without_worker_filters() -> None:
    """Take ``filter_worker_logs``' filters off again, so no other test's logs pass through them."""
    for name in log_format._CONTENT_LOGGERS:
        logging.getLogger(name).removeFilter(log_format._HIDE)
    logging.getLogger(log_format._WEB_SERVER_LOGGER).removeFilter(log_format._CLIENT_ERRORS)


def test_debug_lines_of_the_kafka_clients_name_no_customer_and_no_password():
    """At WINBACK_LOG_LEVEL=debug Faust and aiokafka logged every record's key and value and every
    protocol message whole: customer ids and events, and a SASL PLAIN login's password, in a
    repr that escapes what the redaction of output looks for."""
    key, value = b"cust-0000042", b'{"customer_id":"cust-0000042","comment":"too pricey"}'
    send = debug_line("faust.topics", log_format._SEND, "winback.dead-letters", key, value, None, 3)
    assert send == "send: topic='winback.dead-letters' k='<12 bytes>' v='<53 bytes>' timestamp=None partition=3\n"
    sending = debug_line(
        "aiokafka.producer.producer", "Sending (key=%s value=%s) to %s", key, value, TopicPartition("shop.purchases", 1)
    )
    assert "cust-" not in sending and "<53 bytes>" in sending
    login = SaslAuthenticateRequest_v1(b"\x00winback\x00p\xc3\xa4ss'w0rd")
    request = debug_line("aiokafka.conn", "Request to %s:%d %d: %s", "kafka-1", 9092, 3, login)
    assert request == "Request to kafka-1:9092 3: SaslAuthenticateRequest_v1\n"


def test_the_hidden_formats_are_the_ones_the_installed_clients_log():
    """A release of Faust or aiokafka that words these lines otherwise must fail here, not leak."""
    sources = {
        "faust.topics": inspect.getsource(faust.topics),
        "faust.transport.drivers.aiokafka": inspect.getsource(faust.transport.drivers.aiokafka),
        "aiokafka.producer.producer": inspect.getsource(aiokafka.producer.producer),
        "aiokafka.conn": inspect.getsource(aiokafka.conn),
    }
    assert set(sources) == set(log_format._CONTENT_LOGGERS)
    for message in log_format._CONTENTS:
        assert any(f'"{message}"' in source for source in sources.values()), message


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _request_with_a_too_long_line(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    """The web server's log records, at ``level``, of a request whose line is longer than aiohttp reads."""
    app = web.Application()
    app.router.add_get("/metrics", _ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - the port the OS chose
    log_format.filter_worker_logs()
    try:
        with caplog.at_level(level, logger=log_format._WEB_SERVER_LOGGER):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /" + b"x" * 9000 + b" HTTP/1.1\r\nHost: worker\r\n\r\n")
            status = await reader.readline()
            writer.close()
    finally:
        _without_worker_filters()
        await runner.cleanup()
    assert b" 400 " in status, status
    return [record for record in caplog.records if record.name == log_format._WEB_SERVER_LOGGER]


async def test_a_request_the_client_got_wrong_is_no_error_in_the_log(caplog):
    """aiohttp logs a too-long request line at ERROR with a traceback: anyone who reaches the
    port could fill the log and page on-call; the worker logs it only at debug level."""
    assert await _request_with_a_too_long_line(caplog, logging.INFO) == []
    [record] = await _request_with_a_too_long_line(caplog, logging.DEBUG)
    assert (record.levelname, record.msg) == ("DEBUG", log_format._REQUEST_ERROR)


def test_the_web_server_s_error_line_is_the_one_the_installed_aiohttp_logs():
    assert f'"{log_format._REQUEST_ERROR}"' in inspect.getsource(aiohttp.web_protocol)
