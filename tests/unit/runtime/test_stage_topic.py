"""Which stage records a batch publishes: those that changed, a tombstone on erasure, nothing for the unchanged."""

from __future__ import annotations

from datetime import datetime, timezone

import msgspec

from streams.core.customer_stage import customer_stage
from streams.core.engine import Engine
from streams.model.events import Erasure
from streams.model.records import CustomerStage
from streams.runtime.stage_topic import StageChanges, stage_before

from tests.support.builders import moment, policy, purchase
from tests.support.policies import SMALL

ENGINE = Engine(policy(SMALL))
KEY = b"c1"


def erasure(day: float) -> Erasure:
    return Erasure(customer_id="c1", erased_at=datetime.fromtimestamp(moment(day), tz=timezone.utc))


def test_a_new_customer_is_published_and_an_unchanged_one_is_not():
    state = ENGINE.apply("c1", None, purchase(1)).state
    [(key, value)] = StageChanges(ENGINE).between([KEY], {KEY: stage_before(ENGINE, None)}, {KEY: state})
    assert key == KEY and msgspec.json.decode(value, type=CustomerStage) == customer_stage(ENGINE, "c1", state)
    assert StageChanges(ENGINE).between([KEY], {KEY: stage_before(ENGINE, state)}, {KEY: state}) == []


def test_a_lapse_and_a_purchase_that_moves_the_next_transition_are_published():
    stored = ENGINE.apply("c1", None, purchase(1)).state
    lapsed = ENGINE.advance("c1", ENGINE.apply("c1", None, purchase(1)).state, moment(7)).state
    [(_, value)] = StageChanges(ENGINE).between([KEY], {KEY: stage_before(ENGINE, stored)}, {KEY: lapsed})
    assert msgspec.json.decode(value)["stage"] == "reactivation"
    again = ENGINE.apply("c1", None, purchase(1)).state
    later = ENGINE.apply("c1", ENGINE.apply("c1", None, purchase(1)).state, purchase(3)).state
    [(_, value)] = StageChanges(ENGINE).between([KEY], {KEY: stage_before(ENGINE, again)}, {KEY: later})
    assert msgspec.json.decode(value)["next_transition_at"].startswith(datetime.fromtimestamp(moment(8), tz=timezone.utc).date().isoformat())


def test_an_erasure_is_a_tombstone_even_for_a_customer_the_table_did_not_hold_and_forgetting_is_silent():
    state = ENGINE.apply("c1", None, purchase(1)).state
    stored = stage_before(ENGINE, state)
    erased = ENGINE.apply("c1", state, erasure(2)).state
    assert StageChanges(ENGINE).between([KEY], {KEY: stored}, {KEY: erased}) == [(KEY, None)]
    unknown = ENGINE.apply("c1", None, erasure(2)).state
    assert StageChanges(ENGINE).between([KEY], {KEY: stage_before(ENGINE, None)}, {KEY: unknown}) == [(KEY, None)]
    assert StageChanges(ENGINE).between([KEY], {KEY: stage_before(ENGINE, erased)}, {KEY: None}) == []
