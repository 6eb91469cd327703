"""Prometheus metrics of the worker (``winback_`` prefix, base units, bounded labels).

Labels never carry customer ids: only event types, reason codes, stages, campaigns, steps,
variants, channels, currencies and topic partitions, whose sets are small and fixed by the
code, the policy, the shop's currencies or the topic layout.  ``deploy/prometheus/rules``, the Grafana dashboard and the
README's "Operating it" table use these names; tests check that every name they use is
exposed here.
"""

from __future__ import annotations

import hashlib
import math
import platform
import threading
from bisect import bisect_left
from collections import Counter as Tally
from itertools import accumulate
from typing import Iterable, Iterator, Mapping

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from streams.core.kpis import discount, redeemed
from streams import __version__
from streams.model.records import STAGES, Engagement, MessageCommand, Outcome, Retraction, Skip, Trigger
from streams.policy.sections import Economics, Policy

disable_created_metrics()  # no `_created` series beside every counter and histogram: twice the series for nothing
REGISTRY = CollectorRegistry(auto_describe=True)
# The standard process_* (CPU, memory, open files), python_info and python_gc_* series, as every
# Python exporter has them: platform teams' dashboards and alerts expect them.
STANDARD_PREFIXES = ("process_", "python_")
for _standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.register(_standard)

# Handling one record is a table read, the engine and, when it publishes, one Kafka round trip.
PROCESSING_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# A tick pops what is due and queues one record per customer: milliseconds, seconds for a backlog.
TICK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# From one scheduler tick (seconds) to a worker that was down or behind for hours.
LAG_BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0)
# An offset commit is one broker round trip after flushing the producer.
COMMIT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

