"""Which of a worker's ACLs (``streams.admin.acls``) the connected principal lacks, asked from the broker.

A worker without one of them would start, then fail somewhere inside Faust (a group join
refused, a write refused) with a traceback or a retry loop.  So before it starts, the worker
asks the broker what it may do, with requests that change nothing, and compares that with
what it needs:

- Read and Write on topics: the Metadata request's ``topic_authorized_operations`` (KIP-430).
  A topic the principal may not even Describe is hidden: it lacks both (each implies Describe).
- DescribeConfigs on topics: a DescribeConfigs request for no config at all, refused per topic.
- Read on the group: DescribeGroups' ``authorized_operations`` (KIP-430).

A broker without an authorizer allows everything, and says so.  aiokafka asks for no
authorized operations: the two requests that do are ``streams.admin.authorized_operations``.
"""

from __future__ import annotations

import asyncio

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    IncompatibleBrokerVersion,
    KafkaError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
    for_code,
)
from aiokafka.protocol.admin import DescribeConfigsRequest

from streams.admin.acls import Acl, Operation, worker_acls
from streams.admin.authorized_operations import AuthorizedDescribeGroupsRequest, AuthorizedMetadataRequest
from streams.runtime.connection import client_options
from streams.runtime.settings import Settings

GROUP_COORDINATOR = 0
COORDINATOR_PAUSE_SECONDS = 0.2
TOPIC_CONFIGS = 2  # DescribeConfigs' resource type of a topic
READ_BIT, WRITE_BIT = 3, 4  # Kafka's AclOperation codes, the bits of an authorized-operations field
OPERATIONS_NOT_GIVEN = -(2**31)  # Kafka's value for authorized operations a broker did not compute

Resource = tuple[str, str]  # (resource type, name), as in ``Acl``


async def missing_acls(settings: Settings) -> list[Acl]:
    """The ACLs a worker with these settings needs and the broker refuses its principal, in
    ``worker_acls`` order.  A topic that does not exist is left to the topics check; what a
    broker cannot tell (one older than Kafka 2.3, or one that does not compute authorized
    operations) is taken as allowed: its first refusal then comes from the running worker."""
    acls = worker_acls(settings)
    topics = sorted({acl.resource_name for acl in acls if acl.resource_type == "TOPIC"})
    client = AIOKafkaClient(
        **client_options(settings),
        client_id=f"{settings.app_id}-permissions",
        request_timeout_ms=round(settings.broker_timeout * 1000),
    )
    await client.bootstrap()
    try:
        allowed = await _allowed(client, topics, settings)
    except (IncompatibleBrokerVersion, NotImplementedError):  # a broker before Kafka 2.3: none of these requests
        return []
    finally:
        await client.close()
    return [acl for acl in acls if acl.operation not in allowed.get((acl.resource_type, acl.resource_name), {acl.operation})]


async def _allowed(client: AIOKafkaClient, topics: list[str], settings: Settings) -> dict[Resource, set[Operation]]:
    """Resource -> what the principal may do there, of what a worker needs."""
    allowed = await _topic_operations(client, topics)
    for name in await _configs_refused(client, topics):
        allowed.get(("TOPIC", name), set()).discard("DESCRIBE_CONFIGS")
    allowed[("GROUP", settings.app_id)] = _operations(await _group_operations(client, settings.app_id, settings.broker_timeout))
    return allowed


async def _topic_operations(client: AIOKafkaClient, names: list[str]) -> dict[Resource, set[Operation]]:
    """(``"TOPIC"``, name) -> what the principal may do of Read, Write and DescribeConfigs (the
    last one until ``_configs_refused`` says otherwise); topics the broker does not know are left out."""
    response = await client.send(client.get_random_node(), AuthorizedMetadataRequest(names))
    allowed: dict[Resource, set[Operation]] = {}
    for topic in response.to_object()["topics"]:
        if topic["error_code"] == TopicAuthorizationFailedError.errno:
            allowed[("TOPIC", topic["name"])] = {"DESCRIBE_CONFIGS"}
        elif topic["error_code"] != UnknownTopicOrPartitionError.errno:
            allowed[("TOPIC", topic["name"])] = {*_operations(topic["topic_authorized_operations"]), "DESCRIBE_CONFIGS"}
    return allowed


async def _configs_refused(client: AIOKafkaClient, names: list[str]) -> set[str]:
    """The topics whose configs the principal may not read (asking for none of their configs)."""
    response = await client.send(client.get_random_node(), DescribeConfigsRequest([(TOPIC_CONFIGS, name, []) for name in names]))
    return {
        resource["resource_name"]
        for resource in response.to_object()["resources"]
        if resource["error_code"] == TopicAuthorizationFailedError.errno
    }


def _operations(authorized: int) -> set[Operation]:
    """Read and Write, where set in an authorized-operations bit field (both where the broker left it unset)."""
    if authorized == OPERATIONS_NOT_GIVEN:
        return {"READ", "WRITE"}
    return {operation for operation, bit in (("READ", READ_BIT), ("WRITE", WRITE_BIT)) if authorized >> bit & 1}


async def _group_operations(client: AIOKafkaClient, group: str, timeout: float) -> int:
    """Bit field of the operations the principal may do on the consumer group (0: not even Describe).

    Asked again while the broker is still electing or loading the group's coordinator (a new
    cluster creates its offsets topic on the first lookup), for at most ``timeout`` seconds.
    """
    async with asyncio.timeout(timeout):
        while True:
            try:
                return await _described_group_operations(client, group)
            except GroupAuthorizationFailedError:
                return 0
            except KafkaError as error:
                if not error.retriable:
                    raise
            await asyncio.sleep(COORDINATOR_PAUSE_SECONDS)


async def _described_group_operations(client: AIOKafkaClient, group: str) -> int:
    coordinator = await client.coordinator_lookup(GROUP_COORDINATOR, group)
    response = await client.send(coordinator, AuthorizedDescribeGroupsRequest([group]))
    [described] = response.to_object()["groups"]
    if described["error_code"]:
        raise for_code(described["error_code"])(f"cannot describe group {group}")
    return int(described["authorized_operations"])
