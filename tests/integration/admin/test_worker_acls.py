"""Least privilege on a real secured broker (KRaft StandardAuthorizer, nothing allowed without an
ACL): the ``worker`` user holding exactly the ACLs ``winback topics ensure --print-acls`` prints
runs a worker end to end over SASL_SSL SCRAM-SHA-512, and without one of them the worker stops
at its start with one line naming what is missing.  One broker for the whole file.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from click.testing import CliRunner

from streams.admin.acls import KAFKA_ACLS_OPERATION
from streams.cli import main
from streams.devtools.publisher import publish
from streams.devtools.spawn import FAST_GROUP, WorkerProcess
from streams.admin.topics import changelog_topic
from streams.model.records import command_id, trigger_id
from streams.runtime.connection import client_options
from streams.runtime.settings import Settings
from tests.support.commands import run_winback
from tests.support.kafka_io import published_id
from tests.support.scenarios import CLOCK, EXPECTED_COMMANDS, EXPECTED_TRIGGERS, HISTORIES
from tests.support.secured_kafka import Acl, SecuredKafka

pytestmark = pytest.mark.integration
WAY_IN = "sasl_ssl-scram-512"
CUSTOMERS = ["fresh", "lapsed-40", "lapsed-100"]  # one event per topic each: any arrival order gives the same records
EXPECTED = [
    *(trigger_id(customer, campaign, 0) for customer, campaign in [("lapsed-40", "reactivation"), ("lapsed-100", "reactivation"), ("lapsed-100", "winback")]),
    *(command_id("lapsed-40", "reactivation", step, 0) for step in (0, 1)),
    *(command_id("lapsed-100", "reactivation", step, 0) for step in (0, 1)),
    *(command_id("lapsed-100", "winback", step, 0) for step in (0, 1, 2)),
]


def namespaced(env: dict[str, str], space: str) -> dict[str, str]:
    """``env`` with topic names and an app id (consumer group) no other test of the file uses."""
    topics = {f"WINBACK_{name.upper()}": f"{space}.{name.removeprefix('topic_')}" for name in Settings.model_fields if name.startswith("topic_")}
    return {**env, **topics, "WINBACK_APP_ID": f"winback-{space}", "WINBACK_PARTITIONS": "2", **FAST_GROUP}


def settings_of(env: dict[str, str]) -> Settings:
    return Settings(**{name.removeprefix("WINBACK_").lower(): value for name, value in env.items()})


def winback(args: list[str], env: dict[str, str]) -> str:
    """``winback ARGS`` in this process; its standard output (the test fails on a non-zero exit)."""
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def printed_acls(worker_env: dict[str, str]) -> list[Acl]:
    """What `winback topics ensure --print-acls --format json` prints for the worker, as rules to grant."""
    bindings = json.loads(winback(["topics", "ensure", "--print-acls", "--format", "json"], worker_env))
    assert bindings["principal"] == "User:worker"  # WINBACK_SASL_USERNAME
    return [Acl(binding["resource_type"].lower(), binding["resource_name"], KAFKA_ACLS_OPERATION[binding["operation"]]) for binding in bindings["acls"]]


def prepared(secured_kafka: SecuredKafka, leave_out: Callable[[Settings], tuple[str, str, str]] | None = None) -> dict[str, str]:
    """A fresh namespace: its topics ensured by ``admin``, then the worker granted every ACL
    `--print-acls` prints but the one ``leave_out`` names (operation, resource type, name); the
    worker's environment."""
    space = f"acl-{uuid.uuid4().hex[:8]}"
    worker_env = namespaced(secured_kafka.env(WAY_IN, "worker"), space)
    winback(["topics", "ensure"], namespaced(secured_kafka.env(WAY_IN, "admin"), space))
    left_out = leave_out(settings_of(worker_env)) if leave_out else None
    acls = [acl for acl in printed_acls(worker_env) if (acl.operation, acl.resource_type, acl.name) != left_out]
    asyncio.run(secured_kafka.grant("User:worker", acls))
    return worker_env


