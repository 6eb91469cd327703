"""Deterministic ids are UUIDv5 over the joined parts: the fast formatting must equal ``uuid.uuid5``.

Senders de-duplicate on these ids, so they may never change.
"""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from streams.model.records import ID_NAMESPACE, command_id, deterministic_id, trigger_id

parts = st.lists(st.text() | st.integers() | st.floats(allow_nan=False), max_size=6)


@given(parts)
def test_deterministic_id_is_uuid5_of_the_joined_parts(values: list[object]) -> None:
    expected = uuid.uuid5(ID_NAMESPACE, "\x1f".join(str(value) for value in values))
    assert deterministic_id(*values) == str(expected)
    assert uuid.UUID(deterministic_id(*values)).version == 5


@given(st.text(min_size=1), st.sampled_from(["reactivation", "winback", "sunset"]), st.integers(0, 50), st.integers(0, 1000))
def test_record_ids_are_uuid5(customer_id: str, campaign: str, step: int, episode: int) -> None:
    sep = "\x1f"
    name = sep.join(["command", customer_id, campaign, str(step), str(episode)])
    assert command_id(customer_id, campaign, step, episode) == str(uuid.uuid5(ID_NAMESPACE, name))
    name = sep.join(["trigger", customer_id, campaign, str(episode)])
    assert trigger_id(customer_id, campaign, episode) == str(uuid.uuid5(ID_NAMESPACE, name))


def test_known_ids_never_change() -> None:
    """Pinned values: an id published yesterday must be the same id today."""
    assert command_id("cust-0001234", "reactivation", 1, 0) == "92399552-4ea6-5813-8ae0-46db43f62aec"
    assert trigger_id("c", "winback", 2) == "2e4e0cb1-6431-5a31-bdb9-032239495c27"
