"""The worker's metrics: what each published record counts, the stage gauge, the lag snapshot,
and an exposition that follows Prometheus' naming conventions."""

from __future__ import annotations

import msgspec
import pytest
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.parser import text_string_to_metric_families

from streams.runtime.observability import metrics
from streams.core.engine import Engine
from streams.devtools import testing
from streams.model.records import STAGES
from streams.policy.sections import Economics
from tests.support.builders import DAY, moment, policy, purchase

# Capped to one message in 30 days: the second step is a skip; a purchase 10 days after the
# trigger converts.
POLICY = policy("""
activity: {signals: [purchase]}
stages: {reactivation: 30, winback: 90, sunset: 365}
caps: {when_capped: skip, limits: [{messages: 1, per_days: 30}]}
attribution: {window_days: 14}
campaigns:
  reactivation:
    steps:
      - {after_days: 0, channel: email, template: we-miss-you, offer: {percent_off: 10}}
      - {after_days: 7, channel: sms, template: reminder}
""")


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def lapse_and_return() -> list:
    """A trigger, a command, a skip (day 38), an open of the email (day 39) and an outcome
    (day 40, redeeming the email's 10 % off) of customer c1."""
    engine = Engine(POLICY)
    lapsed = engine.advance("c1", engine.apply("c1", None, purchase(0)).state, moment(38))
    opened = engine.apply("c1", lapsed.state, testing.email("c1", moment(39), "open", message_id=lapsed.records[1].command_id))
    redeemed = testing.purchase("c1", moment(40), amount=30.0, discount_code="MISSYOU")
    returned = engine.apply("c1", opened.state, redeemed)
    return [*lapsed.records, *opened.records, *returned.records]


def test_every_kind_of_published_record_is_counted_with_its_labels():
    records = lapse_and_return()
    assert [type(record).__name__ for record in records] == ["Trigger", "MessageCommand", "Skip", "Engagement", "Outcome"]
    watched = {
        ("winback_triggers_total", (("stage", "reactivation"), ("campaign", "reactivation"), ("variant", "default"),
                                    ("holdout", "false"), ("reason", "threshold"))): 1,
        ("winback_commands_total", (("channel", "email"), ("campaign", "reactivation"), ("step", "0"),
                                    ("variant", "default"))): 1,
        ("winback_skips_total", (("campaign", "reactivation"), ("reason", "capped"), ("action", "skipped"))): 1,
        ("winback_conversions_total", (("campaign", "reactivation"), ("step", "0"), ("variant", "default"),
                                       ("channel", "email"), ("holdout", "false"))): 1,
        ("winback_conversion_revenue_total", (("campaign", "reactivation"), ("step", "0"), ("variant", "default"),
                                              ("channel", "email"), ("holdout", "false"), ("currency", "EUR"))): 30.0,
        ("winback_incentive_discount_total", (("campaign", "reactivation"), ("step", "0"), ("variant", "default"),
                                              ("channel", "email"), ("currency", "EUR"))): 3.0,
        ("winback_engagements_total", (("campaign", "reactivation"), ("step", "0"), ("variant", "default"),
                                       ("channel", "email"), ("action", "open"))): 1,
    }
    before = {key: sample(key[0], **dict(key[1])) for key in watched}
    metrics.count_published(records, emitted_at=moment(38))
    assert {key: sample(key[0], **dict(key[1])) - before[key] for key in watched} == watched


def test_a_trigger_the_predictive_trigger_started_is_counted_apart():
    trigger = msgspec.structs.replace(lapse_and_return()[0], reason="predictive", p_alive=0.3)
    labels = {"stage": "reactivation", "campaign": "reactivation", "variant": "default", "holdout": "false"}
    before = {reason: sample("winback_triggers_total", **labels, reason=reason) for reason in ("predictive", "threshold")}
    metrics.count_published([trigger], emitted_at=moment(38))
    after = {reason: sample("winback_triggers_total", **labels, reason=reason) for reason in ("predictive", "threshold")}
    assert (after["predictive"] - before["predictive"], after["threshold"] - before["threshold"]) == (1, 0)


