"""A bad WINBACK_* value stops every command that reads the settings with one line per variable, exit 2."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from streams.cli import main
from streams.policy.loading import default_policy_path

COMMANDS_READING_SETTINGS = [["settings"], ["worker"], ["topics", "ensure"], ["traffic", "replay"], ["demo"], ["backfill", "history.jsonl"]]


def invoke(args: list[str], **env: str | None) -> Result:
    """``winback ARGS`` with ``env`` on top of this process's environment (None: unset)."""
    return CliRunner().invoke(main, args, env=env)


@pytest.mark.parametrize("args", COMMANDS_READING_SETTINGS, ids=" ".join)
def test_every_command_names_the_bad_variable_in_one_line(args: list[str]) -> None:
    result = invoke(args, WINBACK_PARTITIONS="abc")

    assert result.exit_code == 2
    assert result.stderr == "winback: WINBACK_PARTITIONS='abc': Input should be a valid integer, unable to parse string as an integer\n"


TOPIC_RULE = "is not a Kafka topic name (letters, digits, '.', '_', '-'; at most 249)"  # the policy's channel topics' rule

@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("WINBACK_WEB_PORT", "99999", "Input should be less than or equal to 65535"),
        ("WINBACK_WEB_PORT", "0", "Input should be greater than or equal to 1"),  # Faust refuses port 0
        ("WINBACK_CLOCK", "nonsense", "unknown clock 'nonsense': use wall, event or fixed:<RFC 3339 time>"),
        ("WINBACK_STORE", "foo", "Input should be 'memory' or 'rocksdb'"),
        ("WINBACK_BROKER", " , ", "name at least one Kafka server as host:port"),  # Faust would use localhost
        ("WINBACK_BROKER", "kafka:abc", "'kafka:abc': expected host:port, the port a number from 1 to 65535, with no listener name before it (SASL_SSL://...)"),  # was a traceback
        ("WINBACK_BROKER", "k1:9092,k 2:9092", "'k 2:9092': expected host:port, the port a number from 1 to 65535, with no listener name before it (SASL_SSL://...)"),
        ("WINBACK_BROKER", "kafka:99999", "'kafka:99999': expected host:port, the port a number from 1 to 65535, with no listener name before it (SASL_SSL://...)"),
        ("WINBACK_BROKER", "SASL_SSL://b-1.kafka:9096", "'SASL_SSL://b-1.kafka:9096': expected host:port, the port a number from 1 to 65535, with no listener name before it (SASL_SSL://...)"),  # the Java clients' form
        ("WINBACK_BROKER", "[::1]9092", "'[::1]9092': expected host:port, the port a number from 1 to 65535, with no listener name before it (SASL_SSL://...)"),  # aiokafka would take port 92
        ("WINBACK_APP_ID", "", "String should have at least 1 character"),  # Faust: "App requires an id!"
        ("WINBACK_APP_ID", "shop workers", f"shop workers-activity-changelog {TOPIC_RULE}"),
        ("WINBACK_TOPIC_PURCHASES", "", f" {TOPIC_RULE}"),  # a broker refuses it only at run time
        ("WINBACK_TOPIC_EVENTS", "winback events!", f"winback events! {TOPIC_RULE}"),
        ("WINBACK_TOPIC_SKIPS", "..", f".. {TOPIC_RULE}"),
        ("WINBACK_LOG_LEVEL", "loud", "Input should be 'debug', 'info', 'warning', 'error' or 'critical'"),
        ("WINBACK_MIN_INSYNC_REPLICAS", "2", "must not exceed WINBACK_REPLICATION (1): no write could be acknowledged"),
        ("WINBACK_PARTITIONS", "99999999999999999999", "Input should be less than or equal to 10000"),  # was a traceback
        ("WINBACK_REPLICATION", "32768", "Input should be less than or equal to 32767"),  # was a traceback
        ("WINBACK_BROKER_TIMEOUT", "0", "Input should be greater than 0"),  # a timeout of nothing never connects
        ("WINBACK_BROKER_TIMEOUT", "inf", "Input should be a finite number"),  # would wait for ever
        ("WINBACK_TICK_SECONDS", "1e400", "Input should be a finite number"),  # infinity: no tick would come
        ("WINBACK_MAX_FUTURE_SKEW_SECONDS", "1e12", "Input should be less than or equal to 31622400"),
        ("WINBACK_EARLIEST_EVENT", "soon", "'soon' is not an RFC 3339 date or time (e.g. 2000-01-01 or 2000-01-01T00:00:00Z)"),
        ("WINBACK_EARLIEST_EVENT", "1999-06-01T00:00:00", "'1999-06-01T00:00:00' needs a UTC offset (e.g. 2000-01-01T00:00:00Z)"),
        ("WINBACK_EARLIEST_EVENT", "1960-01-01", "'1960-01-01' is before 1970-01-01, the earliest time any event may carry"),
    ],
)
def test_each_kind_of_bad_value(variable: str, value: str, problem: str) -> None:
    result = invoke(["settings"], **{variable: value})

    assert (result.exit_code, result.stderr) == (2, f"winback: {variable}={value!r}: {problem}\n")


