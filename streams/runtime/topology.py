"""The Faust application and the topics and table it is made of.

Input topics are external: their records are read as raw bytes so that a record that is
not valid JSON reaches our codec (and the dead-letter topic) instead of crashing Faust's
deserializer.  Validated events are repartitioned by ``customer_id`` onto an internal topic
with the same partition count as the activity table, so table keys equal message keys and
each table partition's changelog matches its source partition.  Input already keyed by
customer (``WINBACK_INPUT_KEYED``) has that partition count itself and is read directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust
from faust.types import TP
from faust.types.auth import CredentialsT

from streams.runtime.connection import client_options
from streams.runtime.faust_patches import DurableApp
from streams.runtime.settings import ACTIVITY_TABLE, Settings


@dataclass(frozen=True)
class Topology:
    """Everything the agents read from and write to."""

    app: DurableApp
    inputs: dict[str, faust.TopicT]  # event type -> input topic
    events: faust.TopicT  # validated events keyed by customer_id (UTF-8 bytes)
    due: faust.TopicT  # scheduler ticks: customers whose next transition is due, keyed by customer_id
    customer_inputs: faust.TopicT  # events + due ticks, read by one agent so each customer's updates are serial
    dead_letters: faust.TopicT
    triggers: faust.TopicT
    commands: dict[str, faust.TopicT]  # channel -> topic
    skips: faust.TopicT
    outcomes: faust.TopicT
    activity: faust.Table  # customer_id (UTF-8 bytes) -> CustomerActivity (msgpack bytes)
    stages: faust.TopicT  # compacted: customer_id -> the customer's current CustomerStage (a tombstone: erased)

    def active(self, *topics: faust.TopicT) -> set[TP]:
        """The partitions of ``topics`` assigned to this worker as active (not standby) ones."""
        names = {topic.get_topic_name() for topic in topics}
        return {tp for tp in self.app.assignor.assigned_actives() if tp.topic in names}

    def customer_partitions(self) -> set[int]:
        """The customer partitions this worker owns: of the events topic, the due topic and the
        table alike, which are co-partitioned (the due topic's: keyed input reads no events topic)."""
        return {tp.partition for tp in self.active(self.due)}


def create_app(settings: Settings) -> DurableApp:
    """A Faust app configured from the settings (broker, store, web server, timeouts), and only from them.

    Faust would read about a hundred variables from the environment (``BROKER_URL``,
    ``WEB_PORT``, ``PRODUCER_ACKS``, ...) and prefer them to its arguments; an empty ``env``
    makes it read none, so a Kubernetes service link (``WEB_PORT=tcp://10.0.0.1:6066``) or
    another program's variable cannot change or crash a worker.  The values Faust's import
    takes from ``FAUST_*`` variables are all given here too.
    """
    return DurableApp(
        settings.app_id,
        env={},
        broker=settings.faust_broker,
        broker_credentials=broker_credentials(settings),
        store="rocksdb://" if settings.store == "rocksdb" else "memory://",
        datadir=str(settings.data_dir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        table_standby_replicas=settings.standby_replicas,
        web_bind=settings.web_host,  # the interface Faust listens on (web_host only names it in URLs)
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_transport="tcp://",
        # Only the worker's own pages (runtime/observability/endpoints.py); Faust's would serve the
        # table's customer data (/table), the cluster's layout (/router) and its internals.
        web_tables_enabled=False,
        web_router_enabled=False,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_metrics_enabled=False,
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=settings.heartbeat_interval,
        broker_rebalance_timeout=settings.rebalance_timeout,
        key_serializer="raw",
        value_serializer="raw",
        autodiscover=False,
        # Topics are made by `winback topics ensure` and checked before a worker starts: Faust
        # declares none (it would create missing internal topics with its own configs), and its
        # leader election, which nothing here uses, needs no topic of its own.
        topic_allow_declare=False,
        topic_disable_leader=True,
        # Records go out in batches: ingest forwards every event, and the customers agent waits for
        # a whole batch's acknowledgement, so a short linger fills requests instead of sending one
        # per record (Faust's defaults: no linger, 16 KiB batches).
        producer_linger=0.005,
        producer_max_batch_size=65536,
        # Each poll hands the agents a batch (DurableApp.read_in_batches): at most this many
        # records (WINBACK_BATCH_RECORDS), so that one batch keeps the event loop (the web server, the
        # timers) only briefly.
        broker_max_poll_records=settings.batch_records,
    )


def broker_credentials(settings: Settings) -> CredentialsT | None:
    """The security settings as Faust's broker credentials, from which its consumer, producer
    and changelog clients get the same protocol, SASL login and TLS context as every other
    client (``streams.runtime.connection.client_options``); None: plaintext."""
    options = client_options(settings)
    if "sasl_mechanism" in options:  # over TLS when there is a context (SASL_SSL)
        return faust.SASLCredentials(
            username=options["sasl_plain_username"],
            password=options["sasl_plain_password"],
            mechanism=options["sasl_mechanism"],
            ssl_context=options.get("ssl_context"),
        )
    if "ssl_context" in options:
        return faust.SSLCredentials(options["ssl_context"])
    return None


def build_topology(settings: Settings) -> Topology:
    """Declare the app's topics and table."""
    app = create_app(settings)
    inputs = {
        kind: app.topic(name, value_type=bytes, value_serializer="raw", key_serializer="raw")
        for kind, name in settings.input_topics.items()
    }
    events = _customer_keyed(app, settings.topic_events, partitions=settings.partitions)
    due = _customer_keyed(app, settings.topic_due, partitions=settings.partitions)
    customer_inputs = _customer_keyed(app, settings.topic_events, settings.topic_due, partitions=settings.partitions)
    dead_letters = app.topic(settings.topic_dead_letters, value_type=bytes, key_serializer="raw")
    triggers = _output(app, settings.topic_triggers)
    commands = {channel: _output(app, name) for channel, name in settings.command_topics.items()}
    skips = _output(app, settings.topic_skips)
    outcomes = _output(app, settings.topic_outcomes)
    activity = app.Table(
        ACTIVITY_TABLE,
        key_type=bytes,  # raw customer id bytes: changelog key == source record key, same partition
        value_type=bytes,
        partitions=settings.partitions,
        help="Per-customer activity state (msgpack CustomerActivity).",
    )
    return Topology(
        app=app,
        inputs=inputs,
        events=events,
        due=due,
        customer_inputs=customer_inputs,
        dead_letters=dead_letters,
        triggers=triggers,
        commands=commands,
        skips=skips,
        outcomes=outcomes,
        activity=activity,
        stages=_output(app, settings.topic_customer_stage),
    )


def _customer_keyed(app: faust.App, *names: str, partitions: int) -> faust.TopicT:
    """Internal topic(s) keyed by customer id bytes, co-partitioned with the activity table."""
    return app.topic(
        *names,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
        internal=True,
    )


def _output(app: faust.App, name: str) -> faust.TopicT:
    """An output topic of JSON records keyed by customer id (created by `winback topics ensure`)."""
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