def test_records_of_one_series_in_one_call_count_each():
    """The counts are tallied per call and added once per series: the sum is every record's."""
    trigger, command, skip, engagement, outcome = lapse_and_return()
    labels = {"stage": "reactivation", "campaign": "reactivation", "variant": "default", "holdout": "false", "reason": "threshold"}
    revenue = {"campaign": "reactivation", "step": "0", "variant": "default", "channel": "email", "holdout": "false", "currency": "EUR"}
    before = sample("winback_triggers_total", **labels), sample("winback_conversion_revenue_total", **revenue)
    metrics.count_published([trigger, command, trigger, outcome, trigger, outcome], emitted_at=moment(38))
    after = sample("winback_triggers_total", **labels), sample("winback_conversion_revenue_total", **revenue)
    assert (after[0] - before[0], after[1] - before[1]) == (3, 60.0)


def test_a_batch_observed_at_once_is_exposed_as_a_histogram_observing_each_record_is():
    """``observe_processing`` observes a batch's time once per record in one call; the exposition
    is a prometheus_client Histogram's with the same observations, bucket for bucket."""
    registry = CollectorRegistry()
    reference = Histogram("batch_seconds", "A batch.", buckets=metrics.PROCESSING_BUCKETS, registry=registry)
    repeated = metrics.RepeatedHistogram("batch_seconds", "A batch.", metrics.PROCESSING_BUCKETS)
    for seconds, records in [(0.0005, 3), (0.0007, 2), (0.25, 5), (7.5, 1), (0.0, 4)]:  # on a bound, between, above all
        repeated.observe(seconds, records)
        for _ in range(records):
            reference.observe(seconds)
    [expected], [got] = registry.collect(), repeated.collect()
    assert [(sample.name, sample.labels, sample.value) for sample in got.samples] == [
        (sample.name, sample.labels, pytest.approx(sample.value)) for sample in expected.samples
    ]
    assert (got.name, got.type, got.documentation) == (expected.name, expected.type, expected.documentation)


def test_transition_lag_is_emission_minus_due_time_for_triggers_and_commands():
    trigger, command, *_ = lapse_and_return()  # both due on day 30
    count, total = sample("winback_transition_lag_seconds_count"), sample("winback_transition_lag_seconds_sum")
    metrics.count_published([trigger, command], emitted_at=moment(30) + 90)
    assert sample("winback_transition_lag_seconds_count") - count == 2
    assert sample("winback_transition_lag_seconds_sum") - total == 180
    # An event dated ahead of the worker's clock can fire what was due before it: never negative.
    metrics.count_published([trigger], emitted_at=moment(30) - DAY)
    assert sample("winback_transition_lag_seconds_sum") - total == 180


def test_customers_per_stage_follow_changes_and_are_replaced_by_a_recount():
    metrics.set_customers_per_stage({0: 5, 1: 2})
    metrics.count_stage_change(None, 0)  # a new customer
    metrics.count_stage_change(0, 1)  # lapses
    metrics.count_stage_change(1, 1)  # a step of the same stage
    metrics.count_stage_change(1, None)  # erased: in no stage any more
    assert {stage: sample("winback_customers", stage=stage) for stage in STAGES} == {
        "active": 5, "reactivation": 2, "winback": 0, "sunset": 0
    }
    metrics.set_customers_per_stage({2: 4})
    assert {stage: sample("winback_customers", stage=stage) for stage in STAGES} == {
        "active": 0, "reactivation": 0, "winback": 4, "sunset": 0
    }


def test_consumer_lag_is_a_snapshot_revoked_partitions_leave():
    metrics.CONSUMER_LAG.update({("shop.purchases", 0): 7, ("shop.purchases", 1): 0})
    assert sample("winback_consumer_lag_records", topic="shop.purchases", partition="0") == 7
    metrics.CONSUMER_LAG.update({("shop.purchases", 1): 3})
    assert metrics.REGISTRY.get_sample_value("winback_consumer_lag_records", {"topic": "shop.purchases", "partition": "0"}) is None
    assert sample("winback_consumer_lag_records", topic="shop.purchases", partition="1") == 3


def test_the_exposition_follows_the_naming_conventions():
    families = list(text_string_to_metric_families(metrics.exposition().decode()))
    assert families
    for family in families:
        assert family.name.startswith(("winback_", *metrics.STANDARD_PREFIXES)), family.name
        assert family.documentation, family.name
        if family.type == "histogram":
            assert family.name.endswith("_seconds"), family.name
        for series in family.samples:
            assert "customer" not in "".join(series.labels), series  # no customer ids in labels