def test_every_bad_variable_gets_its_own_line() -> None:
    result = invoke(["worker"], WINBACK_STORE="foo", WINBACK_PARTITIONS="abc")

    assert result.exit_code == 2
    assert [line.split(": ")[1] for line in result.stderr.splitlines()] == ["WINBACK_PARTITIONS='abc'", "WINBACK_STORE='foo'"]


def test_log_level_in_capitals_still_works() -> None:
    result = invoke(["settings"], WINBACK_LOG_LEVEL="WARNING")

    assert result.exit_code == 0
    assert "WINBACK_LOG_LEVEL=warning\n" in result.stdout


def test_the_worker_names_a_policy_it_cannot_use(tmp_path) -> None:
    missing = tmp_path / "missing.yaml"

    result = invoke(["worker"], WINBACK_POLICY=str(missing))

    assert result.exit_code == 2
    assert result.stderr == f"winback: WINBACK_POLICY: {missing}: cannot read: [Errno 2] No such file or directory: '{missing}'\n"


def test_the_worker_names_a_data_dir_it_cannot_create(tmp_path) -> None:
    (tmp_path / "file").write_text("")
    impossible = tmp_path / "file" / "data"

    result = invoke(["worker"], WINBACK_DATA_DIR=str(impossible))

    assert result.exit_code == 2
    assert result.stderr == f"winback: WINBACK_DATA_DIR='{impossible}': cannot create it: Not a directory\n"


def test_settings_show_the_policy_in_use() -> None:
    bundled = invoke(["settings"], WINBACK_POLICY=None)
    chosen = invoke(["settings"], WINBACK_POLICY="/etc/winback/policy.yaml")

    assert f"\nWINBACK_POLICY=(bundled) {default_policy_path()}\n" in bundled.stdout
    assert "\nWINBACK_POLICY=/etc/winback/policy.yaml\n" in chosen.stdout


SECRET = "Pa55-w0rd-never-shown"


def test_settings_never_print_the_broker_s_password() -> None:
    result = invoke(["settings"], WINBACK_BROKER=f"kafka://winback:{SECRET}@kafka-0:9092,kafka-1:9092")

    assert result.exit_code == 0
    assert "\nWINBACK_BROKER=winback:***@kafka-0:9092,kafka-1:9092\n" in "\n" + result.stdout
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize("broker", ["kafka-0:9092", "[::1]:9092", "kafka-0", "kafka-0:9092, kafka://kafka-1:9093"])
def test_every_form_of_broker_address_the_clients_read_is_accepted(broker: str) -> None:
    assert invoke(["settings"], WINBACK_BROKER=broker).exit_code == 0


def test_a_bad_broker_port_is_named_without_the_password_before_it() -> None:
    result = invoke(["settings"], WINBACK_BROKER=f"kafka://winback:{SECRET}@kafka-0:x")

    assert result.stderr == (
        "winback: WINBACK_BROKER='kafka://winback:***@kafka-0:x': 'kafka-0:x': expected host:port, the port a number from 1 to 65535, with no listener name before it (SASL_SSL://...)\n"
    )


def test_a_comma_in_the_broker_s_password_does_not_show_it() -> None:
    result = invoke(["settings"], WINBACK_BROKER="kafka://alice:s3c,r3t@kafka-0:x")

    assert result.exit_code == 2 and "s3c" not in result.stderr and "r3t" not in result.stderr
    assert result.stderr.startswith("winback: WINBACK_BROKER='kafka://alice:***@kafka-0:x': 'kafka-0:x': ")


def test_a_bad_setting_s_error_does_not_print_a_password_either() -> None:
    result = invoke(["settings"], WINBACK_BROKER=f"kafka://winback:{SECRET}@kafka-0:9092", WINBACK_PARTITIONS="abc")

    assert result.exit_code == 2
    assert SECRET not in result.stdout + result.stderr


def test_a_bad_value_is_shown_without_a_password_in_it() -> None:
    result = invoke(["settings"], WINBACK_PARTITIONS=f"winback:{SECRET}@x")

    assert result.stderr == "winback: WINBACK_PARTITIONS='winback:***@x': Input should be a valid integer, unable to parse string as an integer\n"


SASL_SSL = {
    "WINBACK_SECURITY_PROTOCOL": "SASL_SSL",
    "WINBACK_SASL_MECHANISM": "SCRAM-SHA-512",
    "WINBACK_SASL_USERNAME": "winback",
}


