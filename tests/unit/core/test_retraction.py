"""Late-event retraction (policy ``late_events``): an activity event that arrives after a trigger
it would have prevented withdraws it, cancels the unsent steps, counts the sent ones as sent in
error and puts the customer back where the event found them."""

from streams.core.engine import Engine
from streams.model.activity import CustomerActivity
from streams.model.records import MessageCommand, Retraction, Trigger, command_id, trigger_id

from tests.support.builders import email, login, moment, policy, profile, purchase
from tests.support.policies import SMALL

# SMALL: reactivation after 5 idle days (email day 0, push day 3), winback after 15 (email
# offer day 0, sms reminder day 4), sunset after 40.
RETRACTING = SMALL + "late_events: {retract_within_days: 7}\n"


def engine(text: str = RETRACTING) -> Engine:
    return Engine(policy(text))


def in_winback(engine: Engine, day: float = 16) -> CustomerActivity:
    """Bought on day 0; by ``day`` the reactivation series went out and the winback offer too (day 15)."""
    state = engine.apply("c1", None, purchase(0)).state
    fired = engine.advance("c1", state, moment(day)).records
    assert [record.stage for record in fired if isinstance(record, Trigger)] == ["reactivation", "winback"]
    return state


def late(engine: Engine, state: CustomerActivity, event, arrived: float) -> list:
    """Apply ``event`` as it arrives on day ``arrived``: the records."""
    return list(engine.apply_at("c1", state, event, event.occurred_at.timestamp(), applied_at=moment(arrived)).records)


def test_a_purchase_made_before_the_winback_trigger_but_applied_after_it_retracts_it():
    winback = engine()
    state = in_winback(winback)
    records = late(winback, state, purchase(14), arrived=16)
    cancels = [record for record in records if isinstance(record, MessageCommand)]
    (retraction,) = [record for record in records if isinstance(record, Retraction)]
    # Only the reminder (day 19) was not sent yet: one cancel, with the id its send would have had.
    assert [(command.step, command.channel, command.action) for command in cancels] == [(1, "sms", "cancel")]
    assert cancels[0].command_id == command_id("c1", "winback", 1, 0)
    assert cancels[0].send_after == cancels[0].expires_at  # an empty window: an old sender finds it expired
    assert retraction.trigger_id == trigger_id("c1", "winback", 0)
    assert (retraction.outcome, retraction.stage, retraction.restored_stage) == ("retracted", "winback", "active")
    assert (retraction.late_event_type, retraction.late_event_id) == ("purchase", "p-c1-14")
    assert retraction.late_event_at.timestamp() == moment(14)
    assert (retraction.fired_at.timestamp(), retraction.retracted_at.timestamp()) == (moment(15), moment(16))
    assert retraction.cancelled == [command_id("c1", "winback", 1, 0)]
    # The offer went out on day 15, after the purchase: sent in error.  The reactivation mails
    # (days 5 and 8) went out before it, rightly.
    assert [(sent.step, sent.channel, sent.command_id) for sent in retraction.sent_in_error] == [
        (0, "email", command_id("c1", "winback", 0, 0))
    ]


def test_the_customer_is_back_to_active_from_the_late_event_and_later_stages_are_re_derived():
    winback = engine()
    state = in_winback(winback)
    late(winback, state, purchase(14), arrived=16)
    assert (state.stage, state.stage_entered_at, state.episode, state.step) == (0, moment(14), 1, 0)
    assert winback.next_due(state) == moment(19)  # reactivation 5 days after the late purchase
    refired = winback.advance("c1", state, moment(20)).records
    (trigger,) = [record for record in refired if isinstance(record, Trigger)]
    assert (trigger.stage, trigger.episode, trigger.fired_at.timestamp()) == ("reactivation", 1, moment(19))
    assert trigger.trigger_id != trigger_id("c1", "reactivation", 0)  # a new episode: ids of its own


