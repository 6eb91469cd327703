"""The customers agent's batch decisions, without Kafka: which customers' states a batch writes."""

from __future__ import annotations

from dataclasses import dataclass

from streams.core.engine import Engine
from streams.policy.loading import default_policy_path, load_policy
from streams.runtime.agents import _decide
from tests.support.builders import purchase


@dataclass
class Message:
    partition: int = 0


@dataclass(eq=False)
class Event:
    """What the agent reads of a Faust event: its key and its message's partition."""

    key: bytes
    message: Message


def test_a_redelivered_event_writes_the_state_it_found_again():
    """With RocksDB a crash can leave a state in the local database that never reached the
    changelog; the redelivered event finds it, changes nothing, and must write it back."""
    engine = Engine(load_policy(default_policy_path()))
    first = purchase(0, "c1")
    stored = engine.apply("c1", None, first).state
    table = {b"c1": stored.encode()}

    decided = _decide(table, engine, [(Event(b"c1", Message()), first)])

    assert list(decided.changed) == [b"c1"] and decided.records == []
    assert decided.states[b"c1"] == stored
