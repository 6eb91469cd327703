"""The patches to Faust: the commit barrier (a producer of ours returns from ``acknowledged()``
only once every message handed to ``send_soon`` so far is acknowledged, and raises if one
failed), flow control that keeps fetched records when a running flow is resumed again, stream
partitions read only once sought to their committed offsets, and the check that the installed
Faust, mode and aiokafka are the releases the patches were written for.

Real Faust objects (app, transport, producer, topic, ``FutureMessage``) without a broker: the
producer is not started, so its buffer never sends, and the test settles each delivery by
hand, as the Kafka client's callback would; the consumer is not started either, and its
commits are counted instead of sent.
"""

from __future__ import annotations

import asyncio
import tomllib
from collections import OrderedDict
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import aiokafka.client
import pytest
from aiokafka.protocol.metadata import MetadataRequest_v5, MetadataResponse_v0
from aiokafka.structs import ConsumerRecord
from faust.exceptions import ProducerSendError
from faust.types import TP
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types.tuples import ConsumerMessage, FutureMessage, Message
from mode.utils.queues import FlowControlQueue
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from streams.policy.loading import default_policy_path, load_policy
from streams.runtime.faust_patches import (
    SUPPORTED, DurableApp, DurableConsumer, DurableProducer, UnsupportedVersion, acknowledge, check_versions, committed_offset,
    new_consumer_message, partition_count, take_turns,
)
from streams.runtime.settings import Settings
from streams.runtime.topology import build_topology, create_app
from streams.runtime.worker import run_worker
from tests.support.fetched import fetched_record


@pytest.fixture
def app():
    return create_app(Settings(broker="127.0.0.1:1", app_id="durable-test"))


def _state_write(app, number: int) -> FutureMessage:
    topic = app.topic("durable-test-activity-changelog", key_serializer="raw", value_serializer="raw")
    return topic.as_future_message(key=f"k{number}".encode(), value=b"v", partition=0)


async def test_the_app_commits_through_the_barrier(app):
    assert isinstance(app.producer, DurableProducer)
    assert isinstance(app.consumer, DurableConsumer)


async def test_acknowledged_waits_for_every_write_handed_over(app):
    producer = app.producer
    writes = [_state_write(app, number) for number in range(3)]
    for write in writes:
        producer.send_soon(write)
    barrier = asyncio.ensure_future(producer.acknowledged())
    for write in writes[:2]:
        write.set_result(None)
    await asyncio.sleep(0.05)
    assert not barrier.done(), "returned with a state write still in flight"
    writes[2].set_result(None)
    await asyncio.wait_for(barrier, timeout=1)
    assert producer.unacknowledged == set()


async def test_a_write_handed_over_after_the_barrier_started_is_not_waited_for(app):
    producer = app.producer
    first, later = _state_write(app, 1), _state_write(app, 2)
    producer.send_soon(first)
    barrier = asyncio.ensure_future(producer.acknowledged())
    await asyncio.sleep(0)
    producer.send_soon(later)  # belongs to a record whose offset this commit does not include
    first.set_result(None)
    await asyncio.wait_for(barrier, timeout=1)
    assert producer.unacknowledged == {later}


async def test_a_failed_write_stops_the_commit(app):
    producer = app.producer
    write = _state_write(app, 1)
    producer.send_soon(write)
    write.set_exception(ConnectionError("broker gone"))
    with pytest.raises(ProducerSendError, match="broker gone"):
        await producer.acknowledged()


async def test_a_failed_batch_delivery_stops_every_commit_after_it(app):
    """A whole batch of state writes handed to the Kafka client (``track``): once delivered it
    is no longer waited for; once failed it stays, so no later commit passes it."""
    producer, loop = app.producer, asyncio.get_running_loop()
    delivered, failed = loop.create_future(), loop.create_future()
    producer.track(delivered)
    producer.track(failed)
    delivered.set_result(None)
    failed.set_exception(ConnectionError("batch refused"))
    await asyncio.sleep(0)  # the delivery callbacks run
    assert producer.unacknowledged == {failed}
    for _ in range(2):
        with pytest.raises(ProducerSendError, match="batch refused"):
            await producer.acknowledged()


def test_resuming_a_running_flow_keeps_the_records_it_fetched(app):
    queue = FlowControlQueue(flow_control=app.flow_control, clear_on_resume=True)
    app.flow_control.resume()  # the flow starts (a recovery begins)
    queue.put_nowait("fetched after the seek")
    app.flow_control.resume()  # the recovery ends: Faust resumes again
    assert queue.qsize() == 1, "a record fetched while the flow ran was thrown away"


