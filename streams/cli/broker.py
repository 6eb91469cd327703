"""Talking to the Kafka broker from a command: every wait is bounded, every failure is one line.

The clients a command makes wait at most ``WINBACK_BROKER_TIMEOUT`` seconds for each answer
of the broker, so a broker that is down, or one that accepts connections and never answers,
ends the command in bounded time with a line naming the broker and the settings to check,
instead of a hang, a traceback or the Kafka client's own log lines.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from streams.cli.errors import CommandError
from streams.runtime.settings import Settings

T = TypeVar("T")


def talk_to_broker(settings: Settings, task: str, conversation: Coroutine[Any, Any, T]) -> T:
    """Run ``conversation`` (coroutine using clients built from ``settings``) to its end.

    ``task`` says what the command was doing, in the error: "cannot {task}: ...".  Raises
    ``CommandError`` when the broker cannot be reached or answered with an error (aiokafka
    is imported here, not at the top: every ``winback`` command loads this module).
    """
    from aiokafka.errors import KafkaConnectionError, KafkaError, NodeNotReadyError, RequestTimedOutError

    logging.getLogger("aiokafka").addHandler(logging.NullHandler())  # its errors are ours to word
    try:
        return asyncio.run(conversation)
    except (KafkaConnectionError, NodeNotReadyError, RequestTimedOutError, TimeoutError):
        raise CommandError(
            f"cannot {task}: no answer from the Kafka broker at {settings.broker} within "
            f"{settings.broker_timeout:g}s; check WINBACK_BROKER (and WINBACK_BROKER_TIMEOUT for a slow broker)"
        ) from None
    except KafkaError as error:
        raise _denied(settings, task, error) or CommandError(
            f"cannot {task} on {settings.broker} (WINBACK_BROKER): {error}"
        ) from None


def _denied(settings: Settings, task: str, error: Exception) -> CommandError | None:
    """The line for a request the broker's authorizer refused (None for any other error): which
    kind of resource, and where the ACLs a worker needs are listed."""
    from aiokafka.errors import ClusterAuthorizationFailedError, GroupAuthorizationFailedError, TopicAuthorizationFailedError

    denied = {
        TopicAuthorizationFailedError: "a topic",
        GroupAuthorizationFailedError: "the consumer group",
        ClusterAuthorizationFailedError: "the cluster",
    }.get(type(error))
    if denied is None:
        return None
    return CommandError(
        f"cannot {task} on {settings.broker}: the broker denies this Kafka principal access to {denied} ({error}); "
        "`winback topics ensure --print-acls` lists what a worker needs, docs/security.md what an operator needs"
    )
