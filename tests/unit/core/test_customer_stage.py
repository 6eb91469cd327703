"""The customer-stage record: what the compacted stage topic says about a customer."""

from __future__ import annotations

from datetime import datetime, timezone

import json
from pathlib import Path

import msgspec
from jsonschema import Draft202012Validator

from streams.core.customer_stage import customer_stage
from streams.core.engine import Engine
from streams.core.series import campaign_of
from streams.model.activity import CustomerActivity
from streams.model.events import Erasure
from streams.model.records import to_datetime

from tests.support.builders import moment, policy, purchase
from tests.support.policies import SMALL

TIERED = SMALL + """
tiers: [{name: best, min_spend: 100, min_purchases: 2}]
"""


def test_an_active_customer_has_no_campaign_and_enters_reactivation_next():
    engine = Engine(policy(TIERED))
    state = engine.apply("c1", None, purchase(1, amount=60)).state
    state = engine.apply("c1", state, purchase(2, amount=60)).state
    record = customer_stage(engine, "c1", state)
    assert record is not None
    assert (record.stage, record.since, record.episode, record.tier) == ("active", to_datetime(moment(1)), 0, "best")
    assert (record.campaign, record.variant, record.holdout) == (None, None, None)
    assert (record.next_stage, record.next_transition_at) == ("reactivation", to_datetime(moment(2 + 5)))


def test_a_lapsed_customer_carries_their_campaign_group_and_the_next_transition():
    engine = Engine(policy(SMALL.replace("  winback:\n", "  winback:\n    holdout: 0.5\n    variants: {a: 1, b: 1}\n")))
    state = engine.apply("c1", None, purchase(1)).state
    state = engine.advance("c1", state, moment(17)).state  # reactivation on day 6, winback on day 16
    record = customer_stage(engine, "c1", state)
    assert record is not None
    group = engine.series.assignment("c1", state.stage)
    assert (record.stage, record.since, record.tier) == ("winback", to_datetime(moment(16)), None)
    assert (record.campaign, record.variant, record.holdout) == (campaign_of("winback"), group.variant, group.holdout)
    assert (record.next_stage, record.next_transition_at) == ("sunset", to_datetime(moment(41)))


def test_the_last_stage_has_nothing_ahead_and_an_erased_customer_no_record():
    engine = Engine(policy(SMALL))
    state = engine.apply("c1", None, purchase(1)).state
    sunset = engine.advance("c1", state, moment(60)).state
    record = customer_stage(engine, "c1", sunset)
    assert record is not None and record.stage == "sunset" and record.campaign is None
    assert (record.next_stage, record.next_transition_at) == (None, None)
    erased = engine.apply("c1", sunset, Erasure(customer_id="c1", erased_at=datetime.fromtimestamp(moment(61), tz=timezone.utc)))
    assert customer_stage(engine, "c1", erased.state) is None


def test_a_state_without_a_stage_clock_has_no_since():
    engine = Engine(policy(SMALL))
    assert customer_stage(engine, "c1", CustomerActivity(first_seen=moment(1))).since is None  # type: ignore[union-attr]


def test_a_stage_record_validates_against_its_schema_file():
    engine = Engine(policy(TIERED))
    state = engine.advance("c1", engine.apply("c1", None, purchase(1, amount=200)).state, moment(7)).state
    schema = json.loads((Path(__file__).parents[3] / "schemas" / "customer-stage.v1.json").read_text())
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(
        msgspec.to_builtins(customer_stage(engine, "c1", state))
    )
