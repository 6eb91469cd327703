"""kill -9 a worker on the event clock while it holds events back, start it again: the held
events, never acknowledged, are applied exactly once, every record is published once and equals
the pure engine's, and so does the activity table.  Once for each input path (``InputPath``):
input keyed by customer, which the customers agent reads itself, and unkeyed input, which
ingest forwards to the internal events topic.

On the event clock the customers agent holds each event until its customer partition's time
has passed it, and acknowledges a record only once nothing before it in its partition is held
(``streams.runtime.held_events``), so no offset is committed past a held event and a crash
hands it to the next run.  The records held are the input's on the keyed path, the events
topic's on the repartitioned one.  The worker's inputs never go idle before the kill, so a
customer partition's time stops just before the earliest latest event of the input partitions
that feed it (on the keyed path those of its number, ``clock.KeyedEventClock``; on the
repartitioned path every input partition, as the markers ingest sends after its forwards report
them, ``clock.EventTimeClock``): the worker applies exactly the events before that, fires what
falls due by then and holds the rest (``HeldBack``), however fast it and this test are.  The
history goes on the input topics in three parts:

1. the worker applies what it can of the first and holds the rest; it must commit each
   partition that holds up to its first held record, and no further;
2. the second moves every partition's time on, and the worker applies more; once its table and
   output are exactly what the engine decides up to the new times, it is killed, so the kill
   lands amid the work by construction (events held, records still to decide, nothing in
   flight), and before its next commit as a rule (what was applied since is read again);
3. the last part goes on the topics and the worker starts again, its inputs going idle after a
   second, as the end of a replay needs.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, defaultdict
from collections.abc import Set
from datetime import datetime, timezone
from typing import NamedTuple

import msgspec
import pytest
from aiokafka.structs import ConsumerRecord

from streams.devtools.spawn import WorkerProcess
from streams.devtools.testing import Run
from streams.devtools.traffic import generate_history
from streams.model.codec import Rejection, decode_line, decode_record
from streams.model.events import AnyInput, encode_event
from streams.runtime.partitioning import partition_of
from streams.runtime.settings import Settings
from streams.runtime.watermarks import MARKER_KEY
from tests.support.expected import in_event_time
from tests.support.kafka_io import committed_offsets, produce, published_id, read_all, read_published
from tests.support.phases import check_copies, wait_for_table

Source = tuple[str, int]  # a topic and partition: (event type, partition) for an input partition in the clock's terms


class InputPath(NamedTuple):
    """How one input path reads the history: where each event goes, which input partitions
    bound a customer partition's time, and which records are held."""

    keyed: bool  # the input is keyed by customer and read by the customers agent (else ingest forwards it)

    def partitions(self, history: list[AnyInput], partitions: int) -> list[int]:
        """Each event's input partition: its customer's, or, unkeyed, the next of its topic's in turn
        (every input partition gets some of every part, and its latest event is near the part's end)."""
        if self.keyed:
            return [_partition(event, partitions) for event in history]
        sent: Counter[str] = Counter()
        placed = []
        for event in history:
            placed.append(sent[_kind(event)] % partitions)
            sent[_kind(event)] += 1
        return placed

    def records(self, events: list[AnyInput], placed: list[int], settings: Settings) -> list[tuple[str, bytes, bytes, int]]:
        """Each event on its topic and input partition, keyed by its customer on the keyed path,
        else by its own id (the profiles topic is compacted: a record needs a key)."""
        return [
            (settings.input_topics[_kind(event)], (event.customer_id if self.keyed else event.event_id).encode(), encode_event(event), partition)
            for event, partition in zip(events, placed)
        ]

    def feeding(self, partition: int, settings: Settings) -> list[Source]:
        """The input partitions whose latest events bound customer ``partition``'s time: those of its
        number (``clock.KeyedEventClock``), or every one, whoever reads it (``clock.EventTimeClock``)."""
        numbers = [partition] if self.keyed else range(settings.partitions)
        return [(kind, number) for kind in settings.input_topics for number in numbers]

    def holding(self, settings: Settings) -> dict[str, str | None]:
        """The topics whose records the customers agent holds, each with its event type (None: any, said in the record)."""
        if self.keyed:
            return {topic: kind for kind, topic in settings.input_topics.items()}
        return {settings.topic_events: None}

    def event_of(self, record: ConsumerRecord, kind: str | None) -> AnyInput | None:
        """The event of a record of a ``holding`` topic (None: a watermark marker)."""
        if kind is not None:
            event = decode_record(record.value, kind, now=time.time())
        elif record.key == MARKER_KEY:
            return None
        else:
            event = decode_line(record.value)
        assert not isinstance(event, Rejection), (record.topic, record.partition, record.offset, event)
        return event


KEYED, REPARTITIONED = InputPath(keyed=True), InputPath(keyed=False)

