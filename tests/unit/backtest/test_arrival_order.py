"""``run_backtest(order="arrival")``: the lines replayed as a stream receives them, so a late
event retracts a trigger that had fired by the time it arrived, and the report counts it."""

from streams.backtest.run import run_backtest

from tests.support.builders import line, policy, purchase
from tests.support.policies import SMALL

RETRACTING = policy(SMALL + "late_events: {retract_within_days: 7}\n")
# c1 bought on day 0 and on day 14, but the day-14 purchase arrives after c2's day-20 one: by
# then c1 had entered reactivation (day 5) and winback (day 15, offer sent; reminder day 19).
LOG = [line(purchase(0, "c1")), line(purchase(20, "c2")), line(purchase(14, "c1"))]


def test_a_late_purchase_retracts_the_winback_and_counts_its_messages_as_sent_in_error():
    report = run_backtest(LOG, RETRACTING, order="arrival", now=1e10).as_dict()
    assert report["retractions"] == {"retracted": 1, "cancels": 0, "sent_in_error": 2}  # offer and reminder had gone out
    assert report["triggers"] == {"reactivation": 2, "winback": 1, "sunset": 0}  # winback retracted, reactivation again on day 19
    assert report["stages"] == {"active": 1, "reactivation": 1, "winback": 0, "sunset": 0}
    winback = report["kpis"]["campaigns"]["winback"]
    assert [row["sent_in_error"] for row in winback["funnel"]] == [1, 1]
    assert winback["variants"]["default"]["retracted"] == 1


def test_in_time_order_the_same_log_has_nothing_to_retract_and_ends_in_the_same_stages():
    ordered = run_backtest(LOG, RETRACTING, now=1e10).as_dict()
    assert ordered["retractions"] == {"retracted": 0, "cancels": 0, "sent_in_error": 0}
    assert ordered["triggers"] == {"reactivation": 2, "winback": 0, "sunset": 0}
    assert ordered["stages"] == run_backtest(LOG, RETRACTING, order="arrival", now=1e10).as_dict()["stages"]


def test_a_late_purchase_beyond_the_bound_is_applied_without_retraction():
    log = [line(purchase(0, "c1")), line(purchase(30, "c2")), line(purchase(14, "c1"))]  # 16 days late, 7 allowed
    report = run_backtest(log, RETRACTING, order="arrival", now=1e10).as_dict()
    assert report["retractions"] == {"retracted": 0, "cancels": 0, "sent_in_error": 0}
    assert report["stages"]["winback"] == 1  # the lapse acted on stands
