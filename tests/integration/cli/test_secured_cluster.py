"""Every client of the project on a secured cluster, configured by WINBACK_* settings alone.

One real secured broker for the module (tests/support/secured_kafka.py): a worker runs end to
end over SASL_SSL with SCRAM-SHA-512 and over mTLS (events in, commands out, a restart
recovers its table), `winback topics ensure` works over SASL_PLAINTEXT with PLAIN, and each way
of getting the settings wrong ends `topics ensure`, `worker` and `traffic replay` within 10 s
with one line naming the setting to fix. No password appears in any output. The user is
``admin`` (a super user): that the ACL-only ``worker`` user suffices is h19-ops's test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.runtime.settings import Settings
from tests.support.commands import run_winback
from tests.support.scenarios import CLOCK, EXPECTED_COMMANDS, EXPECTED_TRIGGERS, ids, publish_histories, read_outputs
from tests.support.secured_kafka import SecuredKafka

pytestmark = pytest.mark.integration
REFUSAL_SECONDS = 10  # the bound: a refused client knows it within 10 s (WINBACK_BROKER_TIMEOUT's default)
COMMANDS = {  # command -> what it says it could not do
    "topics ensure": "administer topics",
    "worker": "start the worker",
    "traffic replay --customers 2 --days 1": "publish traffic",
}


@pytest.fixture
def way_in() -> str:
    """How the test's clients come in (a name of tests.support.secured_kafka.WAYS_IN); tests parametrize it."""
    return "sasl_ssl-scram-512"


@pytest.fixture
def kafka_bootstrap(secured_kafka: SecuredKafka, way_in: str) -> str:
    """The secured broker's listener for ``way_in``: ``app_settings`` and ``worker_factory`` follow it."""
    return secured_kafka.bootstrap(way_in)


@pytest.fixture
def connection_env(secured_kafka: SecuredKafka, way_in: str) -> dict[str, str]:
    """The security settings of ``admin`` coming in by ``way_in`` (the password as a file)."""
    return {name: value for name, value in secured_kafka.env(way_in).items() if name != "WINBACK_BROKER"}


def secrets_of(secured_kafka: SecuredKafka) -> list[str]:
    """Every password of the broker's client users: none may appear in any output."""
    return [secured_kafka.password_file(user).read_text().strip() for user in ("admin", "worker")]


@pytest.mark.parametrize("way_in", ["sasl_ssl-scram-512", "ssl-mtls"])
async def test_a_worker_runs_end_to_end_and_recovers_its_table(
    way_in: str, app_settings: Settings, worker_factory, secured_kafka: SecuredKafka
) -> None:
    worker = worker_factory(WINBACK_CLOCK=CLOCK, WINBACK_TICK_SECONDS="0.2")
    await publish_histories(app_settings)  # over the same listener, with the same settings
    expected = len(EXPECTED_TRIGGERS) + len(EXPECTED_COMMANDS)
    triggers, commands = await read_outputs(app_settings, lambda records: len(records) >= expected)

    assert ids(triggers) == EXPECTED_TRIGGERS
    assert ids(commands) == EXPECTED_COMMANDS

    worker.stop()
    worker.start()  # recovers the table from its changelog over the secured listener: nothing fires again
    with pytest.raises(TimeoutError):
        await read_outputs(app_settings, lambda records: len(records) > expected, timeout=5)
    assert worker.alive(), worker.tail()
    log = worker.log_path.read_text()
    assert "consumer lag not measured" not in log  # the lag watcher's own clients got in too
    assert not [secret for secret in secrets_of(secured_kafka) if secret in log]


def test_topics_ensure_over_sasl_plaintext_with_plain(secured_kafka: SecuredKafka, tmp_path: Path) -> None:
    env = {**secured_kafka.env("sasl_plaintext-plain"), "WINBACK_APP_ID": f"plain-{tmp_path.name[:20]}"}

    first = run_winback(["topics", "ensure"], env)
    again = run_winback(["topics", "ensure"], env)

    assert (first.returncode, first.stderr) == (0, ""), first
    assert "created  plain-" in first.stdout  # the app's own changelog topic, new for this app id
    assert again.returncode == 0 and " created " not in again.stdout, again
    assert not [secret for secret in secrets_of(secured_kafka) if secret in first.stdout + again.stdout]


def test_hostname_verification_off_reaches_a_broker_by_a_name_its_certificate_lacks(secured_kafka: SecuredKafka) -> None:
    """The certificate is still checked against the CA: only the name is not (the refusal is below)."""
    env = {**secured_kafka.env("sasl_ssl-scram-512"), "WINBACK_BROKER": secured_kafka.mismatched_bootstrap}

    run = run_winback(["topics", "ensure"], {**env, "WINBACK_SSL_CHECK_HOSTNAME": "false"})

    assert (run.returncode, run.stderr) == (0, ""), run


