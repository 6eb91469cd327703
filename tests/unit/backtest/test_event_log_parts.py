"""A filed log dealt into parts: every customer in exactly one, with their place in the whole log."""

import msgspec

from streams.backtest.event_log import EventLog
from streams.devtools.traffic import sparse_history


def lines():
    encoder = msgspec.json.Encoder()
    encoded = [encoder.encode(event) for event in sparse_history(60, 730, seed=3)]
    # a bad line, and a line with an escape (filed after decoding on its own)
    return [*encoded[:5], b'{"type":"purchase"', encoded[5].replace(b'"customer_id":"', b'"customer_id" : "'), *encoded[6:]]


def as_seen(customers):
    return [(customer.order, customer.customer_id, [event.event_id for event in customer.events], customer.times) for customer in customers]


def test_the_parts_hold_the_whole_logs_customers_in_its_order():
    whole = EventLog(lines())
    expected = as_seen(whole.customers())
    for number in (1, 2, 3):
        parts = EventLog(lines()).parts(number)
        seen = [as_seen(part.customers()) for part in parts]
        assert sorted(customer for part in seen for customer in part) == expected
        assert all(part == sorted(part) for part in seen)  # each part in the log's order
        assert max(map(len, seen)) - min(map(len, seen)) <= 1  # dealt in turn
        assert [part.rejections for part in parts] == [whole.rejections] + [[]] * (number - 1)
        assert whole.rejections and whole.rejections[0][0] == 6


def test_the_parted_log_is_left_empty():
    log = EventLog(lines())
    log.parts(2)
    assert list(log.customers()) == [] and log.rejections == []
