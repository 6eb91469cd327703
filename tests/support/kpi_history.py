"""A small shop history whose campaign KPIs are worked out by hand, for the backtest's and the
worker's KPI tests: six customers lapse into a one-step reactivation campaign with a 40 %
holdout, four get its email (with 10 % off and a survey), and some open, click, bounce,
unsubscribe, answer the survey and buy.

Times are days after ``T0`` (noon UTC).  A bystander's login on day 20 ends the history, so a
backtest and a worker on the event clock both stop there, before anyone lapses again.
"""

from __future__ import annotations

from streams.core.controls.assignment import Assigner
from streams.devtools import testing
from streams.model.events import AnyInput
from streams.model.records import command_id
from tests.support.builders import moment

POLICY = """
stages: {reactivation: 10, winback: 100}
economics: {currency: EUR, exchange_rates: {USD: 0.5}, send_costs: {email: 0.5}}
campaigns:
  reactivation:
    holdout: 0.4
    steps:
      - {after_days: 0, channel: email, template: miss-you, offer: {percent_off: 10}, feedback_request: true,
         survey_url: "https://shop.example/why?m={command_id}&v={variant}"}
"""
_GROUPS = Assigner("reactivation", 0.4, {})


def _customers(held_out: bool, count: int) -> list[str]:
    """The first ``count`` ids that land in (or out of) the holdout."""
    found = (f"{'h' if held_out else 't'}{n}" for n in range(1000))
    return [customer for customer in found if _GROUPS.assign(customer).holdout == held_out][:count]


T1, T2, T3, T4 = _customers(False, 4)  # treated: each gets the email on day 10
H1, H2 = _customers(True, 2)  # held out


def sent(customer: str) -> str:
    """The id of the campaign's one email to ``customer`` (step 0, first lapse)."""
    return command_id(customer, "reactivation", 0, 0)


def _email(customer: str, day: float, action, message_id: str | None = None) -> AnyInput:
    return testing.email(customer, moment(day), action, message_id=message_id or sent(customer), event_id=f"{customer}-{action}-{day}")


def _purchase(customer: str, day: float, amount: float, currency: str = "EUR", code: str | None = None) -> AnyInput:
    return testing.purchase(
        customer, moment(day), amount=amount, currency=currency, discount_code=code, event_id=f"{customer}-p{day}", order_id=f"{customer}-o{day}"
    )


HISTORY: list[AnyInput] = [
    *(_purchase(customer, 0, 20.0) for customer in (T1, T2, T3, T4, H1, H2)),  # all lapse on day 10
    _email(T1, 10.1, "delivered"), _email(T1, 10.2, "open"), _email(T1, 10.3, "click"),
    _purchase(T1, 12, 50.0, code="MISS10"),  # redeems the 10 % off: 5 EUR
    _email(T2, 10.1, "delivered"), _email(T2, 10.2, "open"), _email(T2, 10.4, "open"),  # opened twice: one open
    _purchase(T2, 13, 60.0, "USD"),  # 30 EUR, no code
    _email(T3, 10.1, "delivered"), _email(T3, 10.5, "unsubscribe"),
    testing.feedback(T3, moment(10.6), sent(T3), "too_many_messages", comment="stop it", event_id=f"{T3}-f10.6"),
    testing.feedback(T3, moment(10.7), sent(T3), "price", event_id=f"{T3}-f10.7"),  # a second answer: one per message
    _email(T4, 10.1, "bounce"), _email(T4, 10.2, "open", "newsletter-7"),  # not a campaign message
    _purchase(H1, 15, 40.0),  # a held-out conversion
    testing.login("bystander", moment(20), event_id="bystander-l20"),
]

# Worked out by hand from HISTORY and POLICY.
EXPECTED_FUNNEL = {
    "step": 0, "variant": "default", "channel": "email",
    "sent": 4, "delivered": 3, "opened": 2, "clicked": 1, "bounced": 1, "complained": 0, "unsubscribed": 1,
    "delivered_rate": 0.75, "opened_rate": 0.5, "clicked_rate": 0.25, "bounced_rate": 0.25, "complained_rate": 0.0,
    "unsubscribed_rate": 0.25, "feedback": 1, "feedback_rate": 0.25, "feedback_reasons": {"too_many_messages": 1},
    "conversions": 2, "conversion_rate": 0.5,
    "revenue": {"EUR": 50.0, "USD": 60.0}, "revenue_converted": 80.0,  # 50 + 60 x 0.5
    "incentive_cost": 5.0, "send_cost": 2.0,  # 10 % of 50; 4 emails x 0.5
    "roi": round((80 - 5 - 2) / (5 + 2), 6),
    "sent_in_error": 0,  # no event arrived late
}
EXPECTED_HELD_OUT_ROW = {"step": None, "variant": "default", "channel": None, "sent": 0, "conversions": 1, "revenue": {"EUR": 40.0}}
# Revenue per lapse: treated (50, 30, 0, 0), held out (40, 0).
EXPECTED_TREATED = {"lapses": 4, "retracted": 0, "conversions": 2, "conversion_rate": 0.5, "revenue_per_lapse": 20.0}
EXPECTED_HOLDOUT = {"lapses": 2, "retracted": 0, "conversions": 1, "conversion_rate": 0.5, "revenue_per_lapse": 20.0}
TREATED_REVENUE = (4, 20.0, (3400 - 4 * 20.0**2) / 3)  # size, mean, variance of (50, 30, 0, 0)
HOLDOUT_REVENUE = (2, 20.0, (1600 - 2 * 20.0**2) / 1)  # of (40, 0)
