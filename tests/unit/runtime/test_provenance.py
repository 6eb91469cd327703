"""The source header round-trips, in both shapes Kafka clients hand headers over, as an
``Origin`` and as the engine's ``Position``."""

from streams.model.positions import Position, source_id
from streams.runtime import provenance


def test_origin_round_trips_as_a_list_and_as_a_mapping() -> None:
    origin = provenance.Origin("shop.purchases", 3, 1_234_567)
    name, value = provenance.header(origin.topic, origin.partition, origin.offset)
    assert provenance.read([("traceparent", b"00-ab"), (name, value)]) == origin
    assert provenance.read({name: value}) == origin
    assert provenance.position([("traceparent", b"00-ab"), (name, value)]) == Position(source_id(origin.topic, origin.partition), origin.offset)
    assert provenance.position({name: value}) == Position(source_id(origin.topic, origin.partition), origin.offset)


def test_missing_or_garbled_header_reads_as_none() -> None:
    for read in (provenance.read, provenance.position):
        assert read(None) is None
        assert read([("other", b"x")]) is None
        assert read([(provenance.HEADER, b"topic:x:1")]) is None
        for garbled in (b"", b"1", b"topic:1", b"topic:1:", b":1:x", "topic:\u00b2:1".encode(), b"topic:1:\xb2"):
            assert read([(provenance.HEADER, garbled)]) is None, garbled


def test_a_topic_name_with_a_colon_in_a_garbled_header_is_read_up_to_the_last_two() -> None:
    """Topic names cannot hold ':', so the partition and offset are the last two fields."""
    assert provenance.read(((provenance.HEADER, b"a:b:2:7"),)) == provenance.Origin("a:b", 2, 7)