def test_resuming_a_suspended_flow_drops_what_was_fetched_before(app):
    queue = FlowControlQueue(flow_control=app.flow_control, clear_on_resume=True)
    app.flow_control.resume()
    queue.put_nowait("fetched before the rebalance")
    app.flow_control.suspend()  # a rebalance: the partitions are sought back to their commits
    app.flow_control.resume()
    assert queue.qsize() == 0


async def test_stopping_waits_for_the_batch_being_handled_but_not_for_records_it_parked(app, monkeypatch):
    """Faust's "Wait for streams" before a stop or a rebalance: the batch in the handler is one
    record in hand; a record the handler parks (the event clock's reorder buffer) is left
    unacknowledged, and delivered again after the restart, rather than waited for."""
    consumer = app.consumer
    commits: list[str] = []

    async def commit(*args, **kwargs) -> bool:
        commits.append("commit")
        return False

    monkeypatch.setattr(consumer, "commit", commit)
    reading, release = _Reading(app, monkeypatch), asyncio.Event()

    async def handler(batch: list[Message]) -> None:
        acknowledge(app, batch[:1])  # the second is parked
        await release.wait()

    app.batch_handlers["winback.events"] = handler
    handling = asyncio.ensure_future(reading.fetch({reading.events: [1, 2]}))
    await asyncio.sleep(0.05)
    stopping = asyncio.ensure_future(consumer.wait_empty())
    try:
        await asyncio.sleep(0.2)
        assert not stopping.done(), "stopped with a batch being handled"
        release.set()
        await handling
        await asyncio.wait([stopping], timeout=3)  # Faust's wait swallows cancellation: never wait_for it
        assert stopping.done(), "the stop waited for a parked record"
    finally:
        release.set()  # lets a wait that failed the test end
        await handling
        await stopping
    assert commits, "stopped without committing"
    assert consumer._new_offset(reading.events) == 2, "the commit stops at the parked record"


class _Seeks:
    """Stands in for the Kafka client's seek to committed offsets, noting which partitions
    Faust's fetcher would read from while it runs."""

    def __init__(self, consumer, committed: dict[TP, int], during=lambda: None):
        self.consumer, self.committed, self.during = consumer, committed, during
        self.active_while_seeking: set[TP] = set()

    async def __call__(self) -> dict[TP, int]:
        self.during()
        await asyncio.sleep(0)  # the client's round trips to the group coordinator
        self.active_while_seeking |= set(self.consumer._get_active_partitions())
        return self.committed


@pytest.fixture
def recovering():
    """A consumer whose rebalance paused a stream partition and a changelog partition."""
    app = build_topology(Settings(broker="127.0.0.1:1", app_id="durable-test")).app
    stream, changelog = TP("shop.purchases", 1), TP("durable-test-activity-changelog", 1)
    app.consumer.pause_partitions({stream, changelog})
    return app.consumer, stream, changelog


async def test_a_stream_partition_is_read_only_once_sought_to_its_committed_offset(recovering, monkeypatch):
    consumer, stream, changelog = recovering
    seeks = _Seeks(consumer, {stream: 687})
    monkeypatch.setattr(consumer, "seek_to_committed", seeks)
    consumer.resume_partitions({stream, changelog})  # what a recovery does before its seek
    assert changelog in consumer._get_active_partitions()
    assert stream not in consumer._get_active_partitions(), "readable before its seek"
    await consumer.perform_seek()
    assert stream not in seeks.active_while_seeking, "readable while Faust's read offsets were reset"
    assert stream in consumer._get_active_partitions()
    assert consumer._read_offset[stream] == 687


async def test_a_stream_partition_paused_while_it_is_sought_stays_paused(recovering, monkeypatch):
    consumer, stream, _ = recovering
    monkeypatch.setattr(consumer, "seek_to_committed", _Seeks(consumer, {stream: 687}, lambda: consumer.pause_partitions({stream})))
    consumer.resume_partitions({stream})
    await consumer.perform_seek()  # a rebalance began meanwhile and paused the partition again
    assert stream not in consumer._get_active_partitions()


def test_the_installed_releases_are_the_supported_ones():
    check_versions()


def test_the_supported_ranges_are_the_ones_pyproject_pins():
    project = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())["project"]
    pinned = {Requirement(line).name: Requirement(line).specifier for line in project["dependencies"]}
    for package, (lowest, below) in SUPPORTED.items():
        dotted = ".".join(map(str, lowest)), ".".join(map(str, below))
        assert pinned[package] == SpecifierSet(f">={dotted[0]},<{dotted[1]}"), package