# RocksDB, the image's store: after the kill the worker starts again on its local files.
pytestmark = [
    pytest.mark.reliability, pytest.mark.parametrize("store", ["rocksdb"]),
    pytest.mark.parametrize("path", [KEYED, REPARTITIONED], ids=["keyed", "repartitioned"]),
]

START = datetime(2023, 1, 1, tzinfo=timezone.utc)
PARTS = (0.4, 0.6)  # the first two parts of the history end at these shares of its events
EVENT_CLOCK = {
    "WINBACK_CLOCK": "event", "WINBACK_TICK_SECONDS": "0.5",
    "WINBACK_BATCH_RECORDS": "100",  # a part takes many batches: events are held over several
}
NEVER_IDLE = "600"  # seconds: longer than the test, so no input stops holding time back before the kill
IDLE_AFTER_RESTART = "1"
_ENCODER = msgspec.json.Encoder()  # the emitter's: records must match it byte for byte


async def test_kill_9_while_events_are_held_applies_each_of_them_once(
    app_settings: Settings, worker_factory, report, path: InputPath
):
    settings = app_settings
    history = generate_history(150, 300, seed=5, start=START)
    placed = path.partitions(history, settings.partitions)
    first, second = _parts(history)
    final = in_event_time(history, until=history[-1].occurred_at.timestamp())
    expected = {record.id: _ENCODER.encode(record) for _, record in final.records}

    await produce(settings.broker, path.records(first, placed, settings))
    worker = worker_factory(**EVENT_CLOCK, WINBACK_INPUT_KEYED=str(path.keyed).lower(), WINBACK_CLOCK_IDLE_SECONDS=NEVER_IDLE)
    held_back = await _applied_and_held(settings, worker, path, first, placed)
    await _wait_for_commits(settings, _first_held(settings, path, await _held_records(settings, path), held_back))

    await produce(settings.broker, path.records(second[len(first):], placed[len(first):], settings))
    held_back = await _applied_and_held(settings, worker, path, second, placed)
    held = worker.metric("winback_events_consumed_total") - worker.metric("winback_events_applied_total")
    killed = time.monotonic()
    worker.kill()
    at_kill = await _amid_the_work(settings, path, held_back, second, held, expected.keys())

    await produce(settings.broker, path.records(history[len(second):], placed[len(second):], settings))
    worker.env["WINBACK_CLOCK_IDLE_SECONDS"] = IDLE_AFTER_RESTART
    await asyncio.to_thread(worker.start)
    ready = time.monotonic() - killed
    await read_published(settings.broker, settings.output_topics, expected)
    published = time.monotonic() - killed
    await wait_for_table(settings, final.states)
    figures = check_copies(await read_all(settings.broker, settings.output_topics), expected)
    # The kill came with nothing in flight (the table and the output were exactly the engine's up to
    # the partitions' times), so a second copy would be something applied before the kill applied again.
    assert figures["duplicates"] == 0, figures
    assert worker.alive(), worker.tail()
    report(
        events=len(history), expected_ids=len(expected), **figures, **at_kill,
        applied_after_restart=int(worker.metric("winback_events_applied_total")),
        kill_to_ready_s=round(ready, 1), kill_to_all_published_s=round(published, 1),
    )


def _parts(history: list[AnyInput]) -> tuple[list[AnyInput], list[AnyInput]]:
    """The history up to the end of its first part, and up to the end of its second (``PARTS``).

    Each part is later than all of the one before, as a replay writes its log: with no input
    idle meanwhile, no event is late when its part arrives."""
    first, second = (history[: int(len(history) * share)] for share in PARTS)
    assert first[-1].occurred_at < history[len(first)].occurred_at and second[-1].occurred_at < history[len(second)].occurred_at
    return first, second


async def _amid_the_work(
    settings: Settings, path: InputPath, held_back: HeldBack, events: list[AnyInput], held: float, expected: Set[str]
) -> dict[str, int]:
    """Assert what the killed worker had read (``events``), applied and published: exactly what
    its partitions' times allowed, with ``held`` events held (its own count), some records still
    to decide, and no offset committed past a held record.  Return the figures to report."""
    released = held_back.released(events)
    assert held == len(events) - len(released) > 0, f"the worker held {held} events, the clock holds {len(events) - len(released)}"
    published = {published_id(record) for record in await read_all(settings.broker, settings.output_topics)}
    assert published == _ids(held_back.run(events)), "the records at the kill are not those decided up to the partitions' times"
    assert published < expected, "the kill must land with records still to decide"
    records = await _held_records(settings, path)
    committed = await _committed_up_to(settings, _first_held(settings, path, records, held_back))
    return {
        "applied_at_kill": len(released), "held_at_kill": int(held), "published_at_kill": len(published),
        "applied_not_committed_at_kill": sum(
            1 for source, offset, event in records if held_back.applied(event) and offset >= committed.get(source, 0)
        ),
    }