def test_the_policy_economics_are_exported_in_its_currency():
    metrics.set_economics(Economics(currency="EUR", exchange_rates={"USD": 0.5}, send_costs={"email": 0.25}, free_shipping_cost=4.0))
    assert sample("winback_send_cost", channel="email") == 0.25
    assert sample("winback_free_shipping_cost") == 4.0
    assert (sample("winback_currency_rate", currency="EUR"), sample("winback_currency_rate", currency="USD")) == (1.0, 0.5)


def test_a_feedback_answer_counts_as_an_engagement_and_by_campaign_and_reason():
    engine = Engine(POLICY)
    lapsed = engine.advance("c1", engine.apply("c1", None, purchase(0)).state, moment(31))
    answered = engine.apply("c1", lapsed.state, testing.feedback("c1", moment(32), lapsed.records[1].command_id, "delivery", event_id="f"))
    feedback = {"campaign": "reactivation", "reason": "delivery"}
    engaged = {"campaign": "reactivation", "step": "0", "variant": "default", "channel": "email", "action": "feedback"}
    before = sample("winback_feedback_total", **feedback), sample("winback_engagements_total", **engaged)
    metrics.count_published(answered.records, emitted_at=moment(32))
    after = sample("winback_feedback_total", **feedback), sample("winback_engagements_total", **engaged)
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


def test_the_exposition_has_the_standard_process_and_python_series_and_the_build_info():
    metrics.set_build_info(POLICY)
    names = {family.name for family in text_string_to_metric_families(metrics.exposition().decode())}
    assert {"process_cpu_seconds", "process_resident_memory_bytes", "python_info", "python_gc_objects_collected"} <= names
    build = [sample for family in text_string_to_metric_families(metrics.exposition().decode())
             if family.name == "winback_build_info" for sample in family.samples]
    assert [(sample.labels["policy_hash"], sample.value) for sample in build] == [(metrics.policy_hash(POLICY), 1.0)]


def test_the_policy_hash_changes_with_the_policy_and_not_with_its_layout():
    relaid_text = """
# the same policy, keys in another order and another layout
attribution: {window_days: 14}
caps:
  limits: [{messages: 1, per_days: 30}]
  when_capped: skip
stages: {reactivation: 30, winback: 90, sunset: 365}
activity: {signals: [purchase]}
campaigns:
  reactivation:
    steps:
      - {after_days: 0, channel: email, template: we-miss-you, offer: {percent_off: 10}}
      - {after_days: 7, channel: sms, template: reminder}
"""
    assert metrics.policy_hash(policy(relaid_text)) == metrics.policy_hash(POLICY)
    changed = policy(relaid_text.replace("winback: 90", "winback: 120"))
    assert metrics.policy_hash(changed) != metrics.policy_hash(POLICY)
    assert len(metrics.policy_hash(POLICY)) == 12
def test_a_retraction_counts_its_cancels_and_the_messages_sent_in_error_but_no_command():
    retracting = Engine(policy("""
stages: {reactivation: 30, winback: 90, sunset: 365}
late_events: {retract_within_days: 7}
campaigns:
  reactivation:
    steps: [{after_days: 0, channel: email, template: a}, {after_days: 10, channel: sms, template: b}]
"""))
    lapsed = retracting.advance("c1", retracting.apply("c1", None, purchase(0)).state, moment(32))
    late = purchase(29)
    retracted = retracting.apply_at("c1", lapsed.state, late, moment(29), applied_at=moment(32)).records
    assert [(type(record).__name__, getattr(record, "action", None)) for record in retracted] == [
        ("MessageCommand", "cancel"), ("Retraction", None)
    ]
    step = {"campaign": "reactivation", "variant": "default"}
    watched = {
        ("winback_retractions_total", (("stage", "reactivation"), *step.items())): 1,
        ("winback_cancels_total", (("channel", "sms"), ("step", "1"), *step.items())): 1,
        ("winback_sent_in_error_total", (("channel", "email"), ("step", "0"), *step.items())): 1,
        ("winback_commands_total", (("channel", "sms"), ("step", "1"), *step.items())): 0,
    }
    before = {key: sample(key[0], **dict(key[1])) for key in watched}
    metrics.count_published(retracted, emitted_at=moment(32))
    assert {key: sample(key[0], **dict(key[1])) - before[key] for key in watched} == watched