@pytest.mark.parametrize("package, installed", [("faust-streaming", "0.16.0"), ("faust-streaming", "0.15.2"), ("aiokafka", "0.15.0rc1")])
def test_an_unsupported_release_stops_the_worker_with_one_line(monkeypatch, package, installed):
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: installed if name == package else real(name))
    with pytest.raises(UnsupportedVersion) as refused:
        create_app(Settings(broker="127.0.0.1:1", app_id="durable-test"))
    message = str(refused.value)
    assert "\n" not in message and f"{package} {installed} is installed" in message
    with pytest.raises(SystemExit) as stopped:
        run_worker(Settings(broker="127.0.0.1:1"), load_policy(default_policy_path()))
    assert stopped.value.code == f"winback worker: {message}"


def test_the_app_asks_for_metadata_without_auto_creating_topics(app):
    """Every aiokafka client in a process with a ``DurableApp`` (``app`` made one) names topics in
    its metadata requests without asking the broker to create them (on a broker: tests/integration/
    runtime/test_topic_auto_creation.py)."""
    request = aiokafka.client.MetadataRequest(["shop.purchases"]).build(MetadataRequest_v5)
    assert (request.topics, request.allow_auto_topic_creation) == (["shop.purchases"], False)


def test_an_app_with_another_partitioner_is_refused_when_it_is_made():
    """Batched sends place records with Kafka's default partitioner: checked once, not per batch."""
    with pytest.raises(RuntimeError, match="default partitioner"):
        DurableApp("partitioned", broker="kafka://127.0.0.1:1", producer_partitioner=lambda key, every, available: 0)


def test_the_app_declares_no_topic_and_has_no_leader_topic(app):
    assert (app.conf.topic_allow_declare, app.conf.topic_disable_leader) == (False, True)


async def test_the_committed_offset_is_where_the_seek_put_a_partition_and_zero_without_one(recovering, monkeypatch):
    consumer, stream, _ = recovering
    monkeypatch.setattr(consumer, "seek_to_committed", _Seeks(consumer, {stream: 687}))
    assert committed_offset(consumer, stream) == 0
    await consumer.perform_seek()
    assert committed_offset(consumer, stream) == 687
    assert committed_offset(consumer, TP("shop.logins", 0)) == 0


async def test_a_topics_partition_count_comes_from_the_cluster_metadata_on_every_worker(recovering):
    """Not from the snapshot Faust's ``topic_partitions`` reads, which only the group's leader fills."""
    consumer, _, _ = recovering
    thread = consumer._thread
    thread._consumer = thread._create_worker_consumer(consumer.transport)  # created, never started: no broker needed
    try:
        assert partition_count(consumer, "shop.purchases") is None  # no metadata yet
        partitions = [(0, partition, 0, [0], [0]) for partition in range(8)]
        thread._consumer._client.cluster.update_metadata(
            MetadataResponse_v0(brokers=[(0, "127.0.0.1", 1)], topics=[(0, "shop.purchases", partitions)])
        )
        assert partition_count(consumer, "shop.purchases") == 8
    finally:
        await thread._consumer.stop()


class _Reading:
    """A consumer not started, whose fetches are handed over by ``_deliver`` as the fetch loop
    would; it notes what reaches a batch handler and Faust's per-record callback."""

    def __init__(self, app, monkeypatch):
        self.consumer = app.consumer
        self.batches: list[list[Message]] = []
        self.singles: list[Message] = []
        self.in_hand: list[int] = []  # how many records Faust's "Wait for streams" waits for, per batch
        self.events = TP("winback.events", 0)

        async def handler(batch: list[Message]) -> None:
            self.batches.append(batch)
            self.in_hand.append(len(self.consumer.unacked))

        async def callback(message: Message) -> None:
            self.singles.append(message)

        app.read_in_batches(app.topic("winback.events", "winback.due"), handler)
        monkeypatch.setattr(self.consumer, "highwater", lambda tp: 0)
        monkeypatch.setattr(self.consumer, "callback", callback)

    async def fetch(self, records: dict[TP, list[int]]) -> None:
        """Hand over a fetch of records at these offsets (subscribed as a starting worker is)."""
        await self.consumer.app.topics._update_indices()  # which topics' records are acknowledged
        fetched = {tp: [fetched_record(tp, offset) for offset in offsets] for tp, offsets in records.items()}
        await self.consumer._deliver(fetched, None)


