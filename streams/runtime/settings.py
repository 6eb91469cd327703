"""Runtime configuration, read from environment variables with the ``WINBACK_`` prefix.

One flat namespace keeps deployment simple: every setting is an environment variable
(``WINBACK_BROKER``, ``WINBACK_TOPIC_PURCHASES``, ...), the same names are used by
docker-compose, the Kubernetes manifests and the tests, and ``winback settings`` prints
the effective values.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.model.codec import UNIX_EPOCH
from streams.policy.loading import default_policy_path, load_policy
from streams.policy.channels import TopicName, topic_name
from streams.policy.sections import CatchUp
from streams.runtime.clock import parse_clock
from streams.runtime.observability.log_format import LogFormat
from streams.runtime.broker_address import host_of, is_address, servers

ENV_PREFIX = "WINBACK_"
ACTIVITY_TABLE = "activity"  # the customers' table; Faust names its changelog topic after it
InputFormat = Literal["json", "avro", "protobuf", "jsonschema"]
INPUT_FORMATS: tuple[InputFormat, ...] = ("json", "avro", "protobuf", "jsonschema")
INPUT_KINDS = ("purchase", "login", "email", "profile")  # the keys of ``Settings.input_topics``
LogLevel = Literal["debug", "info", "warning", "error", "critical"]
SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
UNSUPPORTED_MECHANISMS = {  # mechanisms Kafka knows that these clients cannot use from settings, and why
    "OAUTHBEARER": "aiokafka takes OAUTHBEARER tokens only from a token provider written in Python, "
    "there is no setting for an OAuth server (see docs/security.md)",
    "GSSAPI": "Kerberos needs a keytab and a system GSSAPI library these images do not have (see docs/security.md)",
}


class Settings(BaseSettings):
    """Every knob of a worker, with the default used by ``make demo``."""

    # No infinite or NaN number: an infinite timeout or tick would wait for ever instead of failing.
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", allow_inf_nan=False)

    broker: str = Field(
        "localhost:9092",
        description="Kafka bootstrap servers, comma separated host:port (point this at your cluster).",
    )
    app_id: str = Field("winback", min_length=1, description="Kafka consumer group, and prefix of the topics Faust names (the activity table's changelog, <app id>-activity-changelog); the events and due topics have their own settings.")
    # Kafka's own limits: a KRaft controller creates at most 10,000 partitions in one request, and a
    # replication factor is a 16-bit number on the wire (beyond either, `topics ensure` was a traceback).
    partitions: int = Field(
        8, ge=1, le=10_000, description="Partitions of the internal (customer-keyed) topics and tables (at most 10,000)."
    )
    replication: int = Field(
        1, ge=1, le=32_767, description="Replication factor of topics the app creates (at most 32,767, Kafka's limit)."
    )
    standby_replicas: int = Field(
        1, ge=0, le=8,
        description="Warm copies of each table partition on other workers (Faust's table_standby_replicas): "
        "a failover replays only the last moments, at the CPU of following the changelog all the time.",
    )
    min_insync_replicas: int | None = Field(
        None,
        ge=1,
        description="min.insync.replicas of the topics `winback topics ensure` creates and checks "
        "(at most WINBACK_REPLICATION); unset: 2, or 1 with a single replica.",
    )
    broker_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds a command or a starting worker waits for each answer of the Kafka broker "
        "before it stops with an error.",
    )

    security_protocol: SecurityProtocol = Field(
        "PLAINTEXT",
        description="How every client reaches the brokers: PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL "
        "(SASL over TLS: what managed clusters use).",
    )
    sasl_mechanism: SaslMechanism | None = Field(
        None, description="With SASL_*: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (OAUTHBEARER and GSSAPI are not supported)."
    )
    sasl_username: str | None = Field(None, description="With SASL_*: the user the clients log in as.")
    sasl_password: SecretStr | None = Field(
        None, description="With SASL_*: that user's password (or WINBACK_SASL_PASSWORD_FILE); never shown."
    )
    sasl_password_file: Path | None = Field(
        None,
        description="With SASL_*: a file holding the password (a mounted secret), read once at start, "
        "a trailing newline dropped; instead of WINBACK_SASL_PASSWORD.",
    )
    ssl_cafile: Path | None = Field(
        None,
        description="With SSL or SASL_SSL: PEM file of the CA(s) that signed the brokers' certificates; "
        "unset: the system's trusted CAs.",
    )
    ssl_certfile: Path | None = Field(
        None, description="With SSL or SASL_SSL, for mTLS: PEM file of this client's certificate (with WINBACK_SSL_KEYFILE)."
    )
    ssl_keyfile: Path | None = Field(
        None, description="With SSL or SASL_SSL, for mTLS: PEM file of the client certificate's private key (unencrypted)."
    )
    ssl_check_hostname: bool = Field(
        True,
        description="With SSL or SASL_SSL: the broker's certificate must name the host in WINBACK_BROKER "
        "(turn off only for a cluster reached by another name than its certificates hold).",
    )

    topic_purchases: TopicName = Field("shop.purchases", description="Input: purchase events.")
    topic_logins: TopicName = Field("shop.logins", description="Input: login events.")
    topic_email: TopicName = Field("shop.email-engagement", description="Input: email engagement events.")
    topic_dead_letters: TopicName = Field(
        "winback.dead-letters", description="Output: records that failed to decode or validate, with the reason."
    )

    topic_profiles: TopicName = Field(
        "shop.customer-profiles", description="Input (compacted): customer profiles - consent, channels, time zone."
    )
    topic_triggers: TopicName = Field("winback.triggers", description="Output: stage entries (audit log).")
    topic_commands_email: TopicName = Field("winback.commands.email", description="Output: email message commands.")
    topic_commands_sms: TopicName = Field("winback.commands.sms", description="Output: SMS message commands.")
    topic_commands_push: TopicName = Field("winback.commands.push", description="Output: push message commands.")
    topic_outcomes: TopicName = Field("winback.outcomes", description="Output: conversions attributed to campaigns, engagements, erasures and retractions.")
    topic_skips: TopicName = Field("winback.skips", description="Output: steps not sent, with the reason.")
    topic_customer_stage: TopicName = Field(
        "winback.customer-stage", description="Output (compacted): each customer's current stage, keyed by customer_id."
    )
    command_retention_hours: float = Field(
        168.0, gt=0, description="Retention of command topics (senders must consume within it)."
    )
    topic_due: TopicName = Field(
        "winback.due", description="Internal: customers whose next transition is due, keyed by customer_id."
    )
    topic_events: TopicName = Field(
        "winback.events", description="Internal: validated events, keyed (repartitioned) by customer_id."
    )
    input_keyed: bool = Field(
        False,
        description="Input topics are keyed by customer_id with WINBACK_PARTITIONS partitions (the default partitioner): "
        "the worker reads them without repartitioning; a record keyed otherwise is dead-lettered (key_mismatch).",
    )
    policy: Path | None = Field(None, description="Campaign policy YAML; the bundled example when unset.")

    store: Literal["memory", "rocksdb"] = Field(
        "memory", description="Table store: rocksdb (production: on disk) or memory (demo and tests: no bound on memory)."
    )
    memory_store_warn_customers: int = Field(
        1_000_000, ge=1, description="With the memory store: log a warning when this worker holds more customers than this."
    )
    data_dir: Path = Field(Path("var/winback"), description="Local state directory (RocksDB tables, worker data).")
    web_host: str = Field(
        "127.0.0.1",
        description="Interface the worker's web server (/metrics, /healthz, /readyz) binds: loopback unless "
        "something else must reach it (0.0.0.0 in a container).",
    )
    web_port: int = Field(6066, ge=1, le=65535, description="Port of the worker's web server (/metrics, /healthz, /readyz).")

    clock: str = Field(
        "wall",
        description="Scheduler clock: wall (production), event (replays: event-time watermark) "
        "or fixed:<RFC 3339 time> (tests).",
    )
    clock_idle_seconds: float = Field(
        5.0, gt=0, description="Event clock: a partition silent this long stops holding event time back."
    )
    tick_seconds: float = Field(1.0, gt=0, description="How often the scheduler looks for due customers.")
    tick_max_due: int = Field(10000, ge=1, description="Most due customers one scheduler tick publishes.")
    batch_records: int = Field(
        10000, ge=1, le=100_000,
        description="Most records one poll hands the agents as a batch: larger batches cost less per "
        "record; smaller ones give the event loop (web server, timers) back sooner.",
    )
    session_timeout: float = Field(30.0, gt=0, description="Consumer group session timeout, seconds.")
    heartbeat_interval: float = Field(3.0, gt=0, description="Consumer heartbeat interval, seconds.")
    rebalance_timeout: float = Field(60.0, gt=0, description="Consumer group rebalance timeout, seconds.")
    log_level: LogLevel = Field("info", description="Worker log level (debug, info, warning, error, critical).")
    log_format: LogFormat = Field(
        "text", description="Worker log output: text (Faust's console format) or json (one JSON object a line)."
    )

    max_payload_bytes: int = Field(65536, ge=256, description="Records larger than this are dead-lettered.")
    max_future_skew_seconds: float = Field(
        86400.0,
        ge=0,
        le=366 * 86400.0,  # a year: the engine adds up to centuries of policy days to an event's time
        description="Events dated further than this into the future are dead-lettered (and rejected by the backtest).",
    )
    earliest_event: str = Field(
        "2000-01-01",
        description="Wall clock only: events dated before this (an RFC 3339 date, or a time with a UTC offset) "
        "are dead-lettered; the event and fixed clocks accept any time from 1970-01-01 on.",
    )
    max_profile_skew_seconds: float = Field(
        300.0,
        ge=0,
        description="A profile dated further ahead than this counts as dated this far ahead (so it cannot block later ones).",
    )
    erasure_grace_seconds: float = Field(
        3600.0,
        gt=0,
        description="An erased customer's marker is kept this long on the scheduler's clock (longer than any input "
        "lag or crash replay), then their key is deleted.",
    )

    schema_registry_url: str | None = Field(
        None,
        description="Schema registry speaking the Confluent REST API (Confluent, Apicurio's /apis/ccompat/v7, "
        "Karapace...): needed by an input format other than json and by WINBACK_OUTPUT_FORMAT=jsonschema.",
    )
    schema_registry_username: str | None = Field(None, description="Schema registry basic-auth user (with its password).")
    schema_registry_password: SecretStr | None = Field(None, description="Schema registry basic-auth password; never shown.")
    schema_registry_ca_file: Path | None = Field(
        None, description="PEM file of the CA(s) of an https schema registry's certificate; unset: the system's trusted CAs."
    )
    input_format: str = Field(
        "json",
        description="How input records are encoded: json (plain JSON), or avro, protobuf or jsonschema in the "
        "Confluent wire format (schema id in the record, schema from the registry); one for every input, or "
        "per input as purchase=avro,login=protobuf (inputs not named: json).",
    )
    output_format: Literal["json", "jsonschema"] = Field(
        "json",
        description="How output records are encoded: json (plain JSON), or jsonschema (Confluent wire format, "
        "each record's JSON Schema registered in the registry and checked for compatibility at start).",
    )
    schema_subject_strategy: Literal["topic_record", "record"] = Field(
        "topic_record",
        description="With WINBACK_OUTPUT_FORMAT=jsonschema, the registry subject of an output's schema: "
        "topic_record (<topic>-winback.<kind>) or record (winback.<kind>, e.g. winback.message-command).",
    )

    @field_validator("broker")
    @classmethod
    def _strip_scheme(cls, value: str) -> str:
        """Accept ``kafka://host:port`` too, the form Faust documents; at least one server is needed
        (with none, Faust would quietly try localhost:9092)."""
        listed = [part.strip().removeprefix("kafka://") for part in servers(value) if part.strip()]
        if not listed:
            raise ValueError("name at least one Kafka server as host:port")
        bad = [address for address in map(host_of, listed) if not is_address(address)]
        if bad:  # (the address after any credentials: a password is never repeated)
            raise ValueError(f"{', '.join(map(repr, bad))}: expected host:port, the port a number from 1 to 65535, "
                             "with no listener name before it (SASL_SSL://...)")
        return ",".join(listed)

    @field_validator("app_id")
    @classmethod
    def _names_topics(cls, value: str) -> str:
        """The app id is the start of the changelog's topic name, so it must make a name Kafka accepts."""
        topic_name(changelog_topic_of(value))
        return value

    @field_validator("min_insync_replicas")
    @classmethod
    def _within_replication(cls, value: int | None, info: ValidationInfo) -> int | None:
        """More in-sync replicas than replicas would make every acknowledged write fail."""
        replication = info.data.get("replication")
        if value is not None and replication is not None and value > replication:
            raise ValueError(f"must not exceed WINBACK_REPLICATION ({replication}): no write could be acknowledged")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        """``INFO`` means ``info``, as it did when Faust read the level itself."""
        return value.lower() if isinstance(value, str) else value

    @field_validator("clock")
    @classmethod
    def _known_clock(cls, value: str) -> str:
        parse_clock(value)  # raises ValueError with the accepted forms
        return value

    @field_validator("sasl_mechanism", mode="before")
    @classmethod
    def _known_mechanism(cls, value: object) -> object:
        """``scram-sha-512`` means ``SCRAM-SHA-512``; a mechanism Kafka has but these clients cannot use says why."""
        if not isinstance(value, str):
            return value
        mechanism = value.strip().upper()
        if mechanism in UNSUPPORTED_MECHANISMS:
            raise ValueError(f"{mechanism} is not supported: {UNSUPPORTED_MECHANISMS[mechanism]}")
        return mechanism or None

    @model_validator(mode="after")
    def _secured_connection(self) -> Settings:
        """Settings for SASL and TLS that cannot work together, or files that cannot be read, fail
        at start with a line naming the setting (not at the first connection, in a client's words).

        A password from WINBACK_SASL_PASSWORD_FILE becomes ``sasl_password``: read once here, and
        a secret like any other from then on (masked in every output).
        """
        problems = [*_sasl_problems(self), *_tls_problems(self)]
        if not problems and self.sasl_password_file is not None:
            try:
                self.sasl_password = SecretStr(self.sasl_password_file.read_text().rstrip("\r\n"))
            except (OSError, UnicodeDecodeError) as error:
                problems.append(f"{_named('sasl_password_file', self.sasl_password_file)}: cannot read it: {_reason(error)}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @field_validator("input_format")
    @classmethod
    def _known_input_format(cls, value: str) -> str:
        parse_input_formats(value)  # raises ValueError naming the accepted forms
        return value

    @model_validator(mode="after")
    def _registry_when_needed(self) -> Settings:
        """A format read from or written to a schema registry needs its URL; credentials go in pairs."""
        needing = [f"WINBACK_INPUT_FORMAT={self.input_format}"] if set(self.input_formats.values()) - {"json"} else []
        if self.output_format != "json":
            needing.append(f"WINBACK_OUTPUT_FORMAT={self.output_format}")
        problems = []
        if needing and not self.schema_registry_url:
            problems.append(f"WINBACK_SCHEMA_REGISTRY_URL: set it for {' and '.join(needing)}")
        if (self.schema_registry_username is None) != (self.schema_registry_password is None):
            problems.append("WINBACK_SCHEMA_REGISTRY_USERNAME and WINBACK_SCHEMA_REGISTRY_PASSWORD go together: set both")
        if self.schema_registry_ca_file is not None and (reason := _unreadable(self.schema_registry_ca_file)):
            problems.append(f"{_named('schema_registry_ca_file', self.schema_registry_ca_file)}: cannot read it: {reason}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def input_formats(self) -> dict[str, InputFormat]:
        """Input record type -> how its records are encoded (WINBACK_INPUT_FORMAT)."""
        return parse_input_formats(self.input_format)

    @field_validator("earliest_event")
    @classmethod
    def _rfc3339_moment(cls, value: str) -> str:
        if moment_of(value) < UNIX_EPOCH:  # (moment_of raises ValueError naming the accepted forms)
            raise ValueError(f"{value!r} is before 1970-01-01, the earliest time any event may carry")
        return value

    @property
    def event_floor(self) -> tuple[float, str]:
        """The earliest event time ingest accepts, and what it is called in a dead letter's reason:
        WINBACK_EARLIEST_EVENT on the wall clock (live input that old is a mistake), else the Unix
        epoch (the event and fixed clocks re-enact history, which may be that old)."""
        if self.clock != "wall":
            return UNIX_EPOCH, "the Unix epoch"
        return moment_of(self.earliest_event), f"{ENV_PREFIX}EARLIEST_EVENT, the wall clock's floor"

    @property
    def catch_up_default(self) -> CatchUp:
        """How the engine catches up when the policy does not say: ``latest`` on the wall clock,
        where a message goes to a real person now; ``all`` on the event and fixed clocks, which
        re-enact history stage by stage."""
        return "latest" if self.clock == "wall" else "all"

    @property
    def policy_path(self) -> Path:
        """The policy file in use: WINBACK_POLICY, else the bundled example."""
        return self.policy or default_policy_path()

    @property
    def required_in_sync_replicas(self) -> int:
        """min.insync.replicas of the app's topics: WINBACK_MIN_INSYNC_REPLICAS, else 2 where
        there are replicas enough (a write survives the loss of one broker), else 1."""
        return self.min_insync_replicas or min(2, self.replication)

    @cached_property
    def bootstrap_servers(self) -> list[str]:
        """The broker list in the form aiokafka takes: host:port, without the credentials a URL may
        carry (they are not used to connect, so no client can print them)."""
        return [host_of(server) for server in servers(self.broker)]

    @property
    def faust_broker(self) -> list[str]:
        """The broker list in the URL form Faust takes."""
        return [f"kafka://{server}" for server in self.bootstrap_servers]

    @property
    def command_topics(self) -> dict[str, str]:
        """Channel -> topic its message commands are published on: the built-ins', then those of
        the policy's own channels (``channels.custom``; a bad policy file raises ``PolicyError``).
        Read from the file each time (a few callers, at start): a copy of the settings naming
        another policy must not keep this one's channels."""
        custom = load_policy(self.policy_path).channels.custom
        builtin = {"email": self.topic_commands_email, "sms": self.topic_commands_sms, "push": self.topic_commands_push}
        return builtin | {name: channel.topic for name, channel in custom.items()}

    @property
    def output_topics(self) -> list[str]:
        """Every topic the engine's records are published on: triggers, commands, skips, outcomes."""
        return [self.topic_triggers, *self.command_topics.values(), self.topic_skips, self.topic_outcomes]

    @property
    def input_topics(self) -> dict[str, str]:
        """Input record type -> topic it arrives on (customer profiles included)."""
        return {
            "purchase": self.topic_purchases,
            "login": self.topic_logins,
            "email": self.topic_email,
            "profile": self.topic_profiles,
        }

    @classmethod
    def documented(cls) -> list[tuple[str, str, str]]:
        """(environment variable, default, description) for every setting, for ``--help`` and docs."""
        return [
            (ENV_PREFIX + name.upper(), str(field.default), field.description or "")
            for name, field in cls.model_fields.items()
        ]


def parse_input_formats(text: str) -> dict[str, InputFormat]:
    """``avro`` (every input) or ``purchase=avro,login=protobuf`` (inputs not named: json)."""
    named = [part.strip() for part in text.split(",") if part.strip()]
    if len(named) == 1 and "=" not in named[0]:
        named = [f"{kind}={named[0]}" for kind in INPUT_KINDS]
    formats: dict[str, InputFormat] = dict.fromkeys(INPUT_KINDS, "json")
    for part in named:
        kind, _, name = (piece.strip().lower() for piece in part.partition("="))
        if kind not in INPUT_KINDS or name not in INPUT_FORMATS:
            raise ValueError(
                f"{part!r}: name a format ({', '.join(INPUT_FORMATS)}) for every input, or input=format pairs "
                f"for some ({', '.join(INPUT_KINDS)}), e.g. purchase=avro,profile=json"
            )
        formats[kind] = name  # type: ignore[assignment]  # (checked against INPUT_FORMATS above)
    return formats


SASL_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")
TLS_PROTOCOLS = ("SSL", "SASL_SSL")
SECURITY_SETTINGS = frozenset(name for name in Settings.model_fields if name.startswith(("security_", "sasl_", "ssl_")))


def _sasl_problems(settings: Settings) -> list[str]:
    """What is missing for SASL, or set without it (likely a forgotten WINBACK_SECURITY_PROTOCOL)."""
    protocol = f"WINBACK_SECURITY_PROTOCOL={settings.security_protocol}"
    given = [name for name in ("sasl_mechanism", "sasl_username", "sasl_password", "sasl_password_file") if getattr(settings, name)]
    if settings.security_protocol not in SASL_PROTOCOLS:
        return [f"{_names(given)} set, but {protocol} does not use SASL: use SASL_PLAINTEXT or SASL_SSL, or unset {_it(given)}"] if given else []
    problems = []
    if settings.sasl_mechanism is None:
        problems.append(f"WINBACK_SASL_MECHANISM: set it for {protocol}: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
    if not settings.sasl_username:
        problems.append(f"WINBACK_SASL_USERNAME: set it for {protocol}")
    if settings.sasl_password is None and settings.sasl_password_file is None:
        problems.append(f"WINBACK_SASL_PASSWORD: set it (or WINBACK_SASL_PASSWORD_FILE) for {protocol}")
    elif settings.sasl_password is not None and settings.sasl_password_file is not None:
        problems.append("WINBACK_SASL_PASSWORD and WINBACK_SASL_PASSWORD_FILE are both set: set only one")
    return problems


def _tls_problems(settings: Settings) -> list[str]:
    """TLS files that cannot be read, a client certificate without its key, or files set without TLS."""
    files = {name: getattr(settings, name) for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile")}
    given = [name for name, path in files.items() if path is not None]
    if settings.security_protocol not in TLS_PROTOCOLS:
        protocol = f"WINBACK_SECURITY_PROTOCOL={settings.security_protocol}"
        return [f"{_names(given)} set, but {protocol} does not use TLS: use SSL or SASL_SSL, or unset {_it(given)}"] if given else []
    problems = [f"{_named(name, files[name])}: cannot read it: {reason}" for name in given if (reason := _unreadable(files[name]))]
    if (files["ssl_certfile"] is None) != (files["ssl_keyfile"] is None):
        problems.append("WINBACK_SSL_CERTFILE and WINBACK_SSL_KEYFILE go together (mTLS: a client certificate and its key): set both")
    return problems


def changelog_topic_of(app_id: str) -> str:
    """The activity table's changelog topic of an app, named the way Faust names it."""
    return f"{app_id}-{ACTIVITY_TABLE}-changelog"


def _unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be read, or None."""
    try:
        path.open("rb").close()
    except OSError as error:
        return _reason(error)
    return None


def _reason(error: Exception) -> str:
    return (error.strerror if isinstance(error, OSError) else None) or str(error)


def _named(name: str, value: object) -> str:
    return f"{ENV_PREFIX}{name.upper()}={str(value)!r}"


def _names(names: list[str]) -> str:
    return " and ".join(ENV_PREFIX + name.upper() for name in names) + (" is" if len(names) == 1 else " are")


def _it(names: list[str]) -> str:
    return "it" if len(names) == 1 else "them"

def moment_of(text: str) -> float:
    """Epoch seconds of an RFC 3339 date (midnight UTC) or date-time with a UTC offset."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an RFC 3339 date or time (e.g. 2000-01-01 or 2000-01-01T00:00:00Z)") from None
    if moment.tzinfo is None and len(text) > len("2000-01-01"):
        raise ValueError(f"{text!r} needs a UTC offset (e.g. 2000-01-01T00:00:00Z)")
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
