"""Shards' tallies merge into the report one process counts: keys in first-seen order, money in log order."""

import json
import random

from streams.backtest.report import Report
from streams.backtest.run import Finished, count_customer
from streams.backtest.shard_report import ShardReport, merged
from streams.core.kpis import Converted, KpiTally, Lapse, Sent
from streams.policy.sections import Economics

ECONOMICS = Economics(currency="EUR", exchange_rates={"USD": 0.9})


def customer(order, variant, holdout, revenue, currency="EUR", reason="threshold"):
    """A customer who lapsed into ``variant`` (or its holdout), was mailed unless held out, and bought for ``revenue``."""
    sent = [] if holdout else [Sent("email", "winback", 0, variant)]
    converted = Converted("winback", variant, holdout, revenue, currency, None if holdout else 0, None if holdout else "email", None, None)
    return Finished(order, f"c{order}", [Lapse("winback", "winback", variant, holdout, reason), *sent, converted], 2, 40)


# 1e16 absorbs a 1.0 added to it (floats there are 2 apart) but not a 2.0: summed in the log's
# order, arm b's revenue and the holdout's (over arms a, b, c, first seen in that order) stay
# 1e16; summed shard by shard, or over the arms in another order, the ones add up first.
CUSTOMERS = [
    customer(0, "a", True, 1.0),
    customer(1, "b", True, 1e16),
    customer(2, "b", True, 1.0),
    customer(3, "c", True, 1.0),
    customer(4, "b", True, 1.0),
    customer(5, "a", False, 1.0, "USD"),
]


def one_process(customers):
    report = Report(kpis=KpiTally(ECONOMICS), until=0.0)
    for finished in customers:
        count_customer(report, finished)
    report.settle()
    return report.as_dict()


def in_shards(customers, shard_of, shards):
    reports = [ShardReport(kpis=KpiTally(ECONOMICS)) for _ in range(shards)]
    for finished in customers:
        reports[shard_of(finished)].count_finished(finished)
    return merged(ECONOMICS, [report.tally() for report in reports], 0.0).as_dict()


def test_money_is_summed_in_the_log_order_whatever_the_shards():
    expected = one_process(CUSTOMERS)
    assert expected["kpis"]["campaigns"]["winback"]["holdout"]["conversions"] == 5  # the case is what it claims
    for shard_of in (lambda finished: finished.order % 2, lambda finished: int(finished.order not in (0, 3))):
        assert json.dumps(in_shards(CUSTOMERS, shard_of, 2)) == json.dumps(expected)


def test_any_split_of_many_customers_gives_the_same_report():
    rng = random.Random(5)
    customers = [
        customer(order, rng.choice("abc"), rng.random() < 0.3, rng.choice((1e16, 1.0, 0.1, 33.3)), rng.choice(("EUR", "USD")), rng.choice(("threshold", "predictive")))
        for order in range(300)
    ]
    report = one_process(customers)
    assert 0 < report["predictive_triggers"]["winback"] < report["triggers"]["winback"]  # both causes are counted
    expected = json.dumps(report)
    for shards in (2, 3, 5):
        split = {finished.order: rng.randrange(shards) for finished in customers}
        assert json.dumps(in_shards(customers, lambda finished: split[finished.order], shards)) == expected
