"""benchmarks/ceilings.py: the arithmetic of a cost split, and records spread over customers."""

import pytest


def test_a_split_gives_the_ratio_now_and_with_either_part_free_or_a_runtime_as_cheap_as_the_relay(ceilings):
    split = ceilings.Split(relay=10.0, worker=50.0, core=20.0)

    assert split.runtime == 30.0
    assert split.ratio == pytest.approx(0.2)
    assert split.free_runtime == pytest.approx(0.5)
    assert split.free_core == pytest.approx(1 / 3)
    assert split.relay_runtime == pytest.approx(1 / 3)


def test_the_cores_budget_is_what_the_goal_leaves_after_the_runtime_and_negative_when_nothing_does(ceilings):
    split = ceilings.Split(relay=10.0, worker=50.0, core=20.0)

    assert split.core_budget(0.2) == pytest.approx(20.0)  # today's core exactly: today's ratio
    assert split.core_budget(0.5) == pytest.approx(-10.0)  # 20 µs in all, the runtime alone is 30


def test_records_spread_over_customers_add_up_to_the_real_number_each_near_its_share(ceilings):
    events = [1, 4, 2, 7, 3, 1, 1]

    shares = list(ceilings.spread(1.7, events))

    assert sum(shares) == round(1.7 * sum(events))
    assert len(shares) == len(events)
    for count, share in zip(events, shares):
        assert abs(share - 1.7 * count) <= 1


def test_a_whole_number_per_event_is_given_exactly(ceilings):
    assert list(ceilings.spread(2.0, [3, 1, 5])) == [6, 2, 10]
