"""Settings that depend on the clock: the earliest event time ingest accepts, and how the engine catches up."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from streams.runtime.settings import Settings
from streams.runtime.topology import create_app


def test_the_wall_clock_keeps_winback_earliest_event_as_its_floor():
    assert Settings().event_floor == (datetime(2000, 1, 1, tzinfo=timezone.utc).timestamp(), "WINBACK_EARLIEST_EVENT, the wall clock's floor")
    later = Settings(earliest_event="2010-06-01T12:00:00+02:00").event_floor[0]
    assert later == datetime(2010, 6, 1, 10, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("clock", ["event", "fixed:1995-01-01T00:00:00Z"])
def test_clocks_that_re_enact_history_accept_it_from_the_epoch_on(clock: str):
    assert Settings(clock=clock, earliest_event="2010-01-01").event_floor == (0.0, "the Unix epoch")


@pytest.mark.parametrize(("clock", "catch_up"), [("wall", "latest"), ("event", "all"), ("fixed:2024-01-01T00:00:00Z", "all")])
def test_catch_up_is_latest_only_on_the_wall_clock_unless_the_policy_says(clock: str, catch_up: str):
    assert Settings(clock=clock).catch_up_default == catch_up


@pytest.mark.parametrize(
    ("text", "formats"),
    [
        ("json", {"purchase": "json", "login": "json", "email": "json", "profile": "json"}),
        ("AVRO", {"purchase": "avro", "login": "avro", "email": "avro", "profile": "avro"}),
        ("purchase=avro, login=protobuf", {"purchase": "avro", "login": "protobuf", "email": "json", "profile": "json"}),
    ],
)
def test_one_input_format_for_all_inputs_or_one_per_input(text: str, formats: dict[str, str]):
    assert Settings(input_format=text, schema_registry_url="http://registry:8081").input_formats == formats


@pytest.mark.parametrize("text", ["xml", "purchase=xml", "orders=avro", "purchase=avro,json"])
def test_an_unknown_input_format_or_input_names_the_accepted_forms(text: str):
    with pytest.raises(ValueError, match="name a format \\(json, avro, protobuf, jsonschema\\)"):
        Settings(input_format=text, schema_registry_url="http://registry:8081")


def test_a_registry_format_needs_the_registry_url_and_credentials_go_in_pairs():
    with pytest.raises(ValueError) as raised:
        Settings(input_format="purchase=avro", output_format="jsonschema", schema_registry_username="shop")
    assert str(raised.value).count("\n") >= 1
    assert "WINBACK_SCHEMA_REGISTRY_URL: set it for WINBACK_INPUT_FORMAT=purchase=avro and WINBACK_OUTPUT_FORMAT=jsonschema" in str(raised.value)
    assert "WINBACK_SCHEMA_REGISTRY_USERNAME and WINBACK_SCHEMA_REGISTRY_PASSWORD go together" in str(raised.value)
    assert Settings().input_formats["purchase"] == "json"  # plain JSON needs no registry


def test_keyed_input_takes_every_clock():
    """The event clock no longer needs the repartitioning hop (streams.runtime.keyed_event_time)."""
    for clock in ("wall", "event", "fixed:2024-01-01T00:00:00Z"):
        assert Settings(input_keyed=True, clock=clock).input_keyed


def test_the_batch_size_and_standby_replicas_reach_faust():
    conf = create_app(Settings(broker="127.0.0.1:1", app_id="tuned", batch_records=100, standby_replicas=0)).conf
    assert (conf.broker_max_poll_records, conf.table_standby_replicas) == (100, 0)
    defaults = create_app(Settings(broker="127.0.0.1:1", app_id="default")).conf
    assert (defaults.broker_max_poll_records, defaults.table_standby_replicas) == (10_000, 1)
