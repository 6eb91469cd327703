"""A report counting each customer's records by value (``Report.count_all``, then ``settle``) says
to the byte what counting them one at a time says: keys made in first-seen order, money in log order."""

import json
import random
import subprocess
import sys
from collections import defaultdict
from typing import get_args, get_origin, get_type_hints

import pytest

from streams.backtest.report import CancelCount, Counted, Report, SkipCount, UnsettledReport
from streams.core.kpis import Converted, Engaged, KpiTally, Lapse, Retracted, Sent
from streams.model.records import SkipAction
from streams.policy.sections import Economics

ECONOMICS = Economics(currency="EUR", exchange_rates={"USD": 0.9})
CAMPAIGNS = ("reactivation", "winback")


def customer_records(rng: random.Random) -> list:
    """One customer's counted records: a lapse into a random group, its messages, skips, engagement,
    maybe a retraction, and a conversion whose revenue 1e16 absorbs a 1.0 of unless summed in order."""
    campaign, variant, holdout = rng.choice(CAMPAIGNS), rng.choice("abc"), rng.random() < 0.3
    records: list = [Lapse(campaign, campaign, variant, holdout, rng.choice(("threshold", "predictive")))]
    for step in range(rng.randrange(4)):
        channel = rng.choice(("email", "sms", "push"))
        records.append(SkipCount("holdout", "held_out") if holdout else Sent(channel, campaign, step, variant))
        if not holdout and rng.random() < 0.3:
            records.append(Engaged(campaign, step, variant, channel, rng.choice(("open", "click"))))
    if rng.random() < 0.1:
        records += [CancelCount("email"), Retracted(campaign, variant, holdout, ((campaign, 0, variant, "email"),))]
    if rng.random() < 0.5:
        step, channel = (None, None) if holdout else (0, "email")
        revenue, currency = rng.choice((1e16, 1.0, 0.1, 33.3)), rng.choice(("EUR", "USD"))
        records.append(Converted(campaign, variant, holdout, revenue, currency, step, channel, None, None))
    return records


@pytest.mark.parametrize("settle_every", [Report.settle_every, 1, 7])
def test_counting_by_value_gives_the_report_counting_one_by_one_gives(settle_every):
    rng = random.Random(7)
    customers = [customer_records(rng) for _ in range(400)]
    one_by_one, by_value = Report(kpis=KpiTally(ECONOMICS)), Report(kpis=KpiTally(ECONOMICS))
    by_value.settle_every = settle_every  # settled every few conversions, the report is the same to the byte
    for records in customers:
        for record in records:
            one_by_one.count(record)
        by_value.count_all(records)
    by_value.settle()
    expected = one_by_one.as_dict()
    assert expected["kpis"]["campaigns"]["winback"]["holdout"]["conversions"] > 10  # the case is what it claims
    assert json.dumps(by_value.as_dict()) == json.dumps(expected)
    assert list(by_value.kpis.rows) == list(one_by_one.kpis.rows)  # the funnel rows were made in the same order


def test_records_are_counted_every_few_conversions_and_a_report_read_unsettled_says_so():
    report = Report(kpis=KpiTally(ECONOMICS))
    report.settle_every = 2
    lapse = Lapse("winback", "winback", "a", False, "threshold")
    conversion = Converted("winback", "a", False, 5.0, "EUR", None, None, None, None)
    report.count_all([lapse, conversion])
    report.count_all([lapse])
    assert report.triggers["winback"] == 0  # kept until the second conversion
    report.count_all([lapse, conversion])
    assert report.triggers["winback"] == 3
    assert report.groups[("winback", "a", False)].conversions == 2
    report.count_all([lapse])
    with pytest.raises(UnsettledReport, match=r"^1 record\(s\) tallied by count_all are not counted yet"):
        report.as_dict()
    report.settle()
    assert report.as_dict()["triggers"]["winback"] == 4


def test_an_unsettled_report_is_refused_under_python_O_too():
    """The check is no ``assert``, which ``python -O`` drops."""
    read_unsettled = (
        "from streams.backtest.report import Report, UnsettledReport\n"
        "from streams.core.kpis import Lapse\n"
        "report = Report()\n"
        "report.count_all([Lapse('winback', 'winback', 'a', False, 'threshold')])\n"
        "try:\n    report.as_dict()\nexcept UnsettledReport as refused:\n    print(refused)\n"
    )
    result = subprocess.run([sys.executable, "-O", "-c", read_unsettled], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("1 record(s) tallied by count_all are not counted yet")


def test_no_two_counted_types_can_hold_equal_values():
    """``count_all`` tallies records as tuples: two types of the same length could merge.  Each
    such pair differs in a field whose values can never be equal; a new pair fails here."""
    by_length = defaultdict(list)
    for kind in get_args(Counted):
        by_length[len(kind._fields)].append(kind)
    assert [kinds for kinds in by_length.values() if len(kinds) > 1] == [[Sent, Retracted], [SkipCount, CancelCount]]
    assert get_type_hints(Sent)["variant"] is str and get_origin(get_type_hints(Retracted)["sent_in_error"]) is tuple  # last fields
    assert "cancel" not in get_args(SkipAction) and CancelCount("email").action == "cancel"  # the action
