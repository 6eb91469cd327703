"""The patches that make Faust keep its at-least-once promise; the one module of streams that
touches private names of faust, mode and aiokafka.

- ``DurableProducer`` and ``DurableConsumer``: an input offset is committed only once Kafka
  has acknowledged every message the producer was handed before it, state writes to the
  changelog included.  Faust's own flush before a commit is no barrier, so without this a
  crash or a rebalance could lose a state write whose input was already committed.  Whole
  batches handed to the Kafka client (``kafka_producer``, ``streams.runtime.partition_batches``)
  are waited for the same way (``DurableProducer.track``).
- ``KeepFetchedOnResume``: resuming flow control that is already running leaves the stream
  queues alone.  Faust empties them on every resume, which after a table recovery threw away
  records fetched after the partitions' seek (faust-streaming issue #596).
- ``take_turns``: the topics with fetched records take turns in the polls, so on a
  backlog the customers agent gets records while ingest still drains the input.
- ``HandBackConsumerThread``: a fetch returns only records Faust will deliver.  A batch that
  arrives after the flow stopped, or for a partition paused while the fetch waited, is sought
  back to its first record instead of being thrown away, so it is fetched again.
- ``DurableConsumer.resume_partitions``: a stream partition resumes only once the seek to its
  committed offset that follows it is done, so no record is delivered from a stale position
  while Faust's read offsets are being reset (records were dropped and committed unread).
- ``DurableConsumer._drain_messages`` and ``DurableApp.read_in_batches``: the records of
  each fetch from a batch topic go to its handler as one list of messages, below Faust's
  Stream layer (its per-record tasks, queues and ``wait_first`` cost some 170 us a record);
  the handler acknowledges them itself (``acknowledge``, a partition at a time).  The
  table's changelog keeps Faust's path.
- ``DurableConsumer._hand_over``: a stop or a rebalance waits for the batch being handled
  (one record in hand for Faust's "Wait for streams"), not record by record, and so not for
  the records a handler parks to acknowledge later (the event clock's reorder buffer):
  nothing can acknowledge those once the fetcher stopped, so the wait lasted until the
  worker was killed.  They stay unacknowledged and are delivered again.
- ``new_consumer_message``: Faust's message for a fetched record (what its consumer's
  ``_to_message`` makes), built without Faust's general constructor (about half the time a record: its keyword handling and
  defaults), with the same value in every slot.
- ``current_message``: a message of a batch made Faust's current event, for table access.
- ``stored_value`` and ``store_puts``: a batch's reads and writes of the table go to its store's
  partition directly (RocksDB or memory), not through Faust's managed dict, which asks the
  store twice per read and needs a current event per access.
- ``committed_offset``: where a partition's committed input ends, for the event clock's
  idle check of a partition not read since a restart (without it, time stood still after a
  restart until every input partition with records got a new one).
- ``partition_count``: how many partitions an input topic has, on every worker (Faust's own
  answer comes from a snapshot only the group's leader keeps), for the event clock's markers.
- ``EndpointsOnlyWeb``: the web server serves the views the app adds and none of Faust's own:
  its settings switch off ``/table`` (a customer's state), ``/router``, the statistics and
  ``/graph``, but its plain index at ``/`` has no setting.
- ``forbid_topic_auto_creation``: aiokafka's metadata requests stop asking the broker to
  create the topics they name.  A broker with ``auto.create.topics.enable`` (Kafka's default)
  otherwise creates every missing topic a consumer subscribes to or a producer sends to,
  with the broker's partition count and no compaction; topics are made by
  ``winback topics ensure`` only.

They rely on internals of the releases in ``SUPPORTED``: ``check_versions`` (called by every
``DurableApp``) refuses others.  Why each patch is needed, what failed without it and the
tests that pin it: docs/guarantees.md, "Offsets are committed only behind the changelog".
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from importlib import metadata
from collections import defaultdict
from contextlib import contextmanager
from typing import Any, Awaitable, Callable, Iterable, Iterator, Mapping, Optional, Set, cast

import aiokafka
import aiokafka.client
from aiokafka.protocol.metadata import MetadataRequest
import faust
from faust import streams as faust_streams
from faust.exceptions import ProducerSendError
from faust.stores import memory as faust_memory, rocksdb as faust_rocksdb
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.transport.consumer import RecordMap, ensure_TPset
from faust.types.tuples import ConsumerMessage, FutureMessage, Message, ack_lock
from faust.web.drivers import aiohttp as faust_aiohttp_web
from mode.utils.futures import notify
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent

log = logging.getLogger(__name__)

# Takes a batch of records fetched together (of one or more topics read in batches, each
# partition's in offset order) and acknowledges each once it is handled (``acknowledge``).
BatchHandler = Callable[[list[Message]], Awaitable[None]]

# The releases these patches were written and tested for (pyproject.toml pins the same ranges):
# each one touches private names of these packages, which a new minor release may change.
SUPPORTED = {
    "faust-streaming": ((0, 15, 3), (0, 16)),
    "mode-streaming": ((0, 4), (0, 8)),
    "aiokafka": ((0, 12), (0, 15)),
}


class UnsupportedVersion(RuntimeError):
    """An installed dependency outside the range the patches were written for."""


def check_versions() -> None:
    """Raise ``UnsupportedVersion`` (one line) unless every patched package is in ``SUPPORTED``."""
    for package, (lowest, below) in SUPPORTED.items():
        installed = metadata.version(package)
        release = tuple(int(part) for part in re.findall(r"\d+", re.split(r"[^\d.]", installed, maxsplit=1)[0]))
        if not lowest <= release < below:
            raise UnsupportedVersion(
                f"{package} {installed} is installed, but streams.runtime.faust_patches supports "
                f">={_dotted(lowest)},<{_dotted(below)} only (install the pinned requirements.lock)"
            )


def _dotted(release: tuple[int, ...]) -> str:
    return ".".join(map(str, release))


@contextmanager
def current_message(app: faust.App, message: Message) -> Iterator[None]:
    """Within the block, ``message`` is Faust's current event, as a table access needs: the
    table sends a key's changelog record to the current event's partition, and the RocksDB
    store reads and writes that partition's database.  Iterating a stream sets it; records
    read in batches (``DurableApp.read_in_batches``) have no stream, so the handler sets it
    around each access.  Only the context variable is set."""
    event = faust.Event(app, message.key, message.value, message.headers, message)
    token = faust_streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust_streams._current_event.reset(token)


def stored_value(app: faust.App, table: Mapping[bytes, bytes], message: Message) -> bytes | None:
    """What ``table`` holds for ``message``'s key on its partition (None: nothing), as
    ``table.get`` under ``current_message`` gives it.

    ``table.get`` goes through Faust's managed dict, which asks the store whether it holds the
    key and then for its value (two RocksDB reads), behind a current event made for it; here
    a RocksDB store is read once, in the partition's database, noting the key's partition as
    Faust's read does, and a memory store is a dict lookup.  Any other mapping (another store,
    a global table or one with its own partitioner, a plain dict in tests) is read the public way.
    The direct reads skip Faust's table-get sensor hook (``on_table_get``), which feeds only
    Faust's own monitor; the worker exports none of its table counts.
    """
    store = table.data if isinstance(table, faust.Table) and not (table.is_global or table.use_partitioner) else None
    if isinstance(store, faust_rocksdb.Store):
        value: bytes | None = store._db_for_partition(message.partition).get(message.key)
        if value is not None:
            store._key_index[message.key] = message.partition
        return value
    if isinstance(store, faust_memory.Store):
        return store.data.get(message.key)
    with current_message(app, message):
        return table.get(message.key)


def store_puts(app: faust.App, table: faust.Table, puts: list[tuple[Message, bytes]]) -> None:
    """Put each value into ``table``'s store under its record's key, on its record's partition,
    as ``table.data[message.key] = value`` under ``current_message`` does (nothing goes to the
    changelog: the caller sends it).  A RocksDB store takes each partition's puts as one write
    batch, which costs half as much as separate puts; a memory store is a dict update."""
    store = table.data
    if isinstance(store, faust_rocksdb.Store) and store.rocksdb_options.use_rocksdict:
        batches: dict[int, Any] = {}
        for message, value in puts:
            batch = batches.get(message.partition)
            if batch is None:
                batch = batches[message.partition] = faust_rocksdb.rocksdict.WriteBatch(raw_mode=True)
            batch.put(message.key, value)
            store._key_index[message.key] = message.partition
        for partition, batch in batches.items():
            store._db_for_partition(partition).write(batch)
    elif isinstance(store, faust_memory.Store):
        store.data.update((message.key, value) for message, value in puts)
    else:
        for message, value in puts:
            with current_message(app, message):
                store[message.key] = value


def acknowledge(app: faust.App, messages: Iterable[Message]) -> None:
    """Mark handled records of a batch topic as done: their offsets may now be committed."""
    app.consumer.acknowledge(messages)


def committed_offset(consumer: faust.types.ConsumerT, tp: TP) -> int:
    """The next offset of ``tp`` after what the group committed, as Faust last sought to it or
    committed it (0: nothing committed).  Faust keeps it but offers no public way to read it;
    the event clock needs it for a partition not read since the worker started: nothing above
    it was handled in an earlier run, so only up to it is the partition known to be caught up.
    """
    committed: Optional[int] = consumer._committed_offset.get(tp)  # type: ignore[attr-defined]
    return committed or 0


class NoAutoCreateMetadataRequest(MetadataRequest):
    """A metadata request that never makes the broker create the topics it names (aiokafka
    asks for creation unless told otherwise, and offers no setting for it)."""

    def __init__(self, topics: list[str] | None = None, allow_auto_topic_creation: bool | None = False) -> None:
        super().__init__(topics, allow_auto_topic_creation=False)


def partition_count(consumer: faust.types.ConsumerT, topic: str) -> int | None:
    """How many partitions ``topic`` has, as the consumer's cluster metadata says (None: not
    known yet).  Faust's ``Consumer.topic_partitions`` reads the metadata snapshot aiokafka
    keeps for the group's assignment, which only the group's leader has: on every other worker
    it knows no topic, and the event clock needs every worker to name every input partition.
    """
    partitions = consumer._thread._ensure_consumer().partitions_for_topic(topic)  # type: ignore[attr-defined]
    return len(partitions) if partitions else None


def forbid_topic_auto_creation() -> None:
    """Make every aiokafka client of this process ask for metadata without auto-creation.

    A missing topic then stays missing: a producer's send to it fails after its request
    timeout, a consumer waits for it, and the broker's defaults never shape a topic.  Raises
    ``UnsupportedVersion`` for an aiokafka this was not written for.
    """
    check_versions()
    aiokafka.client.MetadataRequest = NoAutoCreateMetadataRequest  # type: ignore[misc]


class DurableProducer(faust_aiokafka.Producer):
    """A producer that knows which of its buffered messages Kafka has not acknowledged yet."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unacknowledged: set[asyncio.Future[Any]] = set()

    def send_soon(self, fut: FutureMessage) -> None:
        self.track(fut)
        super().send_soon(fut)

    def track(self, delivery: asyncio.Future[Any]) -> None:
        """Count ``delivery`` (of a message or of a whole batch handed to the Kafka client) among
        those the next commit waits for.  A failed one stays: every commit after it fails."""
        self.unacknowledged.add(delivery)
        delivery.add_done_callback(self._settled)

    def _settled(self, delivery: asyncio.Future[Any]) -> None:
        if not delivery.cancelled() and delivery.exception() is None:
            self.unacknowledged.discard(delivery)

    async def acknowledged(self) -> None:
        """Return once every message handed over so far is on the broker; raise if one failed."""
        try:
            await all_settled(self.unacknowledged)
        except BaseException as failure:
            raise ProducerSendError(f"a state write was not delivered: {failure!r}") from failure


