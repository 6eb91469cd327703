"""The least-privilege ACLs a worker's Kafka principal needs, derived from the settings.

Each ACL is there because of a request the worker makes (no broker is asked: this is what an
operator grants before the first start, ``winback topics ensure --print-acls``):

- input topics: Fetch and OffsetCommit need Read; the start check reads every topic's configs
  (``streams.admin.topics.check_topics``), which needs DescribeConfigs.
- internal topics (events, due ticks) and the activity table's changelog: the worker writes
  and reads them back (Write, Read, DescribeConfigs).  No Create: nothing but ``winback topics
  ensure``, run by an operator, creates a topic.
- output topics and the dead letters: Write (and DescribeConfigs).
- the consumer group ``WINBACK_APP_ID``: Read (JoinGroup, SyncGroup, Heartbeat, OffsetCommit);
  the lag watcher's OffsetFetch of that group needs Describe, which Read implies.  The lag
  watcher's own consumer joins no group.
- nothing on the cluster: the producer is neither idempotent nor transactional (at-least-once
  with deterministic ids), so no IdempotentWrite; were it idempotent, Write on a topic implies
  IdempotentWrite since Kafka 2.8 (KIP-679).

Kafka lets Read and Write imply Describe (metadata, ListOffsets), so Describe is never listed.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass
from typing import Literal

from streams.admin.topics import changelog_topic, required_topics
from streams.runtime.settings import Settings

ResourceType = Literal["TOPIC", "GROUP"]
Operation = Literal["READ", "WRITE", "DESCRIBE_CONFIGS"]
KAFKA_ACLS_OPERATION = {"READ": "Read", "WRITE": "Write", "DESCRIBE_CONFIGS": "DescribeConfigs"}
KAFKA_ACLS_RESOURCE = {"TOPIC": "--topic", "GROUP": "--group"}

CHECKED = "the start check reads its configs"


@dataclass(frozen=True)
class Acl:
    """One ALLOW binding on a literal resource name, and why the worker needs it."""

    resource_type: ResourceType
    resource_name: str
    operation: Operation
    why: str


def worker_acls(settings: Settings) -> list[Acl]:
    """Every ACL a worker with these settings needs: its topics in the order ``winback topics
    ensure`` lists them (each with DescribeConfigs for the start check), then its group."""
    roles = _topic_roles(settings)
    topics = [acl for spec in required_topics(settings) for acl in _topic_acls(spec.name, *roles[spec.name])]
    group = Acl("GROUP", settings.app_id, "READ", "the consumer group: join, heartbeat, commit and fetch offsets")
    return [*topics, group]


def _topic_roles(settings: Settings) -> dict[str, tuple[tuple[Operation, ...], str]]:
    """Topic -> what the worker does with it and why."""
    roles: dict[str, tuple[tuple[Operation, ...], str]] = {
        name: (("READ",), f"input ({kind} records): consumed") for kind, name in settings.input_topics.items()
    }
    roles |= {name: (("WRITE",), "output: the engine's records are published") for name in settings.output_topics}
    roles[settings.topic_dead_letters] = ("WRITE",), "output: rejected input, with the reason"
    roles[settings.topic_customer_stage] = ("WRITE",), "output: each customer's current stage (compacted)"
    roles[settings.topic_events] = ("READ", "WRITE"), "internal: ingest writes validated events, the customers agent reads them"
    roles[settings.topic_due] = ("READ", "WRITE"), "internal: the scheduler writes due customers, the customers agent reads them"
    roles[changelog_topic(settings)] = ("READ", "WRITE"), "the activity table's changelog: written on every change, read to recover"
    return roles


def kafka_acls_commands(acls: list[Acl], principal: str, bootstrap: str) -> list[str]:
    """The ``kafka-acls.sh`` command lines that grant ``acls`` to ``principal``: one per resource,
    after a comment saying why.  ``admin.properties`` stands for the operator's client config."""
    lines: list[str] = []
    for resource, granted in _by_resource(acls).items():
        resource_type, name = resource
        operations = [word for acl in granted for word in ("--operation", KAFKA_ACLS_OPERATION[acl.operation])]
        words = [
            "kafka-acls.sh", "--bootstrap-server", bootstrap, "--command-config", "admin.properties", "--add",
            "--allow-principal", principal, KAFKA_ACLS_RESOURCE[resource_type], name, *operations,
        ]  # fmt: skip
        lines.append("# " + "; ".join(dict.fromkeys(acl.why for acl in granted)))
        lines.append(shlex.join(words))
    return lines


def acls_json(acls: list[Acl], principal: str) -> str:
    """The ACLs as JSON bindings (Kafka's Admin API names), for tools that apply them."""
    bindings = [{**asdict(acl), "pattern_type": "LITERAL", "permission": "ALLOW", "host": "*"} for acl in acls]
    return json.dumps({"principal": principal, "acls": bindings}, indent=2)


def _topic_acls(name: str, operations: tuple[Operation, ...], why: str) -> list[Acl]:
    """``operations`` on one topic, and DescribeConfigs for the start check."""
    return [*(Acl("TOPIC", name, operation, why) for operation in operations), Acl("TOPIC", name, "DESCRIBE_CONFIGS", CHECKED)]


def _by_resource(acls: list[Acl]) -> dict[tuple[ResourceType, str], list[Acl]]:
    grouped: dict[tuple[ResourceType, str], list[Acl]] = {}
    for acl in acls:
        grouped.setdefault((acl.resource_type, acl.resource_name), []).append(acl)
    return grouped