def test_a_late_purchase_during_the_earlier_stage_retracts_the_later_one_and_keeps_the_earlier_sends():
    winback = engine()
    state = in_winback(winback)
    records = late(winback, state, purchase(10), arrived=16)
    (retraction,) = [record for record in records if isinstance(record, Retraction)]
    assert retraction.stage == "winback"
    assert [sent.step for sent in retraction.sent_in_error] == [0]  # the winback offer, not the reactivation mails
    assert (state.stage, state.stage_entered_at) == (0, moment(10))


def test_an_event_applied_later_than_the_bound_is_applied_without_retraction():
    winback = engine()
    state = in_winback(winback, day=22)
    records = late(winback, state, purchase(14), arrived=22)  # 8 days late, 7 allowed
    assert records == []
    assert (state.stage, state.episode, state.last_purchase) == (2, 0, moment(14))  # still in winback, the facts updated


def test_without_late_events_in_the_policy_nothing_is_retracted():
    plain = engine(SMALL)
    state = in_winback(plain)
    assert late(plain, state, purchase(14), arrived=16) == []
    assert state.stage == 2


def test_a_late_event_that_would_not_have_prevented_the_trigger_retracts_nothing():
    winback = engine()
    # Not activity under the policy (opens are not a signal), and a profile never is.
    state = in_winback(winback)
    assert late(winback, state, email(14, "open"), arrived=16) == []
    assert late(winback, state, profile(14), arrived=16) == []
    assert state.stage == 2
    # Older than activity already known: it moves no threshold.
    state = winback.apply("c1", None, purchase(0)).state
    state = winback.apply("c1", state, login(2)).state
    winback.advance("c1", state, moment(18))  # winback on day 17
    assert state.stage == 2
    assert late(winback, state, purchase(1), arrived=18) == []
    assert state.stage == 2


def test_an_event_in_time_is_no_retraction():
    winback = engine()
    state = in_winback(winback)
    records = late(winback, state, purchase(16), arrived=16)  # after the trigger: it ends the lapse as always
    assert not [record for record in records if isinstance(record, (Retraction, MessageCommand))]
    assert (state.stage, state.stage_entered_at, state.episode) == (0, moment(16), 1)


def test_a_held_out_customers_retraction_has_no_cancels():
    held = engine(RETRACTING.replace("  winback:\n", "  winback:\n    holdout: 0.99\n", 1))
    state = in_winback(held)
    records = late(held, state, purchase(14), arrived=16)
    (retraction,) = records  # no cancel: the holdout's steps were never going to be commands
    assert isinstance(retraction, Retraction)
    assert (retraction.holdout, retraction.cancelled, retraction.sent_in_error) == (True, [], [])
    assert state.stage == 0


def test_messages_of_an_earlier_stage_sent_after_the_late_event_are_sent_in_error_under_their_campaign():
    winback = engine(SMALL + "late_events: {retract_within_days: 30}\n")
    state = in_winback(winback)
    records = late(winback, state, purchase(6), arrived=16)  # after the reactivation mail (day 5), before the push (day 8)
    (retraction,) = [record for record in records if isinstance(record, Retraction)]
    assert [(sent.campaign, sent.step, sent.channel) for sent in retraction.sent_in_error] == [
        ("reactivation", 1, "push"), ("winback", 0, "email")
    ]
    assert retraction.sent_in_error[0].command_id == command_id("c1", "reactivation", 1, 0)


def retractions(records: list) -> list[Retraction]:
    return [record for record in records if isinstance(record, Retraction)]


