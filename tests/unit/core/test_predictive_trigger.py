"""The predictive trigger: win-back starts when P(alive) drops below the policy's threshold."""

import msgspec
import pytest

from streams.core.churn_model import BgNbd
from streams.core.engine import Engine
from streams.devtools.testing import run_engine
from streams.model.activity import NEVER, CustomerActivity
from streams.model.records import STAGES

from tests.support.builders import DAY, login, moment, policy, purchase, when

SHOP = BgNbd(r=1.2, alpha=40.0, a=0.8, b=1.6)  # days
LADDER = "stages: {reactivation: 30, winback: 90, sunset: 365}\n"


def predictive(threshold: float, extra: str = "") -> str:
    return LADDER + f"predictive: {{model: {{r: 1.2, alpha: 40, a: 0.8, b: 1.6}}, enter_winback_below: {threshold}}}\n" + extra


def entries(text: str, events, until_day: float) -> list[tuple[str, float]]:
    run = run_engine(policy(text), events, until=when(until_day))
    return [(trigger.stage, round((trigger.fired_at.timestamp() - moment(0)) / DAY, 3)) for trigger in run.triggers()]


BUYER = [purchase(0, event_id="p0"), purchase(10, event_id="p1"), purchase(20, event_id="p2")]  # x = 2, t_x = 20 days


def test_winback_starts_when_p_alive_drops_below_the_threshold():
    crossing = SHOP.below_at(2, 20.0, 0.3)
    assert crossing is not None and 50 < crossing < 110  # after reactivation (day 50), before the fixed winback (day 110)
    assert SHOP.p_alive(2, 20.0, crossing) == pytest.approx(0.3)
    assert entries(predictive(0.3), BUYER, 400) == [("reactivation", 50.0), ("winback", round(crossing, 3)), ("sunset", 385.0)]
    assert entries(LADDER, BUYER, 400) == [("reactivation", 50.0), ("winback", 110.0), ("sunset", 385.0)]


def test_a_drop_before_the_first_stage_enters_it_and_winback_at_once():
    crossing = SHOP.below_at(2, 20.0, 0.5)
    assert crossing is not None and 20 < crossing < 50
    assert entries(predictive(0.5), BUYER, 200) == [("reactivation", round(crossing, 3)), ("winback", round(crossing, 3))]
    # Caught up to the latest stage, the superseded reactivation is passed over.
    assert entries(predictive(0.5, "catch_up: latest\n"), BUYER, 200) == [("winback", round(crossing, 3))]


def test_the_due_index_is_told_the_crossing():
    engine = Engine(policy(predictive(0.3)))
    state = engine.replay("c1", None, BUYER, [event.occurred_at.timestamp() for event in BUYER]).state
    state.stage, state.stage_entered_at = 1, moment(50)  # reactivation entered
    crossing = SHOP.below_at(2, 20.0, 0.3)
    assert crossing is not None and engine.next_due(state) == pytest.approx(moment(crossing))
    assert engine.stage_at(state, moment(crossing) - 1) == "reactivation" and engine.stage_at(state, moment(crossing)) == "winback"


def test_the_ladder_ahead_says_which_entry_the_model_brought_forward():
    engine = Engine(policy(predictive(0.3)))
    state = engine.replay("c1", None, BUYER, [event.occurred_at.timestamp() for event in BUYER]).state
    ladder = engine.lifecycle
    crossing = SHOP.below_at(2, 20.0, 0.3)
    assert crossing is not None
    walk = ladder.entries(state, state.stage, state.stage_entered_at, ladder.last_activity(state))
    assert [(STAGES[stage], round((at - moment(0)) / DAY, 3), reason) for stage, at, reason in walk] == [
        ("reactivation", 50.0, "threshold"),
        ("winback", round(crossing, 3), "predictive"),
        ("sunset", 385.0, "threshold"),
    ]