EVENTS_CONSUMED = Counter(
    "winback_events_consumed", "Input records read, by event type.", ["type"], registry=REGISTRY
)
DEAD_LETTERS = Counter(
    "winback_dead_letters", "Records sent to the dead-letter topic, by event type and reason.", ["type", "reason"],
    registry=REGISTRY,
)
EVENTS_APPLIED = Counter(
    "winback_events_applied", "Validated events applied to the activity table, by event type.", ["type"],
    registry=REGISTRY,
)
TRIGGERS = Counter(
    "winback_triggers",
    "Stage entries published (lapses), by stage, campaign, A/B variant, holdout group and what started "
    "them (threshold, or the predictive trigger).",
    ["stage", "campaign", "variant", "holdout", "reason"], registry=REGISTRY,
)
COMMANDS = Counter(
    "winback_commands",
    "Message commands published, by channel, campaign, step (0-based) and variant.",
    ["channel", "campaign", "step", "variant"],
    registry=REGISTRY,
)
SKIPS = Counter(
    "winback_skips",
    "Steps not sent as planned (skip records: skipped, deferred, sent on a fallback channel or held out), "
    "by campaign, reason and action.",
    ["campaign", "reason", "action"],
    registry=REGISTRY,
)
# A message's funnel: these carry the message's campaign, step (0-based) and variant and the
# channel it went out on; conversions credited to no message (the holdout's, or a lapse whose
# steps were all skipped) have step and channel "none".
ENGAGEMENTS = Counter(
    "winback_engagements",
    "First engagement of each kind with a campaign's message (delivered, open, click, bounce, complaint, unsubscribe, "
    "feedback), by campaign, step, variant, channel and action.",
    ["campaign", "step", "variant", "channel", "action"],
    registry=REGISTRY,
)
FEEDBACK = Counter(
    "winback_feedback",
    "Feedback answers (why the customer left) credited to a campaign's message, one per message, by campaign and reason.",
    ["campaign", "reason"],
    registry=REGISTRY,
)
CONVERSIONS = Counter(
    "winback_conversions",
    "Purchases attributed to a campaign touch, by campaign, credited step, variant, channel and holdout group.",
    ["campaign", "step", "variant", "channel", "holdout"],
    registry=REGISTRY,
)
CONVERSION_REVENUE = Counter(
    "winback_conversion_revenue",
    "Revenue of the attributed purchases in the orders' currency, by campaign, step, variant, channel, holdout group and currency.",
    ["campaign", "step", "variant", "channel", "holdout", "currency"],
    registry=REGISTRY,
)
INCENTIVE_DISCOUNT = Counter(
    "winback_incentive_discount",
    "What redeemed percent-off offers took off attributed orders, in the orders' currency, by campaign, step, variant, "
    "channel and currency.",
    ["campaign", "step", "variant", "channel", "currency"],
    registry=REGISTRY,
)
FREE_SHIPPING_REDEEMED = Counter(
    "winback_free_shipping_redeemed",
    "Redeemed free-shipping offers of attributed orders, by campaign, step, variant and channel.",
    ["campaign", "step", "variant", "channel"],
    registry=REGISTRY,
)
# Late-event retraction (policy ``late_events``, ``streams.core.retraction``).
RETRACTIONS = Counter(
    "winback_retractions",
    "Triggers retracted because an event that would have prevented them arrived after they fired, by stage, campaign "
    "and variant.",
    ["stage", "campaign", "variant"],
    registry=REGISTRY,
)
CANCELS = Counter(
    "winback_cancels",
    "Cancel commands published for the unsent steps of a retracted series, by channel, campaign, step and variant.",
    ["channel", "campaign", "step", "variant"],
    registry=REGISTRY,
)
SENT_IN_ERROR = Counter(
    "winback_sent_in_error",
    "Messages of a retracted series that had gone out before the late event arrived, by channel, campaign, step and variant.",
    ["channel", "campaign", "step", "variant"],
    registry=REGISTRY,
)
# The policy's economics, for the dashboard's ROI: what one message costs per channel, what a
# redeemed free-shipping offer costs, and what one unit of each currency is worth, all in the
# policy's currency (its own rate is 1).
SEND_COST = Gauge("winback_send_cost", "What one message costs, by channel, in the policy's currency.", ["channel"], registry=REGISTRY)
FREE_SHIPPING_COST = Gauge(
    "winback_free_shipping_cost", "What one redeemed free-shipping offer costs, in the policy's currency.", registry=REGISTRY
)
CURRENCY_RATE = Gauge(
    "winback_currency_rate", "What one unit of a currency is worth in the policy's currency, by currency.", ["currency"],
    registry=REGISTRY,
)
CUSTOMERS = Gauge(
    "winback_customers", "Customers per lifecycle stage on this worker's active partitions.", ["stage"],
    registry=REGISTRY,
)
DUE_INDEX_SIZE = Gauge(
    "winback_due_index_customers", "Customers with a scheduled transition in this worker's due index.",
    registry=REGISTRY,
)
SCHEDULER_TICK = Histogram(
    "winback_scheduler_tick_seconds", "Time one scheduler tick takes (pop due customers, publish ticks).",
    buckets=TICK_BUCKETS, registry=REGISTRY,
)
DUE_PUBLISHED = Counter(
    "winback_due_published", "Due ticks the scheduler published for its customers.", registry=REGISTRY
)
TRANSITION_LAG = Histogram(
    "winback_transition_lag_seconds",
    "Emission time of a trigger or command minus its due time, on the worker's clock (WINBACK_CLOCK).",
    buckets=LAG_BUCKETS, registry=REGISTRY,
)
WORKER_CLOCK = Gauge(
    "winback_worker_clock", "The clock this worker runs on (WINBACK_CLOCK: wall, event or fixed): 1 for the one in use.",
    ["clock"], registry=REGISTRY,
)
MEMORY_STORE_CUSTOMERS = Gauge(
    "winback_memory_store_customers",
    "Customers in this worker's in-memory table store, active and standby partitions (WINBACK_STORE=memory only).",
    registry=REGISTRY,
)
COMMIT = Histogram(
    "winback_consumer_commit_seconds",
    "Time one offset-commit round of the consumer takes (producer flush and commit).",
    buckets=COMMIT_BUCKETS, registry=REGISTRY,
)

