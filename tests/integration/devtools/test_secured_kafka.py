"""The secured local broker is secured for real: each way in takes the right credentials and refuses
wrong ones, and the authorizer lets the ACL-only user do only what it was granted.

aiokafka directly, with the options of tests/support/secured_kafka.py: how the project's own
clients are configured from WINBACK_* settings is tested with those clients.
"""

from __future__ import annotations

import asyncio
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError
from aiokafka.helpers import create_ssl_context

from streams.devtools.kafka_local import free_port
from tests.support.secured_kafka import WAYS_IN, Acl, SecuredKafka
from tests.support.topics import make_topic

pytestmark = pytest.mark.integration

SASL_WAYS_IN = [name for name, (_, mechanism) in WAYS_IN.items() if mechanism is not None]
FAILURE_DEADLINE = 10  # seconds: a refused client must know it, not retry for ever


def new_topic() -> str:
    return f"secured-{uuid.uuid4().hex[:8]}"


async def send(options: dict[str, object], topic: str, value: bytes) -> None:
    """One acknowledged record, with a producer of ``options``."""
    producer = AIOKafkaProducer(acks="all", request_timeout_ms=5000, **options)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


async def read_all(options: dict[str, object], topic: str, count: int) -> list[bytes]:
    """``count`` records of partition 0 from the beginning, without a consumer group (no group ACL needed)."""
    consumer = AIOKafkaConsumer(topic, group_id=None, auto_offset_reset="earliest", **options)
    await consumer.start()
    try:
        received: list[bytes] = []
        for _ in range(20):
            batches = await consumer.getmany(timeout_ms=500)
            received += [record.value for batch in batches.values() for record in batch]
            if len(received) >= count:
                break
        return received
    finally:
        await consumer.stop()


def winback_kafka(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams", "kafka", *args], capture_output=True, text=True, timeout=180, check=False
    )


async def refusal(options: dict[str, object], caplog: pytest.LogCaptureFixture) -> str:
    """Why a producer with ``options`` could not get in (aiokafka logs the cause, then raises a
    generic "Unable to bootstrap"); fails if it got in or took longer than the deadline."""
    producer = AIOKafkaProducer(request_timeout_ms=5000, **options)
    caplog.clear()
    try:
        async with asyncio.timeout(FAILURE_DEADLINE):
            await producer.start()
    except KafkaConnectionError as error:
        return f"{error} after {caplog.text}"
    finally:
        await producer.stop()
    raise AssertionError("the client got in")


@pytest.mark.parametrize("way_in", list(WAYS_IN))
async def test_each_way_in_round_trips_records_with_the_right_credentials(secured_kafka: SecuredKafka, way_in: str) -> None:
    topic = new_topic()
    await secured_kafka.create_topic(topic)
    options = secured_kafka.client_options(way_in)

    await send(options, topic, way_in.encode())

    assert await read_all(options, topic, 1) == [way_in.encode()]


@pytest.mark.parametrize("way_in", SASL_WAYS_IN)
async def test_a_wrong_password_is_refused(
    secured_kafka: SecuredKafka, way_in: str, caplog: pytest.LogCaptureFixture
) -> None:
    options = secured_kafka.client_options(way_in) | {"sasl_plain_password": "not-the-password"}

    why = await refusal(options, caplog)

    assert "SaslAuthenticationFailed: Authentication failed" in why


async def test_a_client_trusting_another_ca_is_refused(secured_kafka: SecuredKafka, caplog: pytest.LogCaptureFixture) -> None:
    options = secured_kafka.client_options("sasl_ssl-scram-512", cafile=secured_kafka.wrong_ca_file)

    assert "certificate verify failed: unable to get local issuer certificate" in await refusal(options, caplog)


async def test_a_host_name_the_certificate_does_not_carry_is_refused(
    secured_kafka: SecuredKafka, caplog: pytest.LogCaptureFixture
) -> None:
    options = secured_kafka.client_options("sasl_ssl-scram-512") | {"bootstrap_servers": secured_kafka.mismatched_bootstrap}

    assert "IP address mismatch, certificate is not valid for '127.0.0.2'" in await refusal(options, caplog)


