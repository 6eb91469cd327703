"""Records of a batch topic are taken and acknowledged a partition at a time
(``DurableConsumer._take_unread`` and ``acknowledge``); Faust's own loop does it record by
record.  Whatever the jumps in the offsets (compaction), the fetches, and the order and
grouping of the acknowledgements, both commit the same offsets round after round."""

from __future__ import annotations

import asyncio
import itertools

from faust.types import TP
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.runtime.faust_patches import DurableConsumer, new_consumer_message
from streams.runtime.settings import Settings
from streams.runtime.topology import create_app
from tests.support.fetched import fetched_record

TOPIC = "winback.events"
PARTITIONS = itertools.count()  # a partition of its own for each example: no state to reset


def _consumer() -> DurableConsumer:
    app = create_app(Settings(broker="127.0.0.1:1", app_id="batch-acks"))

    async def handler(batch: list) -> None:
        return None

    app.read_in_batches(app.topic(TOPIC), handler)
    asyncio.run(app.topics._update_indices())  # which topics' records are acknowledged
    return app.consumer


OURS, FAUSTS = _consumer(), _consumer()


@st.composite
def runs(draw: st.DrawFn) -> tuple[int | None, list[list[int]], list[list[int]]]:
    """Where the partition was sought (None: never committed), its fetches (offsets with
    jumps, in order), and the acknowledgements (every offset once, in chunks, in any order)."""
    offsets = sorted(draw(st.sets(st.integers(0, 40), min_size=1, max_size=20)))
    committed = draw(st.none() | st.integers(0, offsets[0]))
    fetch_cuts = sorted(draw(st.sets(st.integers(1, len(offsets)), max_size=3)))
    acked = draw(st.permutations(offsets))
    ack_cuts = sorted(draw(st.sets(st.integers(1, len(offsets)), max_size=5)))
    return committed, _split(offsets, fetch_cuts), _split(acked, ack_cuts)


def _split(items: list[int], cuts: list[int]) -> list[list[int]]:
    bounds = [0, *cuts, len(items)]
    return [items[start:end] for start, end in zip(bounds, bounds[1:]) if end > start]


async def _record_by_record(consumer: DurableConsumer, tp: TP, fetch: list[int]) -> dict[int, object]:
    """Faust's loop (``Consumer._drain_messages``): each record's jump noted, then its read offset."""
    messages = {}
    for offset in fetch:
        read = consumer._read_offset[tp]
        if read is None or offset >= read:
            if read and offset - read > 1:
                await consumer._add_gap(tp, read + 1, offset)
            consumer._read_offset[tp] = offset
            messages[offset] = consumer._to_message(tp, fetched_record(tp, offset))
    return messages


async def _commits(committed: int | None, fetches: list[list[int]], acks: list[list[int]]) -> None:
    tp = TP(TOPIC, next(PARTITIONS))
    for consumer in (OURS, FAUSTS):
        consumer._committed_offset[tp] = consumer._read_offset[tp] = committed
    ours: dict[int, object] = {}
    fausts: dict[int, object] = {}
    for fetch in fetches:
        taken = await OURS._take_unread(tp, [new_consumer_message(tp, fetched_record(tp, offset), None) for offset in fetch])
        ours.update((message.offset, message) for message in taken)
        fausts.update(await _record_by_record(FAUSTS, tp, fetch))
    assert ours.keys() == fausts.keys() and OURS._read_offset[tp] == FAUSTS._read_offset[tp]
    for chunk in acks:
        OURS.acknowledge(ours[offset] for offset in chunk if offset in ours)
        for offset in chunk:
            if offset in fausts:
                FAUSTS.ack(fausts[offset])
        for _ in range(2):  # a commit round, and the one after it
            ours_next, fausts_next = OURS._new_offset(tp), FAUSTS._new_offset(tp)
            assert ours_next == fausts_next
            if ours_next is not None:
                OURS._committed_offset[tp] = FAUSTS._committed_offset[tp] = ours_next
    assert OURS._n_acked == FAUSTS._n_acked


@settings(max_examples=120, deadline=None)
@given(runs())
def test_a_partition_at_a_time_commits_what_faust_commits_record_by_record(run):
    asyncio.run(_commits(*run))
