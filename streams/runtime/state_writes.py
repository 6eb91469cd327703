"""Writing a batch's changed customer states: into the table's store, and to its changelog as
one batch per partition.

``table[key] = value`` sends each write to the changelog on its own: a ``FutureMessage``,
a trip through the producer's buffer queue and task, a ``send`` with its future, and on the
acknowledgement a write of the changelog offset into the store.  Here the states go into the
store as Faust's table would put them, a partition's together (``faust_patches.store_puts``),
and the changelog records go out as closed batches (``streams.runtime.partition_batches``) to
the partition Faust would pick: the partition of the record that changed the customer, which
is the customer's own (the table is co-partitioned).  The records are the same as Faust's
(raw key and value, no headers; a deleted customer is a tombstone), so recovery and standby
replicas read them as before.

Each batch's delivery is tracked by the producer (``DurableProducer.track``): no input offset
is committed before every changelog write handed over so far is on Kafka.  Once a batch is,
its last offset is written into the store as the partition's persisted offset, as Faust does
for each record, so a restart with the RocksDB store recovers only what came after it.
"""

from __future__ import annotations

import faust
from faust.types import TP
from faust.types.tuples import Message

from streams.runtime.faust_patches import current_message, store_puts
from streams.runtime.partition_batches import Outgoing, Submitted, before_commit

# A changed customer: the batch's last record that changed them, and their new state (None: delete).
StateWrite = tuple[Message, bytes | None]


async def write_states(app: faust.App, table: faust.Table, writes: dict[bytes, StateWrite]) -> None:
    """Put each customer's new state into ``table``'s store and hand its changelog records to
    the producer in batches (without waiting for Kafka: the commit does).  A customer deleted
    who is not in the table is no write at all."""
    changelog = table.changelog_topic.get_topic_name()
    outgoing = []
    puts: list[tuple[Message, bytes]] = []
    for key, (message, state) in writes.items():
        if state is None:
            with current_message(app, message):  # the store deletes on the record's partition
                if key not in table.data:
                    continue
                del table.data[key]
        else:
            puts.append((message, state))
        outgoing.append(Outgoing(changelog, key, state, [], partition=message.partition))
    store_puts(app, table, puts)
    if not outgoing:
        return
    for batch in await before_commit(app, outgoing):
        batch.delivery.add_done_callback(lambda _, batch=batch: _persisted(table, batch))


def _persisted(table: faust.Table, batch: Submitted) -> None:
    """Note in the store how far the changelog partition holds its writes (a failed batch
    notes nothing: the commit that waits for it fails)."""
    if batch.delivery.cancelled() or batch.delivery.exception() is not None:
        return
    table.data.set_persisted_offset(TP(batch.topic, batch.partition), batch.last_offset())