async def read_outputs(settings: Settings, count: int, timeout: float) -> list[str]:
    """The ids of the triggers and commands from the start of their topics, once ``count`` arrived
    (TimeoutError after ``timeout`` seconds)."""
    topics = [settings.topic_triggers, *settings.command_topics.values()]
    consumer = AIOKafkaConsumer(*topics, **client_options(settings), auto_offset_reset="earliest", enable_auto_commit=False)
    records = []
    await consumer.start()
    try:
        async with asyncio.timeout(timeout):
            while len(records) < count:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    records.extend(batch)
    finally:
        await consumer.stop()
    return [published_id(record) for record in records]


def test_the_worker_runs_end_to_end_with_exactly_the_printed_acls(secured_kafka: SecuredKafka, tmp_path: Path):
    worker_env = prepared(secured_kafka)
    admin = settings_of({**worker_env, **secured_kafka.env(WAY_IN, "admin")})
    worker = WorkerProcess({**worker_env, "WINBACK_CLOCK": CLOCK, "WINBACK_TICK_SECONDS": "0.2"}, tmp_path)
    try:
        worker.start()
        asyncio.run(publish(admin, [event for customer in CUSTOMERS for event in HISTORIES[customer]]))
        published = asyncio.run(read_outputs(admin, len(EXPECTED), timeout=60))

        assert sorted(published) == sorted(EXPECTED)
        assert set(EXPECTED) <= EXPECTED_TRIGGERS | EXPECTED_COMMANDS  # what the pipeline test expects of these customers
        worker.stop()
        worker.start()  # recovers the table from its changelog (Read), rebuilds the due index: nothing fires again
        with pytest.raises(TimeoutError):
            asyncio.run(read_outputs(admin, len(EXPECTED) + 1, timeout=5))
        assert worker.alive(), worker.tail()
        assert secured_kafka.password_file("worker").read_text().strip() not in worker.log_path.read_text()
    finally:
        if worker.alive():
            worker.kill()


LEFT_OUT = {
    "group-read": lambda settings: ("Read", "group", settings.app_id),
    "command-topic-write": lambda settings: ("Write", "topic", settings.topic_commands_sms),
    "changelog-describe-configs": lambda settings: ("DescribeConfigs", "topic", changelog_topic(settings)),
}


@pytest.mark.parametrize("left_out", LEFT_OUT)
def test_without_one_printed_acl_the_worker_stops_at_once_naming_it(secured_kafka: SecuredKafka, left_out: str, report):
    worker_env = prepared(secured_kafka, LEFT_OUT[left_out])

    run = run_winback(["worker"], worker_env, timeout=30)  # a worker that started anyway would run until killed here
    report(seconds=round(run.seconds, 1))  # 0.6-3 s on a quiet machine, ~11 s under a load of 25 on 2 cores

    operation, resource_type, name = LEFT_OUT[left_out](settings_of(worker_env))
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == (
        f"winback: cannot start the worker on {worker_env['WINBACK_BROKER']}: the broker denies its Kafka principal "
        f"{operation} on {resource_type} {name}. `winback topics ensure --print-acls` prints the ACLs an operator grants it\n"
    )


def test_the_worker_s_principal_cannot_create_topics_and_is_told_so_in_one_line(secured_kafka: SecuredKafka):
    worker_env = namespaced(secured_kafka.env(WAY_IN, "worker"), f"acl-{uuid.uuid4().hex[:8]}")

    run = run_winback(["topics", "ensure"], worker_env, timeout=30)

    assert run.returncode == 1
    [line] = run.stderr.splitlines()
    assert line.startswith(f"winback: cannot administer topics on {worker_env['WINBACK_BROKER']}: the broker denies this Kafka principal access to a topic (")
    assert "`winback topics ensure --print-acls` lists what a worker needs, docs/security.md what an operator needs" in line
