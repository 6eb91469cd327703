"""The Faust application and the topics and table it is made of.

Input topics are external: their records are read as raw bytes so that a record that is
not valid JSON reaches our codec (and the dead-letter topic) instead of crashing Faust's
deserializer.  Validated events are repartitioned by ``customer_id`` onto an internal topic
with the same partition count as the activity table, so table keys equal message keys and
each table partition's changelog matches its source partition.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.settings import Settings

ACTIVITY_TABLE = "activity"


@dataclass(frozen=True)
class Topology:
    """Everything the agents read from and write to."""

    app: faust.App
    inputs: dict[str, faust.TopicT]  # event type -> input topic
    events: faust.TopicT  # validated events keyed by customer_id (UTF-8 bytes)
    dead_letters: faust.TopicT
    activity: faust.Table  # customer_id (UTF-8 bytes) -> CustomerActivity (msgpack bytes)


def create_app(settings: Settings) -> faust.App:
    """A Faust app configured from the settings (broker, store, web server, timeouts)."""
    return faust.App(
        settings.app_id,
        broker=settings.faust_broker,
        store="rocksdb://" if settings.store == "rocksdb" else "memory://",
        datadir=str(settings.data_dir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        web_host=settings.web_host,
        web_port=settings.web_port,
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=settings.heartbeat_interval,
        broker_rebalance_timeout=settings.rebalance_timeout,
        key_serializer="raw",
        value_serializer="raw",
        autodiscover=False,
    )


def build_topology(settings: Settings) -> Topology:
    """Declare the app's topics and table."""
    app = create_app(settings)
    inputs = {
        kind: app.topic(name, value_type=bytes, value_serializer="raw", key_serializer="raw")
        for kind, name in settings.input_topics.items()
    }
    events = app.topic(
        settings.topic_events,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
        internal=True,
    )
    dead_letters = app.topic(settings.topic_dead_letters, value_type=bytes, key_serializer="raw")
    activity = app.Table(
        ACTIVITY_TABLE,
        key_type=bytes,  # raw customer id bytes: changelog key == source record key, same partition
        value_type=bytes,
        partitions=settings.partitions,
        help="Per-customer activity state (msgpack CustomerActivity).",
    )
    return Topology(app=app, inputs=inputs, events=events, dead_letters=dead_letters, activity=activity)
