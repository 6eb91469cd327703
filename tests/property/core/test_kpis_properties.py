"""Invariants of the campaign KPIs and their intervals, over generated inputs."""

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.kpis import Converted, Engaged, KpiTally, Lapse, Sent
from streams.core.statistics import Z_95, proportion_difference, t_quantile, wilson
from streams.model.records import Offer
from streams.policy.sections import Economics

counts = st.integers(min_value=1, max_value=500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(counts, counts)
def test_the_difference_interval_holds_its_estimate_within_minus_one_and_one(first, second):
    interval = proportion_difference(*first, *second)
    assert -1 - 1e-9 <= interval.low <= interval.estimate <= interval.high <= 1 + 1e-9


@given(counts)
def test_the_wilson_interval_holds_the_proportion(count):
    low, high = wilson(*count)
    assert 0 <= low <= count[0] / count[1] <= high <= 1


@given(st.floats(min_value=1, max_value=500), st.floats(min_value=0.1, max_value=50))
def test_the_t_quantile_is_above_the_normal_and_falls_with_more_freedom(freedom, more):
    assert Z_95 < t_quantile(0.975, freedom + more) <= t_quantile(0.975, freedom)


facts = st.one_of(
    st.builds(Lapse, st.just("winback"), st.just("winback"), st.sampled_from(["a", "b"]), st.booleans()),
    st.builds(Sent, st.sampled_from(["email", "sms"]), st.just("winback"), st.integers(0, 2), st.sampled_from(["a", "b"])),
    st.builds(
        Engaged, st.just("winback"), st.integers(0, 2), st.sampled_from(["a", "b"]), st.sampled_from(["email", "sms"]),
        st.sampled_from(["delivered", "open", "click", "unsubscribe"]),
    ),
    st.builds(
        Converted, st.just("winback"), st.sampled_from(["a", "b"]), st.booleans(), st.sampled_from([0.0, 10.0, 99.5]),
        st.sampled_from(["EUR", "USD"]), st.sampled_from([None, 0, 1]), st.sampled_from([None, "email"]),
        st.sampled_from([None, Offer(percent_off=10), Offer(free_shipping=True)]), st.sampled_from([None, "CODE"]),
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(facts, max_size=60), st.randoms(use_true_random=False))
def test_the_kpis_do_not_depend_on_the_order_of_the_records(records, random):
    economics = Economics(currency="EUR", exchange_rates={"USD": 0.9}, send_costs={"email": 0.01, "sms": 0.1}, free_shipping_cost=3)
    shuffled = list(records)
    random.shuffle(shuffled)
    first, second = KpiTally(economics), KpiTally(economics)
    for record in records:
        first.add(record)
    for record in shuffled:
        second.add(record)
    assert first.summary() == second.summary()