async def test_the_mtls_listener_refuses_a_client_without_a_certificate(
    secured_kafka: SecuredKafka, caplog: pytest.LogCaptureFixture
) -> None:
    options = secured_kafka.client_options("ssl-mtls") | {"ssl_context": create_ssl_context(cafile=secured_kafka.ca_file)}

    assert f"Connection at {secured_kafka.bootstrap('ssl-mtls')} closed" in await refusal(options, caplog)


@pytest.mark.parametrize("way_in", ["sasl_ssl-scram-512", "ssl-mtls"])
async def test_the_worker_user_may_only_do_what_acls_grant(secured_kafka: SecuredKafka, way_in: str) -> None:
    topic = new_topic()
    await secured_kafka.create_topic(topic)
    worker = secured_kafka.client_options(way_in, user="worker")

    with pytest.raises(TopicAuthorizationFailedError):
        await send(worker, topic, b"not allowed yet")
    await send(secured_kafka.client_options(way_in, user="admin"), topic, b"from admin")
    await secured_kafka.grant("User:worker", [Acl("topic", topic, "Write"), Acl("topic", topic, "Read")])
    await send(worker, topic, b"from worker")

    assert await read_all(worker, topic, 2) == [b"from admin", b"from worker"]


def printed_settings(output: str) -> dict[str, str]:
    """The ``export NAME=VALUE`` lines of ``winback kafka start --security``, as a shell would read them."""
    pairs = [shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in output.splitlines()]
    return {name: value for name, value in pairs}


def aiokafka_options_from(settings: dict[str, str]) -> dict[str, object]:
    """What a client makes of the printed settings; the project's own clients do this in streams/runtime."""
    options: dict[str, object] = {
        "bootstrap_servers": settings["WINBACK_BROKER"], "security_protocol": settings["WINBACK_SECURITY_PROTOCOL"]
    }
    if "WINBACK_SASL_MECHANISM" in settings:
        options |= {
            "sasl_mechanism": settings["WINBACK_SASL_MECHANISM"],
            "sasl_plain_username": settings["WINBACK_SASL_USERNAME"],
            "sasl_plain_password": Path(settings["WINBACK_SASL_PASSWORD_FILE"]).read_text().strip(),
        }
    options["ssl_context"] = create_ssl_context(
        cafile=settings["WINBACK_SSL_CAFILE"],
        certfile=settings.get("WINBACK_SSL_CERTFILE"),
        keyfile=settings.get("WINBACK_SSL_KEYFILE"),
    )
    return options


@pytest.mark.parametrize(
    ("security", "names"),
    [
        ("sasl_ssl", {"WINBACK_SASL_MECHANISM", "WINBACK_SASL_USERNAME", "WINBACK_SASL_PASSWORD_FILE", "WINBACK_SSL_CAFILE"}),
        ("ssl", {"WINBACK_SSL_CAFILE", "WINBACK_SSL_CERTFILE", "WINBACK_SSL_KEYFILE"}),
    ],
)
async def test_cli_prints_settings_that_connect_and_no_secret(tmp_path: Path, security: str, names: set[str]) -> None:
    data_dir = tmp_path / "kafka"
    started = winback_kafka("start", "--security", security, "--port", str(free_port()), "--data-dir", str(data_dir))
    try:
        assert started.returncode == 0, started.stderr
        settings = printed_settings(started.stdout)
        assert set(settings) == {"WINBACK_BROKER", "WINBACK_SECURITY_PROTOCOL", *names}
        assert settings["WINBACK_SECURITY_PROTOCOL"] == security.upper()
        passwords = [path.read_text().strip() for path in (data_dir / "secrets").glob("*.password")]
        assert not [password for password in passwords if password in started.stdout + started.stderr]

        options, topic = aiokafka_options_from(settings), new_topic()
        await make_topic(options, topic)  # not auto-created: the app's clients turn that off process-wide
        await send(options, topic, b"over the printed settings")
        assert await read_all(options, topic, 1) == [b"over the printed settings"]
    finally:
        winback_kafka("stop", "--data-dir", str(data_dir))