BUILD_INFO = Gauge(
    "winback_build_info",
    "Always 1: the running version, its Python, and a hash of the policy in force (which rollout runs which policy).",
    ["version", "python", "policy_hash"], registry=REGISTRY,
)

for _stage in STAGES:
    CUSTOMERS.labels(_stage)  # every stage is a series from the start, zero until counted


class ConsumerLag(Collector):
    """``winback_consumer_lag_records``: log end offset minus committed offset per consumed
    partition, as last measured (a snapshot replaced whole, so revoked partitions vanish)."""

    def __init__(self) -> None:
        self.snapshot: dict[tuple[str, int], int] = {}

    def update(self, lag: Mapping[tuple[str, int], int]) -> None:
        self.snapshot = dict(lag)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "winback_consumer_lag_records",
            "Records not yet processed (committed) per consumed topic partition of this worker.",
            labels=["topic", "partition"],
        )
        for (topic, partition), lag in sorted(self.snapshot.items()):
            family.add_metric([topic, str(partition)], lag)
        yield family


CONSUMER_LAG = ConsumerLag()
REGISTRY.register(CONSUMER_LAG)


class RepeatedHistogram(Collector):
    """A histogram without labels that observes one value many times in one call.

    prometheus_client's ``Histogram`` takes one observation per call (a lock, a bucket search
    and two increments each); the customers agent times a whole batch and observes that time
    once for each of its records, thousands of times a batch.  Exposed exactly as a
    ``Histogram`` of the same name and buckets is (``_bucket`` with ``le``, ``_count``, ``_sum``).
    """

    def __init__(self, name: str, documentation: str, buckets: Iterable[float]) -> None:
        self.name, self.documentation = name, documentation
        self.bounds = (*buckets, math.inf)
        self.counts = [0] * len(self.bounds)  # per bucket, not cumulative
        self.sum = 0.0
        self._lock = threading.Lock()  # the web server's scrape may run in another thread

    def observe(self, value: float, times: int = 1) -> None:
        """Observe ``value`` ``times`` times."""
        bucket = bisect_left(self.bounds, value)  # the first bound >= value: Prometheus' ``le``
        with self._lock:
            self.counts[bucket] += times
            self.sum += value * times

    def collect(self) -> Iterator[HistogramMetricFamily]:
        with self._lock:
            counts, total = list(accumulate(self.counts)), self.sum
        buckets = [(floatToGoString(bound), count) for bound, count in zip(self.bounds, counts)]
        yield HistogramMetricFamily(self.name, self.documentation, buckets=buckets, sum_value=total)


EVENT_PROCESSING = RepeatedHistogram(
    "winback_event_processing_seconds",
    "Time a record (event or due tick) spends in the customer agent: its batch's decisions, publishing and state writes.",
    PROCESSING_BUCKETS,
)
REGISTRY.register(EVENT_PROCESSING)


def exposition() -> bytes:
    """The metrics in Prometheus text format."""
    return generate_latest(REGISTRY)