def test_settings_show_no_password(secured_kafka: SecuredKafka) -> None:
    """(A password given as WINBACK_SASL_PASSWORD is masked alike: tests/unit/cli/test_settings.py.)"""
    shown = run_winback(["settings"], secured_kafka.env("sasl_plaintext-plain"))

    assert shown.returncode == 0, shown
    assert "\nWINBACK_SASL_PASSWORD=***\n" in shown.stdout
    assert not [secret for secret in secrets_of(secured_kafka) if secret in shown.stdout + shown.stderr]


def refusals(secured_kafka: SecuredKafka) -> dict[str, tuple[dict[str, str], str]]:
    """Each way of getting the settings wrong -> (the settings, what the one line must say)."""
    scram = secured_kafka.env("sasl_ssl-scram-512")
    return {
        "wrong password": (
            {**scram, "WINBACK_SASL_PASSWORD_FILE": str(secured_kafka.wrong_password_file)},
            "authentication failed for WINBACK_SASL_USERNAME=admin with SCRAM-SHA-512 on "
            f"{scram['WINBACK_BROKER']}: check WINBACK_SASL_PASSWORD/WINBACK_SASL_PASSWORD_FILE",
        ),
        "unknown mechanism": (
            {**scram, "WINBACK_SASL_MECHANISM": "SCRAM-SHA-1"},
            "WINBACK_SASL_MECHANISM='SCRAM-SHA-1': Input should be 'PLAIN', 'SCRAM-SHA-256' or 'SCRAM-SHA-512'",
        ),
        "untrusted certificate": (
            {**scram, "WINBACK_SSL_CAFILE": str(secured_kafka.wrong_ca_file)},
            f"the broker's certificate at {scram['WINBACK_BROKER']} is not signed by a CA in WINBACK_SSL_CAFILE=",
        ),
        "hostname mismatch": (
            {**scram, "WINBACK_BROKER": secured_kafka.mismatched_bootstrap},
            "the broker's certificate does not name the host it was reached at (IP address mismatch, certificate is "
            "not valid for '127.0.0.2'.); put a name the certificate holds in WINBACK_BROKER, or set "
            "WINBACK_SSL_CHECK_HOSTNAME=false",
        ),
        "no client certificate": (
            {k: v for k, v in secured_kafka.env("ssl-mtls").items() if k not in ("WINBACK_SSL_CERTFILE", "WINBACK_SSL_KEYFILE")},
            "the listener wants a client certificate signed by a CA it trusts: set WINBACK_SSL_CERTFILE and WINBACK_SSL_KEYFILE",
        ),
        "another protocol": (
            {**scram, "WINBACK_BROKER": secured_kafka.bootstrap("sasl_plaintext-plain")},
            "closed the connection; check that WINBACK_SECURITY_PROTOCOL=SASL_SSL is what this listener speaks",
        ),
    }


def test_a_mechanism_the_listener_does_not_enable_is_named(secured_kafka: SecuredKafka) -> None:
    """The broker's controller listener takes PLAIN only: a SCRAM login there is refused at the handshake."""
    env = {**secured_kafka.env("sasl_plaintext-scram-512"), "WINBACK_BROKER": f"127.0.0.1:{secured_kafka.broker.controller_port}"}

    run = run_winback(["topics", "ensure"], env, timeout=60)

    assert (run.returncode, run.stdout) == (1, ""), run
    assert run.stderr == (
        f"winback: cannot administer topics: the listener at {env['WINBACK_BROKER']} does not enable "
        "WINBACK_SASL_MECHANISM=SCRAM-SHA-512: set the mechanism your cluster's operator gives for this listener\n"
    )
    assert run.seconds < REFUSAL_SECONDS


REFUSALS = ["wrong password", "unknown mechanism", "untrusted certificate", "hostname mismatch", "no client certificate", "another protocol"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("refusal", REFUSALS)
def test_each_refusal_ends_the_command_within_10_s_with_one_line_naming_the_setting(
    command: str, refusal: str, secured_kafka: SecuredKafka, tmp_path: Path, report
) -> None:
    env, says = refusals(secured_kafka)[refusal]

    run = run_winback(command.split(), {**env, "WINBACK_DATA_DIR": str(tmp_path)}, timeout=60)

    report(command=command, refusal=refusal, seconds=round(run.seconds, 1))
    assert run.returncode in (1, 2), run  # 2: a setting no cluster could accept, found before connecting
    assert run.stdout == "" and len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr, run
    assert run.stderr.startswith("winback: ") and says in run.stderr, run.stderr
    assert run.returncode == 2 or run.stderr.startswith(f"winback: cannot {COMMANDS[command]}: ")
    assert run.seconds < REFUSAL_SECONDS
    assert not [secret for secret in secrets_of(secured_kafka) if secret in run.stderr]
