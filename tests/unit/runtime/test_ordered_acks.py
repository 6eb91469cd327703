"""Acknowledgements in offset order while events are held (event clock), and the Faust commit
rule that makes them necessary."""

from __future__ import annotations

from faust.types import TP
from hypothesis import given
from hypothesis import strategies as st

from streams.runtime.ordered_acks import OrderedAcks
from streams.runtime.settings import Settings
from streams.runtime.topology import create_app


def test_faust_commits_past_one_unacknowledged_offset():
    """The upstream rule guarded against: committed 100, 100 still held, 101 acknowledged."""
    consumer = create_app(Settings(broker="127.0.0.1:1", app_id="ordered-acks-test")).consumer
    tp = TP("events", 0)
    consumer._committed_offset[tp] = 100
    consumer._acked[tp] = [101]
    assert consumer._new_offset(tp) == 102  # offset 100 would be committed without being handled


def test_a_marker_after_a_held_event_waits_for_it():
    acks: OrderedAcks[str] = OrderedAcks()
    acks.hold(0, 100)
    assert acks.done(0, 101, "marker") == []
    assert acks.done(0, 100, "event") == ["event", "marker"]


def test_records_with_nothing_held_before_them_are_acknowledged_at_once():
    acks: OrderedAcks[str] = OrderedAcks()
    acks.hold(0, 105)
    assert acks.done(0, 100, "marker") == ["marker"]
    assert acks.done(1, 106, "other partition") == ["other partition"]


def test_after_forget_nothing_is_held_back():
    acks: OrderedAcks[str] = OrderedAcks()
    acks.hold(3, 10)
    assert acks.done(3, 11, "marker") == []
    acks.forget()
    assert acks.done(3, 12, "marker after the rebalance") == ["marker after the rebalance"]


@given(st.data())
def test_no_offset_is_acknowledged_while_an_earlier_one_is_held(data):
    """Records arrive in offset order, some held and released in any order; every record is
    acknowledged exactly once, and never while an earlier offset of its partition is held."""
    count = data.draw(st.integers(1, 40))
    holds = data.draw(st.lists(st.booleans(), min_size=count, max_size=count))
    acks: OrderedAcks[int] = OrderedAcks()
    acknowledged: list[int] = []
    pending: list[int] = []

    def finish(offset: int) -> None:
        for item in acks.done(0, offset, offset):
            assert all(held >= item for held in pending), f"{item} acknowledged while {pending} held"
            acknowledged.append(item)

    for offset, hold in enumerate(holds):
        if hold:
            acks.hold(0, offset)
            pending.append(offset)
        else:
            finish(offset)
        while pending and data.draw(st.booleans()):  # release some held ones, in any order
            offset_released = pending.pop(data.draw(st.integers(0, len(pending) - 1)))
            finish(offset_released)
    for offset_released in list(pending):
        pending.remove(offset_released)
        finish(offset_released)
    assert sorted(acknowledged) == list(range(count))
    assert acknowledged == sorted(acknowledged)