async def all_settled(deliveries: Iterable[asyncio.Future[Any]]) -> None:
    """Return once every delivery is done; raise the first failure (after waiting for all, so
    that no failure goes unobserved)."""
    for outcome in await asyncio.gather(*deliveries, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome


def kafka_producer(app: faust.App) -> aiokafka.AIOKafkaProducer:
    """The Kafka client under the app's producer (started), for sending whole batches
    (``streams.runtime.partition_batches``).  Those follow the default partitioner, which is
    why a ``DurableApp`` refuses to be made with another."""
    producer: aiokafka.AIOKafkaProducer = app.producer._ensure_producer()  # type: ignore[attr-defined]
    return producer


class HandBackConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """The thread running the Kafka client, which returns to Kafka instead of to Faust the
    records Faust would throw away."""

    async def _fetch_records(
        self,
        consumer: aiokafka.AIOKafkaConsumer,
        active_partitions: Set[TP],
        timeout: Optional[float] = None,
        max_records: Optional[int] = None,
    ) -> RecordMap:
        records = await super()._fetch_records(
            consumer, active_partitions, timeout=timeout, max_records=max_records
        )
        take_turns(consumer, records)
        undeliverable = {tp: batch for tp, batch in records.items() if not self._delivers(tp, active_partitions)}
        if undeliverable:
            hand_back(consumer, undeliverable)
        return {tp: batch for tp, batch in records.items() if tp not in undeliverable}

    def _delivers(self, tp: TP, active_partitions: Optional[Set[TP]]) -> bool:
        """Whether Faust's fetcher passes on a record of ``tp`` fetched now.

        It drops every record once the flow stopped, and those of a partition no longer in
        ``active_partitions``, Faust's live set (None: a client, which reads everything).  A
        partition paused while the fetch waited is one; and a set emptied meanwhile makes the
        Kafka client return records of every partition, paused ones included.
        """
        if not self.consumer.flow_active:
            return False
        return active_partitions is None or tp in active_partitions or tp in self.consumer._buffered_partitions


def take_turns(consumer: aiokafka.AIOKafkaConsumer, records: RecordMap) -> None:
    """Move the partitions of the topics just read behind the others in the Kafka client's
    fetched records.

    The client hands its fetched records over in the order the fetches arrived, up to a poll's
    ``max_records``, so on a backlog the input partitions, fetched first, were read to the end
    before a record of the internal events topic came up: the customers agent applied nothing
    until ingest had drained.  Turned by topic (one input topic has as many partitions as the
    events topic), each topic with fetched records takes its turn.
    """
    fetched = consumer._fetcher._records
    read = {tp.topic for tp in records}
    for tp in [tp for tp in fetched if tp.topic in read]:
        fetched.move_to_end(tp)


def hand_back(consumer: aiokafka.AIOKafkaConsumer, records: RecordMap) -> None:
    """Seek each partition of a fetched batch back to its first record, so it is fetched again.

    Called right after the fetch, before anything else can move the positions.  A partition
    revoked in the meantime is left alone: its new owner seeks it where it starts reading.
    """
    assigned = consumer.assignment()
    for tp, batch in records.items():
        if batch and tp in assigned:
            consumer.seek(tp, batch[0].offset)
    where = ", ".join(f"{tp.topic}:{tp.partition}@{batch[0].offset}" for tp, batch in records.items() if batch)
    log.info("handed back %d records Faust would not deliver (%s)", sum(map(len, records.values())), where)


class DurableConsumer(faust_aiokafka.Consumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.awaiting_seek: set[TP] = set()  # stream partitions resumed, not yet sought

    async def _drain_messages(self, fetcher: Any) -> None:
        """Faust's fetch loop, with the records of the app's batch topics handed to their handler
        a fetch at a time (``DurableApp.read_in_batches``); records of other topics take Faust's
        path one by one.  Without batch topics it is Faust's own loop."""
        if not self.app.batch_handlers:
            await super()._drain_messages(fetcher)
            return
        stopped, fetcher_stopped = self._stopped.is_set, fetcher._stopped.is_set
        try:
            while not (stopped() or fetcher_stopped()):
                records, active = await self._wait_next_records(1.0)
                if records and not self.should_stop:
                    await self._deliver(records, active)
        except self.consumer_stopped_errors:
            if not self.transport.app.should_stop:
                raise
        except asyncio.CancelledError:
            if not self.transport.app.should_stop:
                raise

    async def _deliver(self, records: RecordMap, active: Optional[Set[TP]]) -> None:
        """Hand one fetch's records over: Faust's one by one, each handler's as one batch.

        As Faust's ``getmany`` does, nothing is delivered once the flow stopped or the group
        moved to a new generation meanwhile (the records are fetched again), nor for a
        partition no longer active; a record below a partition's read offset is one already
        delivered.  Every delivered record is tracked until it is acknowledged, so a rebalance
        waits for the batch in progress.
        """
        if not self.flow_active:
            await self.perform_seek()  # as Faust's getmany: read again from the committed offsets
            return
        generation = self.app.consumer_generation_id
        singles: list[Message] = []
        batches: dict[BatchHandler, list[tuple[TP, list[Message]]]] = defaultdict(list)
        for tp, fetched in records.items():
            if active is not None and tp not in active and tp not in self._buffered_partitions:
                continue
            self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
            messages = [new_consumer_message(tp, record, generation) for record in fetched]
            handler = self.app.batch_handlers.get(tp.topic)
            if handler is None:
                singles.extend(messages)
            else:
                batches[handler].append((tp, messages))
        for message in singles:
            if self._is_unread(message) and self.flow_active:
                await self._note_gap(message)
                await self.wait_first(self.callback(message), self.suspend_flow.wait())
                self._read_offset[message.tp] = message.offset
        for handler, partitions in batches.items():
            if not self.flow_active or self.app.consumer_generation_id != generation:
                return
            batch = [message for tp, messages in partitions for message in await self._take_unread(tp, messages)]
            await self._hand_over(handler, batch)
            if self._commit_every is not None and self._n_acked >= self._commit_every:
                self._n_acked = 0
                await self.commit()

    async def _hand_over(self, handler: BatchHandler, batch: list[Message]) -> None:
        """Run ``handler`` on ``batch``, as one record in hand for Faust's "Wait for streams".

        When the handler returns, each record of the batch is acknowledged, or parked by the
        handler to be acknowledged later (the event clock's reorder buffer): a stop or a
        rebalance waits for the batch in progress, not for those, which nothing could
        acknowledge once the fetcher stopped (left unacknowledged, they are delivered again).
        """
        in_hand = InHand()
        self._unacked_messages.add(in_hand)  # type: ignore[arg-type]
        try:
            await handler(batch)
        finally:
            in_hand.acked = True
            self._unacked_messages.discard(in_hand)  # type: ignore[arg-type]
            notify(self._waiting_for_ack)

    def acknowledge(self, messages: Iterable[Message]) -> None:
        """Faust's ``ack`` for records of batch topics, a partition at a time: their offsets may
        now be committed, as Faust's rules say (none below the committed offset, none twice)."""
        offsets: dict[TP, list[int]] = defaultdict(list)
        for message in messages:
            if not message.acked:
                message.acked = True
                offsets[message.tp].append(message.offset)
        with ack_lock:
            for tp, acked in offsets.items():
                if self.app.topics.acks_enabled_for(tp.topic):
                    self._note_acked(tp, acked)
        notify(self._waiting_for_ack)

    def _note_acked(self, tp: TP, offsets: list[int]) -> None:
        committed, index = self._committed_offset[tp], self._acked_index[tp]
        new = [offset for offset in offsets if offset not in index and (committed is None or offset >= committed)]
        index.update(new)
        self._acked[tp].extend(new)
        self._n_acked += len(new)

    def _is_unread(self, message: Message) -> bool:
        read = self._read_offset[message.tp]
        return read is None or message.offset >= read

    async def _note_gap(self, message: Message) -> None:
        """A jump in a partition's offsets (compaction, transaction markers) counts as acknowledged."""
        read = self._read_offset[message.tp]
        if read and message.offset - read > 1 and self.app.topics.acks_enabled_for(message.topic):
            await self._add_gap(message.tp, read + 1, message.offset)

    async def _take_unread(self, tp: TP, fetched: list[Message]) -> list[Message]:
        """The records of one partition's fetch (in offset order) not delivered before; the
        read offset moves past them, and jumps in their offsets count as acknowledged, as in
        Faust's loop, which does this record by record.  Offsets without a jump (the usual
        case) are told by the first and the last alone."""
        read = self._read_offset[tp]
        if read is None or not fetched or fetched[0].offset >= read:
            unread = fetched
        else:
            unread = [message for message in fetched if message.offset >= read]
        if not unread:
            return unread
        first, last = unread[0].offset, unread[-1].offset
        if (read and first - read > 1) or last - first != len(unread) - 1:
            for message in unread:
                await self._note_gap(message)
                self._read_offset[tp] = message.offset
        self._read_offset[tp] = last
        return unread

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return HandBackConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def resume_partitions(self, tps: Iterable[TP]) -> None:
        """Resume changelog partitions at once, stream partitions after the seek that follows.

        A table recovery resumes the stream partitions and only then seeks them to their
        committed offsets, partition by partition, resetting Faust's read offsets at the end,
        while the flow already runs.  Records fetched in between from where the partition
        stood were delivered, then those fetched again after the seek were dropped as already
        read, and the reset read offset made the jump to the next record look like a gap in
        the topic, which Faust counts as acknowledged: the commit passed records no agent had
        handled.  Every such resume is followed by ``perform_seek``, which resumes them.
        """
        resumed = ensure_TPset(tps)
        streams = {tp for tp in resumed if not self._is_changelog_tp(tp)}
        self.awaiting_seek |= streams
        super().resume_partitions(resumed - streams)

    def pause_partitions(self, tps: Iterable[TP]) -> None:
        paused = ensure_TPset(tps)
        self.awaiting_seek -= paused
        super().pause_partitions(paused)

    async def perform_seek(self) -> None:
        """Seek every partition to its committed offset, then resume the stream partitions
        that were waiting for it (unless paused again meanwhile)."""
        waiting = set(self.awaiting_seek)
        await super().perform_seek()
        ready = waiting & self.awaiting_seek
        self.awaiting_seek -= ready
        super().resume_partitions(ready)

    async def _handle_attached(self, commit_offsets: Mapping[TP, int]) -> None:
        """Called with the offsets about to be committed: their state writes must be on Kafka first."""
        await self.app.producer.acknowledged()
        await super()._handle_attached(commit_offsets)


_NEW_MESSAGE = ConsumerMessage.__new__
_UNTRACKED = not ConsumerMessage.use_tracking  # what Faust's constructor sets ``tracked`` to


def new_consumer_message(tp: TP, record: Any, generation_id: Optional[int]) -> ConsumerMessage:
    """The ``ConsumerMessage`` Faust's aiokafka consumer makes of a fetched ``record`` of ``tp``
    (its timestamp in seconds), slot by slot; ``span`` is left unset, as Faust leaves it."""
    message: ConsumerMessage = _NEW_MESSAGE(ConsumerMessage)
    message.topic, message.partition, message.offset = record.topic, record.partition, record.offset
    timestamp = record.timestamp
    message.timestamp = cast(float, None) if timestamp is None else timestamp / 1000.0
    message.timestamp_type, message.headers = record.timestamp_type, record.headers
    message.key, message.value, message.checksum = record.key, record.value, record.checksum
    message.serialized_key_size, message.serialized_value_size = record.serialized_key_size, record.serialized_value_size
    message.acked, message.refcount, message.tp, message.tracked = False, 0, tp, _UNTRACKED
    message.time_in = message.time_out = message.time_total = None
    message.generation_id = generation_id
    return message


class InHand:
    """A batch being handled, as Faust's "Wait for streams" counts records in hand (acknowledged
    when its handler returns)."""

    __slots__ = ("acked", "refcount", "__weakref__")

    def __init__(self) -> None:
        self.acked = False
        self.refcount = 1


class DurableTransport(faust_aiokafka.Transport):
    Consumer = DurableConsumer
    Producer = DurableProducer


class KeepFetchedOnResume(FlowControlEvent):
    """Flow control that empties the stream queues only when resuming a suspended flow."""

    def resume(self) -> None:
        if not self.is_active():
            super().resume()


class EndpointsOnlyWeb(faust_aiohttp_web.Web):
    """Faust's aiohttp web server without any of Faust's blueprints: only pages the app adds."""

    default_blueprints = ()
    production_blueprints = ()
    debug_blueprints = ()
    optional_blueprints = ()


class DurableApp(faust.App):
    """A Faust app whose consumer commits offsets only behind the changelog, that keeps every
    record it fetched while its flow runs and hands back what it would not deliver, that reads
    a stream partition only once it is sought to its committed offset, whose stop waits for
    the batch being handled but not for records a handler parked, and whose web server serves
    only its own pages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        check_versions()
        forbid_topic_auto_creation()
        super().__init__(*args, **kwargs)
        if self.conf.producer_partitioner is not None:  # checked once here, not on every batch sent
            raise RuntimeError("batched sends assume Kafka's default partitioner, but producer_partitioner is set")
        self.batch_handlers: dict[str, BatchHandler] = {}  # topic name -> its handler

    def read_in_batches(self, topic: faust.TopicT, handler: BatchHandler) -> None:
        """Subscribe to ``topic``'s topics and hand their records to ``handler`` a fetch at a time,
        below the Stream layer: no agent reads them."""
        self.topics.add(topic)
        for name in topic.topics:
            self.batch_handlers[name] = handler

    def _new_transport(self) -> Any:
        return DurableTransport(self.conf.broker_consumer, self)

    def _new_web(self) -> faust_aiohttp_web.Web:
        return EndpointsOnlyWeb(self)

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        return KeepFetchedOnResume(loop=self.loop)
