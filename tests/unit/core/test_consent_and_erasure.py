"""Consent is never deduplicated away, withdrawals win ties, and an erasure ends everything, then
is forgotten (issue items 3, 6, 7)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from streams.core.engine import ERASURE_GRACE, Engine
from streams.model.activity import CHANNEL_BITS, CustomerActivity
from streams.model.events import Erasure
from streams.model.records import Erased

from tests.support.builders import email, moment, policy, profile, purchase
from tests.support.policies import SMALL


@pytest.fixture
def engine() -> Engine:
    return Engine(policy(SMALL))


def erasure(day: float, customer: str = "c1") -> Erasure:
    return Erasure(customer_id=customer, erased_at=datetime.fromtimestamp(moment(day), tz=timezone.utc))


def apply_all(engine: Engine, events, **options) -> tuple[CustomerActivity, list]:
    state, records = None, []
    for event in events:
        result = engine.apply_at("c1", state, event, event.occurred_at.timestamp(), **options)
        state, records = result.state, records + list(result.records)
    assert state is not None
    return state, records


def test_an_unsubscribe_sharing_its_id_with_a_delivered_email_is_applied(engine):
    state, _ = apply_all(engine, [email(1, "delivered", event_id="m-1"), email(1, "unsubscribe", event_id="m-1")])
    assert state.unsubscribed == CHANNEL_BITS["email"]


def test_events_of_other_kinds_sharing_an_id_are_all_counted(engine):
    state, _ = apply_all(engine, [purchase(1, event_id="x"), email(2, "open", event_id="x"), email(3, "click", event_id="x")])
    assert (state.purchase_count, state.last_open, state.last_click) == (1, moment(2), moment(3))


def test_a_repeated_opt_out_is_applied_again_and_counted_as_a_duplicate(engine):
    complaint = email(1, "complaint", event_id="m-1")
    state = engine.apply("c1", None, complaint).state
    again = engine.apply("c1", state, complaint)
    assert again.duplicate and again.state.unsubscribed == CHANNEL_BITS["email"]


@pytest.mark.parametrize("order", [("all", "email"), ("email", "all")])
def test_a_consent_withdrawal_wins_a_tie_in_either_order(engine, order):
    consents = {"all": ("email", "sms", "push"), "email": ("email",)}
    state, _ = apply_all(engine, [profile(1, consent=consents[name]) for name in order])
    assert state.consent == CHANNEL_BITS["email"]


def test_a_newer_profile_may_give_consent_back(engine):
    state, _ = apply_all(engine, [profile(1, consent=("email",)), profile(2, consent=("email", "sms"))])
    assert state.consent == CHANNEL_BITS["email"] | CHANNEL_BITS["sms"]


def test_a_future_dated_profile_cannot_block_a_later_withdrawal():
    """A profile a month ahead counts as five minutes ahead of when it is applied, so a
    withdrawal made an hour later wins (without the bound it would lose for a month)."""
    engine = Engine(policy(SMALL), profile_skew=300.0)
    future = profile(40, consent=("email", "sms"))
    withdrawal = profile(10 + 1 / 24, consent=())
    state = engine.apply_at("c1", None, future, moment(40), now=moment(10)).state
    assert state.profile_at == moment(10) + 300
    state = engine.apply_at("c1", state, withdrawal, moment(10 + 1 / 24), now=moment(10 + 1 / 24)).state
    assert state.consent == 0 and state.profile_at == moment(10 + 1 / 24)


def test_without_now_a_future_dated_profile_keeps_its_time(engine):
    future, withdrawal = profile(40, consent=("email",)), profile(11, consent=())
    state, _ = apply_all(engine, [future, withdrawal])
    assert state.consent == CHANNEL_BITS["email"]


def test_an_erasure_empties_the_state_ends_the_series_and_records_it(engine):
    lapsed = engine.advance("c1", engine.apply("c1", None, purchase(0)).state, moment(16)).state  # in winback
    result = engine.apply("c1", lapsed, erasure(16.5))
    (record,) = result.records
    assert isinstance(record, Erased) and (record.stage, record.episode) == ("winback", 0)
    assert result.state == CustomerActivity.erased(moment(16.5), {}, moment(16.5) + ERASURE_GRACE)
    assert engine.advance("c1", result.state, moment(1000)).records == ()


def test_events_from_before_an_erasure_do_not_bring_the_customer_back(engine):
    state, records = apply_all(engine, [purchase(0), erasure(2), purchase(1, amount=99.0), email(1.5, "open")])
    assert state.is_erased() and state.purchase_count == 0 and len(records) == 1


def test_an_event_after_an_erasure_starts_the_customer_afresh(engine):
    state, _ = apply_all(engine, [purchase(0, amount=50.0), erasure(2), purchase(3, amount=7.0)])
    assert (state.first_seen, state.purchase_count, state.total_spend) == (moment(3), 1, 7.0)
    assert state.erased_at == moment(2) and not state.is_erased()
    assert state.forget_at is None and engine.next_due(state) != moment(2) + ERASURE_GRACE


def test_the_marker_is_due_a_grace_after_the_erasure_was_applied_and_then_forgotten():
    engine = Engine(policy(SMALL), erasure_grace=60.0)
    applied_at = moment(5)  # the scheduler's clock when the worker applied a tombstone dated day 2
    marker = engine.apply_at("c1", None, erasure(2), moment(2), applied_at=applied_at).state
    assert engine.next_due(marker) == applied_at + 60.0
    assert not engine.advance("c1", marker, applied_at + 59.0).forgotten
    due = engine.advance("c1", marker, applied_at + 60.0)
    assert due.forgotten and due.records == () and due.state == marker


@pytest.mark.parametrize("applied_at", [None, float("-inf"), moment(1)])
def test_the_grace_never_runs_from_before_the_erasure(engine, applied_at):
    """Without the caller's clock (a backtest), before any watermark (the event clock), or on a
    clock behind the tombstone's time (a fixed one), the grace runs from the erasure's time."""
    marker = engine.apply_at("c1", None, erasure(2), moment(2), applied_at=applied_at).state
    assert engine.next_due(marker) == moment(2) + ERASURE_GRACE


def test_an_event_from_before_the_erasure_leaves_the_marker_due_when_it_was(engine):
    marker, _ = apply_all(engine, [purchase(0), erasure(2), purchase(1, amount=99.0)])
    assert marker.is_erased() and marker.forget_at == moment(2) + ERASURE_GRACE


def test_a_customer_who_came_back_is_not_forgotten(engine):
    state, _ = apply_all(engine, [erasure(2), purchase(3)])
    assert not engine.advance("c1", state, moment(2) + 2 * ERASURE_GRACE).forgotten
