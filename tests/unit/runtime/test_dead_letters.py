"""A dead letter keeps the original record and its headers, and always fits in a Kafka message;
a batch's dead letters are awaited once, the failed ones sent again until a bounded number of
attempts (the real broker's side: tests/integration/runtime/test_dead_letters.py)."""

import asyncio
import hashlib

import pytest

from streams.model.codec import Rejection
from streams.runtime import dead_letters
from streams.runtime.dead_letters import MAX_HEADER_BYTES, MAX_KEY_BYTES, MAX_VALUE_BYTES, Source, letter, read_headers

REJECTION = Rejection("malformed_json", "JSON is malformed")
SOURCE = Source("shop.purchases", 3, 42, 1_700_000_000_000)
TRACE = ("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")


def test_a_small_record_is_kept_as_it_is_with_its_headers_first():
    dead = letter(b"cust-1", b"{not json", [TRACE, ("empty", None)], REJECTION, SOURCE)
    assert (dead.key, dead.value) == (b"cust-1", b"{not json")
    assert dead.headers[:2] == [TRACE, ("empty", None)]
    assert read_headers(dead.headers) == {
        "reason": "malformed_json", "detail": "JSON is malformed", "topic": "shop.purchases",
        "partition": "3", "offset": "42", "timestamp_ms": "1700000000000",
    }


def test_an_oversized_key_and_value_are_cut_and_their_size_and_hash_kept():
    """Issue #18, item 2: the dead letter of a record with a 1 MB key failed with MessageSizeTooLarge."""
    key, value = b"k" * 1_000_000, b"v" * 900_000
    dead = letter(key, value, [TRACE], REJECTION, SOURCE)
    assert (dead.key, dead.value) == (key[:MAX_KEY_BYTES], value[:MAX_VALUE_BYTES])
    said = read_headers(dead.headers)
    assert (said["key_bytes"], said["key_sha256"]) == ("1000000", hashlib.sha256(key).hexdigest())
    assert (said["value_bytes"], said["value_sha256"]) == ("900000", hashlib.sha256(value).hexdigest())
    assert TRACE in dead.headers


def test_a_missing_key_or_value_stays_missing():
    dead = letter(None, None, [], REJECTION, SOURCE)
    assert (dead.key, dead.value) == (None, None)
    assert not {"key_bytes", "value_bytes"} & set(read_headers(dead.headers))


def test_original_headers_beyond_the_budget_and_stale_dead_letter_headers_are_left_out_and_counted():
    big = ("baggage", b"b" * (MAX_HEADER_BYTES - 100))
    stale = ("winback.dlq.reason", b"oversize")  # from an earlier rejection of a re-published record
    dead = letter(b"k", b"v", [TRACE, big, ("another", b"x" * 200), stale, ("small", b"s")], REJECTION, SOURCE)
    assert [name for name, _ in dead.headers if not name.startswith(dead_letters.HEADER_PREFIX)] == [
        "traceparent", "baggage", "small",
    ]
    said = read_headers(dead.headers)
    assert (said["reason"], said["headers_dropped"]) == ("malformed_json", "2")


def test_the_largest_dead_letter_fits_in_kafka_s_default_message_size():
    headers = [(f"h{index}", b"x" * 1000) for index in range(1000)]
    dead = letter(b"k" * 2_000_000, b"v" * 2_000_000, headers, Rejection("oversize", "d" * 5000), SOURCE)
    size = len(dead.key) + len(dead.value) + sum(len(name) + len(value or b"") for name, value in dead.headers)
    assert size < 1_000_000 - 10_000  # the producer's max.request.size, with room for the framing


class RefusingTopic:
    """A topic whose first deliveries of the values in ``refusals`` fail, that many times each
    (a value mapped to -1 fails at being handed over, the way a full buffer does)."""

    def __init__(self, refusals: dict[bytes, int]):
        self.refusals = refusals
        self.attempts: list[bytes] = []
        self.delivered: list[bytes] = []

    async def send(self, key: bytes | None, value: bytes, headers: list) -> asyncio.Future:
        self.attempts.append(value)
        delivery = asyncio.get_running_loop().create_future()
        if self.refusals.get(value, 0) == -1:
            self.refusals[value] = 0
            raise RuntimeError("buffer full")
        if self.refusals.get(value, 0) > 0:
            self.refusals[value] -= 1
            delivery.set_exception(RuntimeError("not leader"))
        else:
            self.delivered.append(value)
            delivery.set_result(None)
        return delivery


def letters(*values: bytes) -> list[dead_letters.DeadLetter]:
    return [letter(b"k", value, [], REJECTION, Source("shop.purchases", 0, offset)) for offset, value in enumerate(values)]


async def test_a_batch_s_failed_dead_letters_alone_are_sent_again_until_acknowledged(monkeypatch):
    monkeypatch.setattr(dead_letters, "FIRST_RETRY_SECONDS", 0.001)
    topic = RefusingTopic({b"b": 2, b"c": -1})
    outbox = dead_letters.Outbox(topic)
    for dead in letters(b"a", b"b", b"c", b"d"):
        await outbox.queue(dead)
    await outbox.acknowledged()
    assert topic.attempts == [b"a", b"b", b"c", b"d", b"b", b"c", b"b"]
    assert sorted(topic.delivered) == [b"a", b"b", b"c", b"d"]


async def test_a_dead_letter_refused_at_every_attempt_is_undeliverable_with_its_source(monkeypatch):
    monkeypatch.setattr(dead_letters, "FIRST_RETRY_SECONDS", 0.001)
    topic = RefusingTopic({b"b": dead_letters.SEND_ATTEMPTS})
    outbox = dead_letters.Outbox(topic)
    for dead in letters(b"a", b"b"):
        await outbox.queue(dead)
    with pytest.raises(dead_letters.Undeliverable, match="not acknowledged after 5 attempts") as raised:
        await outbox.acknowledged()
    assert raised.value.source == Source("shop.purchases", 0, 1)
    assert topic.attempts.count(b"b") == dead_letters.SEND_ATTEMPTS and topic.delivered == [b"a"]