@pytest.mark.parametrize(
    ("env", "problems"),
    [
        (
            {"WINBACK_SECURITY_PROTOCOL": "SASL_SSL"},
            [
                "WINBACK_SASL_MECHANISM: set it for WINBACK_SECURITY_PROTOCOL=SASL_SSL: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
                "WINBACK_SASL_USERNAME: set it for WINBACK_SECURITY_PROTOCOL=SASL_SSL",
                "WINBACK_SASL_PASSWORD: set it (or WINBACK_SASL_PASSWORD_FILE) for WINBACK_SECURITY_PROTOCOL=SASL_SSL",
            ],
        ),
        (
            {**SASL_SSL, "WINBACK_SASL_PASSWORD": SECRET, "WINBACK_SASL_PASSWORD_FILE": "/etc/hostname"},
            ["WINBACK_SASL_PASSWORD and WINBACK_SASL_PASSWORD_FILE are both set: set only one"],
        ),
        (
            {**SASL_SSL, "WINBACK_SASL_PASSWORD_FILE": "/no/such/password"},
            ["WINBACK_SASL_PASSWORD_FILE='/no/such/password': cannot read it: No such file or directory"],
        ),
        (
            {"WINBACK_SASL_USERNAME": "winback", "WINBACK_SASL_PASSWORD": SECRET},  # the protocol forgotten
            [
                "WINBACK_SASL_USERNAME and WINBACK_SASL_PASSWORD are set, but WINBACK_SECURITY_PROTOCOL=PLAINTEXT "
                "does not use SASL: use SASL_PLAINTEXT or SASL_SSL, or unset them"
            ],
        ),
        (
            {**SASL_SSL, "WINBACK_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "WINBACK_SASL_PASSWORD": SECRET, "WINBACK_SSL_CAFILE": "/etc/hostname"},
            [
                "WINBACK_SSL_CAFILE is set, but WINBACK_SECURITY_PROTOCOL=SASL_PLAINTEXT does not use TLS: "
                "use SSL or SASL_SSL, or unset it"
            ],
        ),
        (
            {"WINBACK_SECURITY_PROTOCOL": "SSL", "WINBACK_SSL_CAFILE": "/no/such/ca.pem", "WINBACK_SSL_CERTFILE": "/etc/hostname"},
            [
                "WINBACK_SSL_CAFILE='/no/such/ca.pem': cannot read it: No such file or directory",
                "WINBACK_SSL_CERTFILE and WINBACK_SSL_KEYFILE go together (mTLS: a client certificate and its key): set both",
            ],
        ),
    ],
    ids=["sasl-without-login", "two-passwords", "unreadable-password-file", "sasl-without-protocol", "tls-file-without-tls", "tls-files"],
)
def test_security_settings_that_cannot_work_name_each_setting_to_fix(env: dict[str, str], problems: list[str]) -> None:
    result = invoke(["topics", "ensure"], **env)

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"winback: {problem}" for problem in problems]
    assert SECRET not in result.stderr


@pytest.mark.parametrize(
    ("mechanism", "problem"),
    [
        ("OAUTHBEARER", "OAUTHBEARER is not supported: aiokafka takes OAUTHBEARER tokens only from a token provider"),
        ("GSSAPI", "GSSAPI is not supported: Kerberos needs a keytab"),
        ("SCRAM-SHA-1", "Input should be 'PLAIN', 'SCRAM-SHA-256' or 'SCRAM-SHA-512'"),
    ],
)
def test_an_unknown_mechanism_is_named_with_what_is_supported(mechanism: str, problem: str) -> None:
    result = invoke(["settings"], **{**SASL_SSL, "WINBACK_SASL_MECHANISM": mechanism}, WINBACK_SASL_PASSWORD=SECRET)

    assert result.exit_code == 2
    assert result.stderr.startswith(f"winback: WINBACK_SASL_MECHANISM='{mechanism}': {problem}")
    assert len(result.stderr.splitlines()) == 1


def test_settings_show_the_sasl_password_masked_whether_given_or_read_from_its_file(tmp_path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text(SECRET + "\n")

    given = invoke(["settings"], **{**SASL_SSL, "WINBACK_SASL_MECHANISM": "scram-sha-512"}, WINBACK_SASL_PASSWORD=SECRET)
    from_file = invoke(["settings"], **SASL_SSL, WINBACK_SASL_PASSWORD_FILE=str(password_file))

    for result in given, from_file:
        assert result.exit_code == 0, result.stderr
        assert "\nWINBACK_SASL_PASSWORD=***\n" in result.stdout
        assert "\nWINBACK_SASL_MECHANISM=SCRAM-SHA-512\n" in result.stdout
        assert SECRET not in result.stdout + result.stderr
    assert f"\nWINBACK_SASL_PASSWORD_FILE={password_file}\n" in from_file.stdout  # where it is is no secret