async def test_a_fetch_of_batch_topics_reaches_their_handler_as_one_batch_tracked_until_acknowledged(app, monkeypatch):
    reading = _Reading(app, monkeypatch)
    due, changelog = TP("winback.due", 1), TP("durable-test-activity-changelog", 0)

    await reading.fetch({reading.events: [5, 6], due: [0], changelog: [3]})

    [batch] = reading.batches
    assert [(m.topic, m.offset) for m in batch] == [("winback.events", 5), ("winback.events", 6), ("winback.due", 0)]
    assert [m.offset for m in reading.singles] == [3], "another topic's record takes Faust's own path"
    assert reading.in_hand == [1], "a rebalance must wait for the batch being handled"
    assert not reading.consumer.unacked, "nothing is in hand once the handler returned"
    assert reading.consumer._new_offset(reading.events) is None, "nothing is committed before it is acknowledged"
    acknowledge(app, batch)
    await reading.fetch({reading.events: [4, 5, 7]})  # fetched again from an earlier offset
    assert [m.offset for m in reading.batches[-1]] == [7], "records below the read offset are not delivered again"
    assert reading.consumer._new_offset(reading.events) == 7, "acknowledged up to the record not yet acknowledged"


async def test_acknowledged_ranges_with_a_jump_commit_no_further_than_the_first_unacknowledged_record(app, monkeypatch):
    """Offsets 7 and 8 are gone (compaction): the jump counts as acknowledged, as in Faust's loop,
    but never lets the commit pass 5 and 6 while they are being handled.  (Faust's gap takes in
    the offset after the jump, which its list of acknowledged offsets then holds twice, so its
    commit gets there in two rounds.)"""
    reading = _Reading(app, monkeypatch)
    reading.consumer._committed_offset[reading.events] = 5
    await reading.fetch({reading.events: [5, 6, 9, 10]})
    [batch] = reading.batches
    acknowledge(app, batch[2:])
    assert reading.consumer._new_offset(reading.events) is None
    acknowledge(app, batch[:2] + [batch[0]])  # twice is once
    assert reading.consumer._new_offset(reading.events) == 10
    reading.consumer._committed_offset[reading.events] = 10  # as the commit of that round does
    assert reading.consumer._new_offset(reading.events) == 11
    assert reading.consumer._n_acked == 4


async def test_nothing_is_delivered_once_the_flow_stopped_and_the_partitions_are_sought_back(app, monkeypatch):
    reading = _Reading(app, monkeypatch)
    sought: list[str] = []

    async def perform_seek() -> None:
        sought.append("seek")

    monkeypatch.setattr(reading.consumer, "perform_seek", perform_seek)
    reading.consumer.stop_flow()  # a rebalance began after the fetch
    await reading.fetch({reading.events: [5]})
    assert reading.batches == [] and not reading.consumer.unacked and sought == ["seek"]


def test_the_topics_just_read_go_behind_the_others_in_the_fetched_records():
    """aiokafka hands fetched records over in the order the fetches arrived: without turns, a
    backlog of input partitions fetched first starves the internal events topic."""
    inputs, more_inputs, events = TP("shop.purchases", 0), TP("shop.purchases", 1), TP("winback.events", 0)
    fetched = OrderedDict([(inputs, "more records"), (more_inputs, "records"), (events, "records")])
    client = SimpleNamespace(_fetcher=SimpleNamespace(_records=fetched))
    take_turns(client, {inputs: [fetched_record(inputs, 0)]})  # type: ignore[arg-type]
    assert list(fetched) == [events, inputs, more_inputs]


@pytest.mark.parametrize("timestamp", [1_700_000_000_123, None])
def test_a_fetched_record_becomes_the_message_fausts_constructor_makes_slot_for_slot(app, timestamp):
    tp = TP("shop.purchases", 3)
    record = ConsumerRecord(tp.topic, tp.partition, 41, timestamp, 1, b"c1", b"{}", None, 2, 2, (("h", b"v"),))
    app.consumer_generation_id = 7
    ours = new_consumer_message(tp, record, app.consumer_generation_id)
    fausts = faust_aiokafka.Consumer._to_message(app.consumer, tp, record)
    assert type(ours) is type(fausts) is ConsumerMessage
    for slot in Message.__slots__:
        assert hasattr(ours, slot) == hasattr(fausts, slot), slot
        if hasattr(fausts, slot) and slot != "__weakref__":
            assert getattr(ours, slot) == getattr(fausts, slot), slot
