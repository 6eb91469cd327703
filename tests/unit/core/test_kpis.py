"""Campaign KPIs on a fixture with hand-computed numbers."""

import math

import pytest

from streams.core.kpis import Converted, Engaged, KpiTally, Lapse, Sent
from streams.core.statistics import Sample, mean_difference, proportion_difference
from streams.model.records import Offer
from streams.policy.sections import Economics

ECONOMICS = Economics(currency="EUR", exchange_rates={"USD": 0.5}, send_costs={"email": 0.1, "sms": 0.5}, free_shipping_cost=2.0)


def fixture_records():
    """winback: variant a has 4 lapses and 4 emails at step 0, the holdout 2 lapses."""
    records = [Lapse("winback", "winback", "a", False)] * 4 + [Lapse("winback", "winback", "a", True)] * 2
    records += [Sent("email", "winback", 0, "a")] * 4
    records += [Engaged("winback", 0, "a", "email", "delivered")] * 4
    records += [Engaged("winback", 0, "a", "email", "open")] * 2
    records += [Engaged("winback", 0, "a", "email", action) for action in ("click", "unsubscribe")]
    records += [
        Converted("winback", "a", False, 100.0, "EUR", 0, "email", Offer(percent_off=20), "WB20"),  # 20 EUR off
        Converted("winback", "a", False, 40.0, "USD", 0, "email", Offer(percent_off=20), None),  # code not used
        Converted("winback", "a", True, 30.0, "EUR", None, None, None, None),
    ]
    return records


def summary(records, economics=ECONOMICS):
    tally = KpiTally(economics)
    for record in records:
        tally.add(record)
    return tally.summary()


def test_the_funnel_row_of_a_step():
    campaign = summary(fixture_records())["campaigns"]["winback"]
    row = campaign["funnel"][0]
    assert (row["step"], row["variant"], row["channel"]) == (0, "a", "email")
    assert (row["sent"], row["delivered"], row["opened"], row["clicked"], row["unsubscribed"]) == (4, 4, 2, 1, 1)
    assert (row["delivered_rate"], row["opened_rate"], row["clicked_rate"], row["unsubscribed_rate"]) == (1.0, 0.5, 0.25, 0.25)
    assert (row["conversions"], row["conversion_rate"]) == (2, 0.5)
    assert row["revenue"] == {"EUR": 100.0, "USD": 40.0}
    assert row["revenue_converted"] == 120.0  # 100 EUR + 40 USD at 0.5
    assert row["incentive_cost"] == 20.0 and row["send_cost"] == 0.4
    assert row["roi"] == pytest.approx((120 - 20 - 0.4) / 20.4, abs=1e-6)
    held = campaign["funnel"][1]
    assert (held["step"], held["channel"], held["sent"], held["conversions"], held["conversion_rate"]) == (None, None, 0, 1, None)


def test_lift_over_the_holdout_and_the_leader():
    campaign = summary(fixture_records())["campaigns"]["winback"]
    variant = campaign["variants"]["a"]
    assert (variant["lapses"], variant["conversions"], variant["conversion_rate"], variant["revenue_per_lapse"]) == (4, 2, 0.5, 30.0)
    assert campaign["holdout"] == {"lapses": 2, "retracted": 0, "conversions": 1, "conversion_rate": 0.5, "revenue_per_lapse": 15.0}
    expected = proportion_difference(2, 4, 1, 2)
    assert variant["lift"]["conversion_rate"] == {
        "difference": 0.0, "low": round(expected.low, 6), "high": round(expected.high, 6), "significant": False
    }
    # Revenue per lapse: a = (100, 20, 0, 0), holdout = (30, 0).
    welch = mean_difference(Sample(4, 30.0, (10400 - 4 * 900) / 3), Sample(2, 15.0, 450.0))
    lift = variant["lift"]["revenue_per_lapse"]
    assert lift["difference"] == 15.0 and (lift["low"], lift["high"]) == pytest.approx((welch.low, welch.high), abs=1e-5)
    assert campaign["leader"] == {"variant": "a", "runner_up": None, "lead": None, "significant": None}


def test_a_currency_without_a_rate_leaves_revenue_and_roi_unknown():
    row = summary(fixture_records(), Economics(currency="EUR", send_costs={"email": 0.1}))["campaigns"]["winback"]["funnel"][0]
    assert row["revenue"] == {"EUR": 100.0, "USD": 40.0}
    assert row["revenue_converted"] is None and row["roi"] is None


def test_without_a_currency_one_currency_is_reported_in_itself():
    records = [Sent("email", "winback", 0, "a"), Converted("winback", "a", False, 50.0, "USD", 0, "email", Offer(free_shipping=True), "FS")]
    report = summary(records, Economics())
    row = report["campaigns"]["winback"]["funnel"][0]
    assert report["currency"] == "USD" and row["revenue_converted"] == 50.0
    assert row["incentive_cost"] == 0.0 and row["roi"] is None  # nothing spent: no ROI


def test_the_leading_variant_and_whether_it_is_significant():
    records = [Lapse("winback", "winback", "a", False)] * 100 + [Lapse("winback", "winback", "b", False)] * 100
    records += [Converted("winback", "a", False, 10.0, "EUR", 0, "email", None, None)] * 10
    records += [Converted("winback", "b", False, 10.0, "EUR", 0, "email", None, None)] * 30
    leader = summary(records)["campaigns"]["winback"]["leader"]
    lead = proportion_difference(30, 100, 10, 100)
    assert leader["variant"] == "b" and leader["runner_up"] == "a"
    assert leader["lead"]["difference"] == 0.2 and leader["significant"] is True
    assert math.isclose(leader["lead"]["low"], round(lead.low, 6))


def test_feedback_answers_are_counted_per_row_campaign_and_reason():
    records = fixture_records() + [Sent("email", "winback", 1, "a")] * 2 + [
        Engaged("winback", 0, "a", "email", "feedback", "price"),
        Engaged("winback", 0, "a", "email", "feedback", "too_many_messages"),
        Engaged("winback", 1, "a", "email", "feedback", "price"),
    ]
    campaign = summary(records)["campaigns"]["winback"]
    first, second, _ = campaign["funnel"]
    assert (first["feedback"], first["feedback_rate"], first["feedback_reasons"]) == (2, 0.5, {"price": 1, "too_many_messages": 1})
    assert (second["step"], second["feedback"], second["feedback_rate"], second["feedback_reasons"]) == (1, 1, 0.5, {"price": 1})
    assert campaign["feedback"] == {"answers": 3, "reasons": {"price": 2, "too_many_messages": 1}}
    assert summary(fixture_records())["campaigns"]["winback"]["feedback"] == {"answers": 0, "reasons": {}}
