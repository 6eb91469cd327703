"""The due index returns exactly the customers due, each once, at their latest due time."""

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.runtime.due_index import DueIndex, PartitionedDueIndex


def test_pops_only_what_is_due_in_order():
    index = DueIndex([("a", 30.0), ("b", 10.0), ("c", 20.0)])
    assert index.pop_due(20.0) == [("b", 10.0), ("c", 20.0)]
    assert len(index) == 1 and index.next_due() == 30.0
    assert index.pop_due(25.0) == []


def test_rescheduling_supersedes_the_old_entry():
    index = DueIndex()
    index.set("a", 10.0)
    index.set("a", 50.0)
    assert index.pop_due(20.0) == []
    assert index.pop_due(50.0) == [("a", 50.0)]
    index.set("b", 5.0)
    index.set("b", None)
    assert index.pop_due(100.0) == [] and len(index) == 0


def test_pop_respects_limit():
    index = DueIndex((f"c{n}", float(n)) for n in range(10))
    assert [customer for customer, _ in index.pop_due(100.0, limit=3)] == ["c0", "c1", "c2"]
    assert len(index) == 7


def test_heap_stays_bounded_under_constant_rescheduling():
    index = DueIndex()
    for round_ in range(50):
        for customer in range(100):
            index.set(f"c{customer}", float(round_ * 1000 + customer))
    assert len(index) == 100
    assert len(index._heap) <= 2 * 100 + 1024


def test_each_partition_is_popped_by_its_own_time():
    index = PartitionedDueIndex()
    index.set(0, "a", 5.0)
    index.set(1, "b", 5.0)
    assert index.pop_due({0: 10.0, 1: 1.0}.__getitem__) == [(0, "a", 5.0)]


def test_partitions_are_loaded_and_dropped_independently():
    index = PartitionedDueIndex()
    index.set(0, "a", 1.0)
    index.load(1, [("b", 2.0), ("c", 99.0)])
    index.drop(0)
    assert index.partitions == {1}
    assert index.pop_due(lambda partition: 10.0) == [(1, "b", 2.0)]
    assert len(index) == 1


operations = st.lists(
    st.tuples(st.sampled_from("abcdefgh"), st.none() | st.integers(0, 100).map(float)), max_size=60
)


@settings(max_examples=300, deadline=None)
@given(operations, st.integers(0, 100).map(float))
def test_matches_a_plain_dict(ops, now):
    """Model-based: the index pops exactly what a dict of latest due times says is due."""
    index, model = DueIndex(), {}
    for customer, due in ops:
        index.set(customer, due)
        if due is None:
            model.pop(customer, None)
        else:
            model[customer] = due
    expected = sorted((due, customer) for customer, due in model.items() if due <= now)
    assert [(due, customer) for customer, due in index.pop_due(now)] == expected
    assert len(index) == len(model) - len(expected)