class HeldBack(NamedTuple):
    """How far a worker that has read some events, and seen no input go idle, has applied them."""

    now: dict[int, float]  # customer partition -> its time

    @classmethod
    def after(cls, events: list[AnyInput], placed: list[int], settings: Settings, path: InputPath) -> HeldBack:
        """Each customer partition's time once ``events`` (on input partitions ``placed``) are read
        and none of the input partitions is idle: just before the earliest latest event of those
        that feed it (``InputPath.feeding``)."""
        latest: dict[Source, float] = {}
        for event, partition in zip(events, placed):
            source = (_kind(event), partition)
            latest[source] = max(latest.get(source, -math.inf), event.occurred_at.timestamp())
        now = {
            partition: math.nextafter(min(latest.get(source, -math.inf) for source in path.feeding(partition, settings)), -math.inf)
            for partition in range(settings.partitions)
        }
        assert all(map(math.isfinite, now.values())), f"every input partition needs events in every part: {now}"
        return cls(now)

    def applied(self, event: AnyInput) -> bool:
        """Whether the event is applied: its customer partition's time has passed it."""
        return event.occurred_at.timestamp() <= self.now[_partition(event, len(self.now))]

    def released(self, events: list[AnyInput]) -> list[AnyInput]:
        """The applied ``events``."""
        return [event for event in events if self.applied(event)]

    def run(self, events: list[AnyInput]) -> Run:
        """The pure engine's records and states for the applied ``events``, each partition's
        customers advanced to its time, as the scheduler fires them."""
        partitions: dict[int, list[AnyInput]] = defaultdict(list)
        for event in self.released(events):
            partitions[_partition(event, len(self.now))].append(event)
        run = Run()
        for partition, applied in partitions.items():
            part = in_event_time(applied, until=self.now[partition])
            run.records += part.records
            run.states.update(part.states)
        return run


async def _applied_and_held(
    settings: Settings, worker: WorkerProcess, path: InputPath, events: list[AnyInput], placed: list[int]
) -> HeldBack:
    """Wait until the worker has read ``events`` (all there is on its topics) and its table is
    exactly the engine's over what their times let it apply; how far that is."""
    deadline = time.monotonic() + 60
    while worker.metric("winback_events_consumed_total") < len(events):
        assert time.monotonic() < deadline, f"the worker read fewer than {len(events)} records in 60 s:\n{worker.tail()}"
        await asyncio.sleep(0.2)
    held_back = HeldBack.after(events, placed, settings, path)
    await wait_for_table(settings, held_back.run(events).states, applied=lambda partition, event: held_back.applied(event))
    return held_back


async def _held_records(settings: Settings, path: InputPath) -> list[tuple[Source, int, AnyInput]]:
    """Every event on the topics whose records the customers agent holds, with its partition and offset."""
    kinds = path.holding(settings)
    records = [(record, path.event_of(record, kinds[record.topic])) for record in await read_all(settings.broker, list(kinds))]
    return [((record.topic, record.partition), record.offset, event) for record, event in records if event is not None]


def _first_held(settings: Settings, path: InputPath, records: list[tuple[Source, int, AnyInput]], held_back: HeldBack) -> dict[Source, int]:
    """The offset of the first record each partition of the ``holding`` topics holds (``records``: all they have)."""
    first: dict[Source, int] = {}
    for source, offset, event in records:
        if not held_back.applied(event):
            first[source] = min(first.get(source, offset), offset)
    holding = {(topic, partition) for topic in path.holding(settings) for partition in range(settings.partitions)}
    assert first.keys() == holding, f"the commits are checked where events are held: only {sorted(first)} hold any"
    return first


async def _wait_for_commits(settings: Settings, first_held: dict[Source, int], timeout: float = 30) -> None:
    """Wait until the worker has committed every holding partition up to its first held record;
    fail at once if it committed one past it (the held record would be lost in a crash)."""
    deadline = time.monotonic() + timeout
    while (committed := await _committed_up_to(settings, first_held)) != first_held:
        assert time.monotonic() < deadline, f"after {timeout} s committed {committed}, not up to the held records {first_held}"
        await asyncio.sleep(0.5)


async def _committed_up_to(settings: Settings, first_held: dict[Source, int]) -> dict[Source, int]:
    """The worker's committed offsets of the holding partitions (0: none yet), none past its first held record."""
    committed = await committed_offsets(settings.broker, settings.app_id)
    for source, offset in first_held.items():
        assert committed.get(source, 0) <= offset, f"{source} committed up to {committed[source]}, past its held record {offset}"
    return {source: committed.get(source, 0) for source in first_held}


def _kind(event: AnyInput) -> str:
    return event.__struct_config__.tag  # type: ignore[return-value]  # (every event type has a str tag)


def _partition(event: AnyInput, partitions: int) -> int:
    """The event's customer partition."""
    return partition_of(event.customer_id.encode(), partitions)


def _ids(run: Run) -> set[str]:
    return {record.id for _, record in run.records}