def test_activity_after_the_drop_shows_the_customer_is_still_there():
    crossing = SHOP.below_at(2, 20.0, 0.3)
    assert crossing is not None
    # A login after the drop ends the lapse; the drop is behind them, so the fixed thresholds
    # run from the login (no re-entry at once), until a purchase moves the crossing on.
    found = entries(predictive(0.3), [*BUYER, login(crossing + 5)], crossing + 200)
    assert found == [("reactivation", 50.0), ("winback", round(crossing, 3)), ("reactivation", round(crossing + 35, 3)), ("winback", round(crossing + 95, 3))]


def test_one_time_buyers_lapse_by_the_thresholds_only():
    assert entries(predictive(0.3), [purchase(0)], 200) == [("reactivation", 30.0), ("winback", 90.0)]


def test_a_state_stored_before_first_purchases_were_kept_starts_from_first_seen():
    engine = Engine(policy(predictive(0.3)))
    state = engine.replay("c1", None, BUYER, [event.occurred_at.timestamp() for event in BUYER]).state
    assert state.first_purchase == moment(0)
    old = CustomerActivity.decode(_without_first_purchase(state))
    assert old.first_purchase == NEVER and old.bought_first() == moment(0)
    assert engine.next_due(old) == engine.next_due(state)


def _without_first_purchase(state: CustomerActivity) -> bytes:
    """The state as a worker without ``first_purchase`` stored it: the array up to that field."""
    fields = msgspec.msgpack.decode(state.encode())
    kept = CustomerActivity.__struct_fields__.index("first_purchase")
    assert fields[kept] == moment(0)
    return msgspec.msgpack.encode(fields[:kept])


def causes(text: str, events, until_day: float) -> list[tuple[str, str, float | None]]:
    """(stage, reason, P(alive)) of each trigger."""
    return [(trigger.stage, trigger.reason, trigger.p_alive) for trigger in run_engine(policy(text), events, until=when(until_day)).triggers()]


def test_a_trigger_says_whether_the_predictive_trigger_fired_it_and_p_alive_then():
    crossing = SHOP.below_at(2, 20.0, 0.3)
    assert crossing is not None
    assert causes(predictive(0.3), BUYER, 400) == [
        ("reactivation", "threshold", round(SHOP.p_alive(2, 20.0, 50.0), 4)),
        ("winback", "predictive", 0.3),  # at the crossing
        ("sunset", "threshold", round(SHOP.p_alive(2, 20.0, 385.0), 4)),
    ]
    # Both stages brought forward at once, by the model.
    early = SHOP.below_at(2, 20.0, 0.5)
    assert early is not None
    assert causes(predictive(0.5), BUYER, 200) == [("reactivation", "predictive", 0.5), ("winback", "predictive", 0.5)]


def test_without_a_predictive_model_every_trigger_is_by_threshold_and_states_no_p_alive():
    assert causes(LADDER, BUYER, 400) == [("reactivation", "threshold", None), ("winback", "threshold", None), ("sunset", "threshold", None)]


def test_a_one_time_buyer_is_alive_for_sure_under_the_model():
    assert causes(predictive(0.3), [purchase(0)], 200) == [("reactivation", "threshold", 1.0), ("winback", "threshold", 1.0)]


def test_a_purchase_that_brings_the_lapse_forward_is_seen_by_a_run_replayed_in_one_call():
    # After the first purchase nothing is due before day 30; the second one (x = 1, t_x = 2 days)
    # brings the drop below 0.5 forward to day 17.55, before the login at day 25.
    engine = Engine(policy(predictive(0.5)))
    events = [purchase(0, event_id="p0"), purchase(2, event_id="p1"), login(25, event_id="l0")]
    times = [moment(day) for day in (0, 2, 25)]
    crossing = SHOP.below_at(1, 2.0, 0.5)
    assert crossing is not None and 2 < crossing < 25
    state, one_by_one = None, []
    for event, at in zip(events, times):
        result = engine.apply_at("c1", state, event, at)
        state, one_by_one = result.state, one_by_one + list(result.records)
    replayed = engine.replay("c1", None, events, times)
    assert replayed.records == one_by_one
    entered = [(record.stage, round((record.fired_at.timestamp() - moment(0)) / DAY, 3)) for record in replayed.records]
    assert entered == [("reactivation", round(crossing, 3)), ("winback", round(crossing, 3))]
    assert replayed.state.encode() == state.encode()
