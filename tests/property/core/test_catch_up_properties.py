"""Catching up with ``latest``, for any history, policy and moment: the customer ends in the stage
``stage_at`` names, as with ``all``; only that stage may get a trigger, and at most one message
(its latest step due); every step ``all`` would have sent and ``latest`` does not is a
``caught_up`` skip."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.engine import Engine
from streams.model.events import AnyInput
from streams.model.records import STAGES, MessageCommand, Skip, Trigger

from tests.support.builders import login, purchase
from tests.support.policies import CONTROLLED, POLICIES

histories = st.lists(st.tuples(st.integers(0, 60), st.booleans()), min_size=1, max_size=8)


def history_events(history) -> list[AnyInput]:
    """Purchases and logins on the given days, in time order."""
    return [
        (purchase if bought else login)(day + number / 10, event_id=f"e{number}")
        for number, (day, bought) in enumerate(sorted(history))
    ]


@settings(max_examples=300, deadline=None)
@given(histories, st.sampled_from([*POLICIES, CONTROLLED]), st.floats(0, 200))
def test_latest_enters_only_the_stage_at_now_and_skips_what_all_would_have_sent(history, policy, later):
    events = history_events(history)
    now = events[-1].occurred_at.timestamp() + later * 86400
    after = {}
    for mode in ("latest", "all"):
        engine = Engine(policy, catch_up=mode)
        state = engine.replay("c1", None, events, [event.occurred_at.timestamp() for event in events]).state
        expected = engine.stage_at(state, now)
        records = engine.advance("c1", state, now).records
        assert STAGES[state.stage] == expected
        after[mode] = (state, records)
    state, records = after["latest"]
    current = STAGES[state.stage]
    assert [record.stage for record in records if isinstance(record, Trigger)] in ([], [current])
    assert all(record.stage == current for record in records if isinstance(record, MessageCommand))
    sent = {record.command_id for record in records if isinstance(record, MessageCommand)}
    skipped = {record.command_id for record in records if isinstance(record, Skip) and record.reason == "caught_up"}
    all_sent = {record.command_id for record in after["all"][1] if isinstance(record, MessageCommand)}
    assert len(sent) <= 1
    assert all_sent - sent <= skipped
    assert (after["all"][0].stage, after["all"][0].episode) == (state.stage, state.episode)
