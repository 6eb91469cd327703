"""Input positions recognise every replayed record and no new one, in any application order (issue item 8).

A customer's records from one input partition are applied in arrival (offset) order with the
wall and fixed clocks and in any order with the event clock, where the runtime says which
offsets still wait.  After a crash at any point, everything is delivered again, in any order:
exactly the records applied before the crash are replays.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.model.activity import CustomerActivity
from streams.model.positions import Position, source_id

SOURCE = source_id("shop.purchases", 3)
offset_sets = st.sets(st.integers(0, 400), min_size=1, max_size=30).map(sorted)


def apply(state: CustomerActivity, order: list[int], arrived: list[int]) -> list[bool]:
    """``replayed`` of each offset of ``order`` in turn; ``arrived`` offsets wait until applied."""
    waiting = list(arrived)
    answers = []
    for offset in order:
        if offset in waiting:
            waiting.remove(offset)
        answers.append(state.replayed(Position(SOURCE, offset, min(waiting) if waiting else None)))
    return answers


@settings(max_examples=300, deadline=None)
@given(offset_sets, st.data())
def test_a_replay_of_any_prefix_in_any_order_recognises_exactly_what_was_applied(offsets, data):
    first = data.draw(st.permutations(offsets), label="first order")
    crash = data.draw(st.integers(0, len(offsets)), label="applied before the crash")
    state = CustomerActivity.starting(0)
    assert apply(state, first[:crash], offsets) == [False] * crash
    stored = CustomerActivity.decode(state.encode())  # what the changelog kept
    again = data.draw(st.permutations(offsets), label="order after the restart")
    assert apply(stored, again, offsets) == [offset in first[:crash] for offset in again]
    assert stored.applied[SOURCE] == [offsets[-1] + 1]  # all applied: one offset is all that is kept


@given(offset_sets, st.integers(0, 30))
def test_in_offset_order_only_one_offset_is_kept(offsets, crash):
    state = CustomerActivity.starting(0)
    apply(state, offsets[:crash], [])
    assert len(state.applied.get(SOURCE, [0])) == 1
    assert apply(state, offsets, []) == [offset in offsets[:crash] for offset in offsets]
