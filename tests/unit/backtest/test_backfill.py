"""The backfill's states: the engine's facts of each customer's history, an active lifecycle, the history's end."""

from datetime import datetime, timezone
from pathlib import Path

from streams.backtest.backfill import compute_backfill
from streams.backtest.history import read_history
from streams.core.engine import Engine
from streams.core.lifecycle import DAY
from streams.devtools import testing
from streams.model.activity import NEVER
from streams.model.positions import Position

from tests.support.builders import email, line, login, moment, policy, purchase
from tests.support.policies import SMALL  # reactivation after 5 days, win-back 15, sunset 40

NOW = moment(1000)


def _backfill(tmp_path: Path, events, as_of: float):
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"".join(line(event) + b"\n" for event in events))
    return compute_backfill(read_history([path]), policy(SMALL), as_of, now=NOW)


def test_each_customer_is_counted_once_in_the_stage_they_are_in_at_as_of(tmp_path: Path):
    history = [
        purchase(0, "gone"),  # 100 days quiet at day 100: sunset
        purchase(0, "drifting"), purchase(80, "drifting"), login(90, "drifting"),  # 10 days: reactivation
        purchase(70, "lapsed"),  # 30 days: win-back
        purchase(99, "fresh"),
        purchase(101, "later"),  # after as_of: left out, as are the events after it
        purchase(150, "fresh"),
    ]
    backfill = _backfill(tmp_path, history, as_of=moment(100))
    assert backfill.summary() == {
        "as_of": "2024-04-10T12:00:00Z",
        "customers": 4,
        "stages": {"active": 1, "reactivation": 1, "winback": 1, "sunset": 1},
    }
    assert (backfill.events, backfill.after_as_of) == (6, 2)
    assert backfill.horizon == moment(99)  # the latest event applied


def test_a_state_keeps_the_facts_and_forgets_what_the_policy_would_have_sent(tmp_path: Path):
    history = [purchase(0, "c1", amount=5), purchase(30, "c1", amount=7), email(31, "unsubscribe", "c1"), purchase(30, "c1", amount=7)]
    backfill = _backfill(tmp_path, history, as_of=moment(100))
    state = backfill.states["c1"]
    assert (state.purchase_count, state.total_spend, state.last_purchase) == (2, 12.0, moment(30))  # the repeat: once
    assert state.unsubscribed == 1 and backfill.duplicates == 1
    # The engine fired reactivation and win-back on day 5 and 15 of the history: none of it was sent.
    assert (state.stage, state.step, state.sends, state.touch_stage, state.deferred_to) == (0, 0, [], 0, NEVER)
    assert state.stage_entered_at == state.first_seen == moment(0)
    assert state.history_until == moment(31)


def test_a_live_event_the_history_holds_is_not_counted_twice_and_an_opt_out_always_applies(tmp_path: Path):
    state = _backfill(tmp_path, [purchase(0, "c1"), purchase(10, "c1")], as_of=moment(10)).states["c1"]
    engine = Engine(policy(SMALL))
    # The whole history again from Kafka, with other ids (beyond the window of recent ids).
    again = [purchase(day, "c1", event_id=f"again-{day}") for day in range(11)]
    positions = [Position(source=1, offset=offset) for offset in range(len(again))]
    result = engine.replay("c1", state, again, [moment(day) for day in range(11)], positions)
    assert result.duplicates == 11 and state.purchase_count == 2
    engine.apply_at("c1", state, email(5, "unsubscribe", "c1"), moment(5), Position(source=1, offset=11))
    assert state.unsubscribed == 1  # dated inside the history, applied all the same
    engine.apply_at("c1", state, purchase(11, "c1"), moment(11), Position(source=1, offset=12))
    assert state.purchase_count == 3  # after the history's end: new


def test_a_history_from_the_1990s_is_backfilled(tmp_path: Path):
    base = datetime(1995, 3, 1, tzinfo=timezone.utc).timestamp()
    events = [testing.purchase("c90s", base + day * DAY, event_id=f"p{day}", order_id=f"o{day}") for day in (0, 20, 40)]
    backfill = _backfill(tmp_path, events, as_of=base + 45 * DAY)
    assert backfill.summary()["stages"] == {"active": 0, "reactivation": 1, "winback": 0, "sunset": 0}
    assert backfill.states["c90s"].purchase_count == 3
