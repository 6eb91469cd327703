"""Faust's own way to read and write customers' states, a record at a time, and the records it needs.

The customers handler reads and writes the activity table's store directly
(``faust_patches.stored_value`` and ``store_puts``); these do the same through Faust's table, as
the handler used to, so that tests can check the direct way gives and leaves the same states
(``tests/unit/runtime/test_table_access.py``) and ``benchmarks/customers_stage.py`` can time
both ways side by side.
"""

from __future__ import annotations

from typing import Iterable

from faust.types.tuples import Message

from streams.runtime.faust_patches import current_message
from streams.runtime.topology import Topology


def record(key: bytes, partition: int, offset: int = 0) -> Message:
    """A record of ``key`` on ``partition``, as the handler has it when it reads or writes the key's state."""
    return Message(
        topic="table-access-events", partition=partition, offset=offset, timestamp=0.0, timestamp_type=0,
        headers=[], key=key, value=b"", checksum=None,
    )


def faust_gets(topology: Topology, messages: Iterable[Message]) -> list[bytes | None]:
    """Each message's stored state, by ``table.get`` with the message as Faust's current event."""
    states = []
    for message in messages:
        with current_message(topology.app, message):
            states.append(topology.activity.get(message.key))
    return states


def faust_puts(topology: Topology, states: Iterable[tuple[Message, bytes]]) -> None:
    """Store each message's state as Faust's table puts it, one at a time under its current event."""
    for message, state in states:
        with current_message(topology.app, message):
            topology.activity.data[message.key] = state
