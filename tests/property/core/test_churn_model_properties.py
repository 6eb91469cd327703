"""The predictive trigger for any model and history: the solved crossing is where P(alive) meets
the threshold, and the trigger only ever brings a lapse forward, never holds one back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.churn_model import BgNbd
from streams.core.engine import Engine
from streams.model.records import STAGES

from tests.support.builders import login, moment, policy, purchase

parameters = st.floats(0.05, 20.0)
models = st.builds(BgNbd, r=parameters, alpha=st.floats(0.5, 200.0), a=parameters, b=parameters)


@settings(max_examples=200, deadline=None)
@given(models, st.integers(1, 50), st.floats(0.0, 500.0), st.floats(0.05, 0.95), st.floats(0.01, 500.0))
def test_p_alive_meets_the_threshold_at_the_crossing_and_only_falls(model, x, t_x, threshold, later):
    crossing = model.below_at(x, t_x, threshold)
    assert crossing is not None
    assert model.p_alive(x, t_x, crossing) == pytest.approx(threshold, abs=1e-9)
    start = max(t_x, crossing)
    assert model.p_alive(x, t_x, start) >= model.p_alive(x, t_x, start + later)


LADDER = "stages: {reactivation: 20, winback: 45, sunset: 120}\n"
PREDICTIVE = policy(LADDER + "predictive: {model: {r: 1.2, alpha: 40, a: 0.8, b: 1.6}, enter_winback_below: 0.4}\n")
THRESHOLDS = policy(LADDER)
histories = st.lists(st.tuples(st.integers(0, 90), st.booleans()), min_size=1, max_size=10)


@settings(max_examples=150, deadline=None)
@given(histories, st.floats(0, 300))
def test_the_predictive_trigger_only_brings_lapses_forward(history, day):
    events = [(purchase if bought else login)(at + n / 10, event_id=f"e{n}") for n, (at, bought) in enumerate(sorted(history))]
    times = [event.occurred_at.timestamp() for event in events]
    stages = []
    for chosen in (THRESHOLDS, PREDICTIVE):
        engine = Engine(chosen)
        state = engine.replay("c1", None, events, times).state
        stages.append(STAGES.index(engine.stage_at(state, max(moment(day), times[-1]))))
    assert stages[1] >= stages[0]
