"""Preparing and inspecting a test's topics with an admin client of the test's own, independent
of the code under test (`winback topics ensure`, a worker's start check)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

T = TypeVar("T")


Connection = str | dict[str, Any]  # a plaintext broker's host:port, or a secured one's aiokafka options


async def admin_call(connection: Connection, call: Callable[[AIOKafkaAdminClient], Awaitable[T]]) -> T:
    options = {"bootstrap_servers": connection} if isinstance(connection, str) else connection
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        return await call(admin)
    finally:
        await admin.close()


async def make_topic(connection: Connection, name: str, partitions: int = 1, config: dict[str, str] | None = None) -> None:
    """Create one topic with one replica and ``config``, as an operator might have.

    Tests create their topics: the app's clients never ask the broker to auto-create one
    (``streams.runtime.faust_patches.forbid_topic_auto_creation``, process-wide once applied).
    """
    topic = NewTopic(name, partitions, 1, topic_configs=config or {})
    await admin_call(connection, lambda admin: admin.create_topics([topic]))


def create_topic(bootstrap: str, name: str, partitions: int, config: dict[str, str]) -> None:
    """``make_topic`` outside an event loop."""
    asyncio.run(make_topic(bootstrap, name, partitions, config))


def topic_config(bootstrap: str, name: str, key: str, timeout: float = 10.0) -> dict[str, Any]:
    """The broker's description of one config of a topic: its value, and whether it is the topic's own
    (``config_source``).  A topic created a moment ago may not be described yet: asked again until it is."""
    resource = ConfigResource(ConfigResourceType.TOPIC, name, {key: None})
    deadline = time.monotonic() + timeout
    while True:
        responses = asyncio.run(admin_call(bootstrap, lambda admin: admin.describe_configs([resource])))
        [described] = responses[0].to_object()["resources"]
        if described["error_code"] == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert described["error_code"] == 0, f"cannot describe {name}: {described['error_message']}"
    [entry] = described["config_entries"]
    return entry


def topic_names(bootstrap: str, containing: str) -> set[str]:
    """The names of the cluster's topics that contain ``containing`` (a test's namespace)."""
    names = asyncio.run(admin_call(bootstrap, lambda admin: admin.list_topics()))
    return {name for name in names if containing in name}