def count_published(records: Iterable[Trigger | MessageCommand | Skip | Outcome | Engagement | Retraction], emitted_at: float) -> None:
    """Count acknowledged records by kind (the one place that maps records to metrics), each
    labelled series once per call.

    ``emitted_at`` is the worker's clock when they were published: a trigger's or command's
    lag behind its due time is measured against it (never negative: an event dated slightly
    in the future can fire what was due before it).
    """
    tally: Tally[tuple[Counter, tuple[str, ...]]] = Tally()  # (counter, its labels) -> how much to add
    for record in records:
        kind = record.__class__
        if kind is Trigger:
            tally[TRIGGERS, (record.stage, record.campaign, record.variant, "true" if record.holdout else "false", record.reason)] += 1
            TRANSITION_LAG.observe(max(emitted_at - record.fired_at.timestamp(), 0.0))
        elif kind is MessageCommand and record.action == "cancel":
            tally[CANCELS, (record.channel, record.campaign, str(record.step), record.variant)] += 1
        elif kind is MessageCommand:
            tally[COMMANDS, (record.channel, record.campaign, str(record.step), record.variant)] += 1
            TRANSITION_LAG.observe(max(emitted_at - record.due_at.timestamp(), 0.0))
        elif kind is Skip:
            tally[SKIPS, (record.campaign, record.reason, record.action)] += 1
        elif kind is Outcome:
            _count_conversion(record, tally)
        elif kind is Engagement:
            tally[ENGAGEMENTS, (record.campaign, str(record.step), record.variant, record.channel, record.action)] += 1
            if record.reason is not None:
                tally[FEEDBACK, (record.campaign, record.reason)] += 1
        elif kind is Retraction:
            tally[RETRACTIONS, (record.stage, record.campaign, record.variant)] += 1
            for sent in record.sent_in_error:
                tally[SENT_IN_ERROR, (sent.channel, sent.campaign, str(sent.step), sent.variant)] += 1
    for (counter, labels), amount in tally.items():  # one labelled increment per series, not per record
        counter.labels(*labels).inc(amount)


def _count_conversion(outcome: Outcome, tally: Tally[tuple[Counter, tuple[str, ...]]]) -> None:
    """A conversion, its revenue and the incentive it redeemed, labelled with the message it is credited to."""
    message = (outcome.campaign, str(outcome.step) if outcome.step is not None else "none", outcome.variant, outcome.channel or "none")
    holdout = "true" if outcome.holdout else "false"
    tally[CONVERSIONS, (*message, holdout)] += 1
    tally[CONVERSION_REVENUE, (*message, holdout, outcome.currency)] += outcome.revenue
    used = redeemed(outcome)
    if used is not None:
        if used.percent_off:
            tally[INCENTIVE_DISCOUNT, (*message, outcome.currency)] += discount(used, outcome.revenue)
        if used.free_shipping:
            tally[FREE_SHIPPING_REDEEMED, message] += 1


def set_economics(economics: Economics) -> None:
    """Export the policy's send costs, free-shipping cost and exchange rates (nothing without a currency)."""
    if economics.currency is None:
        return
    for channel, cost in economics.send_costs.items():
        SEND_COST.labels(channel).set(cost)
    FREE_SHIPPING_COST.set(economics.free_shipping_cost)
    for currency, rate in {**economics.exchange_rates, economics.currency: 1.0}.items():
        CURRENCY_RATE.labels(currency).set(rate)


def set_build_info(policy: Policy) -> None:
    """Export ``winback_build_info`` for this worker's version and policy (one series)."""
    BUILD_INFO.clear()
    BUILD_INFO.labels(__version__, platform.python_version(), policy_hash(policy)).set(1)


def policy_hash(policy: Policy) -> str:
    """12 hex digits identifying the policy's meaning: the same for files that differ only in
    comments, layout or key order."""
    return hashlib.sha256(policy.model_dump_json().encode()).hexdigest()[:12]


def observe_processing(seconds: float, records: int) -> None:
    """The customer agent handled a batch of ``records`` in ``seconds``: each of them waited that long."""
    EVENT_PROCESSING.observe(seconds, records)


def count_stage_change(before: int | None, after: int | None) -> None:
    """A customer moved from stage ``before`` (None: a new or erased customer) to ``after``
    (indexes into STAGES; None: erased)."""
    if before != after:
        if before is not None:
            CUSTOMERS.labels(STAGES[before]).dec()
        if after is not None:
            CUSTOMERS.labels(STAGES[after]).inc()


def set_customers_per_stage(counts: Mapping[int, int]) -> None:
    """Replace the per-stage counts (after the active partitions changed); stages absent count zero."""
    for code, stage in enumerate(STAGES):
        CUSTOMERS.labels(stage).set(counts.get(code, 0))