def test_a_late_purchase_before_the_first_stage_retracts_every_trigger_of_the_lapse():
    winback = engine(SMALL + "late_events: {retract_within_days: 30}\n")
    state = in_winback(winback)
    records = late(winback, state, purchase(3), arrived=16)  # before reactivation (day 5): the customer never lapsed
    reactivation, offer = retractions(records)
    assert [(retraction.stage, retraction.trigger_id, retraction.fired_at.timestamp()) for retraction in (reactivation, offer)] == [
        ("reactivation", trigger_id("c1", "reactivation", 0), moment(5)),
        ("winback", trigger_id("c1", "winback", 0), moment(15)),
    ]
    assert reactivation.retraction_id != offer.retraction_id and reactivation.late_event_at == offer.late_event_at
    # Only the latest series had steps left to cancel; each retraction lists its own stage's messages.
    assert (reactivation.cancelled, offer.cancelled) == ([], [command_id("c1", "winback", 1, 0)])
    assert [(sent.campaign, sent.step) for sent in reactivation.sent_in_error] == [("reactivation", 0), ("reactivation", 1)]
    assert [(sent.campaign, sent.step) for sent in offer.sent_in_error] == [("winback", 0)]
    # Back to active from the purchase: reactivation comes again 5 days after it, in a new episode.
    assert (state.stage, state.stage_entered_at, state.episode) == (0, moment(3), 1)
    (again,) = [record for record in winback.advance("c1", state, moment(9)).records if isinstance(record, Trigger)]
    assert (again.stage, again.episode, again.fired_at.timestamp()) == ("reactivation", 1, moment(8))


def test_catching_up_latest_an_earlier_stage_is_retracted_only_if_its_series_shows_it_fired():
    caught_up = engine(SMALL + "late_events: {retract_within_days: 30}\ncatch_up: latest\n")
    state = caught_up.apply("c1", None, purchase(0)).state
    fired = caught_up.advance("c1", state, moment(16)).records  # one tick past both entries: reactivation passed over
    assert [record.stage for record in fired if isinstance(record, Trigger)] == ["winback"]
    (retraction,) = retractions(late(caught_up, state, purchase(3), arrived=16))  # none for a trigger never published
    assert retraction.stage == "winback"
    # Ticking through the lapse, reactivation fired and mailed: both are retracted.
    state = caught_up.apply("c2", None, purchase(0)).state
    ticks = [record for day in range(1, 17) for record in caught_up.advance("c2", state, moment(day)).records]
    assert [record.stage for record in ticks if isinstance(record, Trigger)] == ["reactivation", "winback"]
    found = retractions(list(caught_up.apply_at("c2", state, purchase(3, "c2"), moment(3), applied_at=moment(16)).records))
    assert [retraction.stage for retraction in found] == ["reactivation", "winback"]


def test_when_the_earlier_entries_no_longer_lead_to_the_current_one_only_the_latest_is_retracted():
    """The lapse began under a policy whose winback came a day earlier: the dates derived again do
    not end at the winback trigger, so they are not trusted with the earlier trigger's id."""
    state = in_winback(engine(SMALL.replace("winback: 15", "winback: 14") + "late_events: {retract_within_days: 30}\n"))
    (retraction,) = retractions(late(engine(SMALL + "late_events: {retract_within_days: 30}\n"), state, purchase(3), arrived=16))
    assert (retraction.stage, retraction.fired_at.timestamp()) == ("winback", moment(14))


def test_sent_in_error_lists_only_the_latest_four_messages_the_state_remembers():
    three_mails = SMALL.replace(
        "      - {after_days: 3, channel: push, template: new-in}\n",
        "      - {after_days: 3, channel: push, template: new-in}\n      - {after_days: 6, channel: email, template: last-call}\n",
    )
    winback = engine(three_mails + "late_events: {retract_within_days: 30}\n")
    state = winback.apply("c1", None, purchase(0)).state
    sent = [record for record in winback.advance("c1", state, moment(20)).records if isinstance(record, MessageCommand)]
    assert [(command.campaign, command.step) for command in sent] == [
        ("reactivation", 0), ("reactivation", 1), ("reactivation", 2), ("winback", 0), ("winback", 1)
    ]
    listed = [sent for retraction in retractions(late(winback, state, purchase(3), arrived=20)) for sent in retraction.sent_in_error]
    assert [(message.campaign, message.step) for message in listed] == [("reactivation", 1), ("reactivation", 2), ("winback", 0), ("winback", 1)]
