"""Any historical time from the epoch on: the engine decides on 1970s and 1990s dates as on today's."""

from datetime import datetime, timezone

from streams.core.engine import Engine
from streams.devtools import testing
from streams.model.records import Trigger

from tests.support.builders import DAY, policy
from tests.support.policies import SMALL


def test_a_customer_whose_only_purchase_is_at_the_epoch_itself_lapses():
    engine = Engine(policy(SMALL))
    state = engine.apply("c1", None, testing.purchase("c1", 0.0, event_id="e0", order_id="o0")).state
    triggers = [record for record in engine.advance("c1", state, 50 * DAY).records if isinstance(record, Trigger)]
    assert [(trigger.stage, trigger.fired_at) for trigger in triggers] == [
        ("reactivation", datetime(1970, 1, 6, tzinfo=timezone.utc)),
        ("winback", datetime(1970, 1, 16, tzinfo=timezone.utc)),
        ("sunset", datetime(1970, 2, 10, tzinfo=timezone.utc)),
    ]
    assert triggers[0].last_activity_at == datetime(1970, 1, 1, tzinfo=timezone.utc)
