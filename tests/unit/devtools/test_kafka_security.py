"""What makes the local broker secured, without Java: its settings, users, files and certificates.

The certificates are checked with real TLS handshakes between two in-memory ``ssl`` endpoints,
the broker's key store on one side and a client's trust on the other.
"""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

import pytest
from aiokafka.helpers import create_ssl_context

from streams.devtools import kafka_local
from streams.devtools.kafka_local import KafkaStatus, LocalKafka, free_port, listeners_for, render_server_properties
from tests.support.secured_kafka import SECURED_LISTENERS
from streams.devtools.kafka_security import (
    BrokerSecrets,
    ClientIdentity,
    Listener,
    client_env,
    scram_arguments,
    security_settings,
)

ALL_LISTENERS = [
    (Listener("SASL_SSL", "SASL_SSL", "127.0.0.1"), 9001),
    (Listener("SSL", "SSL", "127.0.0.1"), 9002),
    (Listener("SASL_PLAINTEXT", "SASL_PLAINTEXT", "127.0.0.1"), 9003),
]


@pytest.fixture(scope="module")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> BrokerSecrets:
    made = BrokerSecrets(tmp_path_factory.mktemp("broker") / "secrets")
    made.create(tls=True)
    return made


def parse_properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_secured_settings_put_every_listener_behind_users_and_the_authorizer(secrets: BrokerSecrets) -> None:
    settings = security_settings(ALL_LISTENERS, "127.0.0.1:9000", secrets)

    assert settings["listeners"] == (
        "SASL_SSL://127.0.0.1:9001,SSL://127.0.0.1:9002,SASL_PLAINTEXT://127.0.0.1:9003,CONTROLLER://127.0.0.1:9000"
    )
    assert settings["advertised.listeners"] == "SASL_SSL://127.0.0.1:9001,SSL://127.0.0.1:9002,SASL_PLAINTEXT://127.0.0.1:9003"
    assert settings["listener.security.protocol.map"] == (
        "SASL_SSL:SASL_SSL,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
    )
    assert settings["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert settings["super.users"] == "User:admin;User:broker"
    assert settings["allow.everyone.if.no.acl.found"] == "false"
    assert settings["listener.name.ssl.ssl.client.auth"] == "required"
    assert "listener.name.sasl_ssl.ssl.client.auth" not in settings
    assert settings["ssl.keystore.type"] == settings["ssl.truststore.type"] == "PEM"


def test_plain_users_are_in_each_sasl_listener_and_the_controller_knows_only_the_broker(secrets: BrokerSecrets) -> None:
    settings = security_settings(ALL_LISTENERS, "127.0.0.1:9000", secrets)

    for listener in ("sasl_ssl", "sasl_plaintext"):
        jaas = settings[f"listener.name.{listener}.plain.sasl.jaas.config"]
        for user in ("admin", "worker", "broker"):
            assert f'user_{user}="{secrets.password(user)}"' in jaas
        assert settings[f"listener.name.{listener}.scram-sha-512.sasl.jaas.config"].endswith("ScramLoginModule required;")
    controller = settings["listener.name.controller.plain.sasl.jaas.config"]
    assert f'user_broker="{secrets.password("broker")}"' in controller
    assert "user_admin" not in controller and "user_worker" not in controller


def test_a_sasl_plaintext_broker_has_no_tls_settings(secrets: BrokerSecrets) -> None:
    settings = security_settings(ALL_LISTENERS[2:], "127.0.0.1:9000", secrets)

    assert not [key for key in settings if key.startswith("ssl.") or ".ssl." in key]
    assert settings["inter.broker.listener.name"] == "SASL_PLAINTEXT"


def test_secured_settings_override_the_plaintext_ones(secrets: BrokerSecrets, tmp_path: Path) -> None:
    overrides = security_settings(ALL_LISTENERS[:1], "127.0.0.1:9000", secrets)

    props = parse_properties(render_server_properties(9001, 9000, tmp_path, overrides))

    assert props["listeners"] == "SASL_SSL://127.0.0.1:9001,CONTROLLER://127.0.0.1:9000"
    assert props["inter.broker.listener.name"] == "SASL_SSL"
    assert props["offsets.topic.replication.factor"] == "1"


def test_scram_users_are_made_at_format_time_for_both_mechanisms(secrets: BrokerSecrets) -> None:
    assert scram_arguments(secrets) == [
        f"--add-scram={mechanism}=[name={user},password={secrets.password(user)}]"
        for user in ("admin", "worker")
        for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512")
    ]


def test_secrets_are_owner_only_and_kept_across_restarts(secrets: BrokerSecrets) -> None:
    before = {user: secrets.password(user) for user in ("admin", "worker", "broker")}
    keystore = secrets.broker_keystore.read_text()

    secrets.create(tls=True)

    assert {user: secrets.password(user) for user in before} == before
    assert secrets.broker_keystore.read_text() == keystore
    assert len(set(before.values())) == 3
    assert stat.S_IMODE(secrets.directory.stat().st_mode) == 0o700
    private = [secrets.broker_keystore, secrets.client_key("worker"), *map(secrets.password_file, before)]
    assert {stat.S_IMODE(path.stat().st_mode) for path in private} == {0o600}


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        (ClientIdentity("SASL_SSL", "SCRAM-SHA-512", "worker"),
         {"WINBACK_SECURITY_PROTOCOL": "SASL_SSL", "WINBACK_SASL_MECHANISM": "SCRAM-SHA-512", "WINBACK_SASL_USERNAME": "worker",
          "WINBACK_SASL_PASSWORD_FILE": "worker.password", "WINBACK_SSL_CAFILE": "ca.pem"}),
        (ClientIdentity("SSL", None, "admin"),
         {"WINBACK_SECURITY_PROTOCOL": "SSL", "WINBACK_SSL_CAFILE": "ca.pem", "WINBACK_SSL_CERTFILE": "admin.crt",
          "WINBACK_SSL_KEYFILE": "admin.key"}),
        (ClientIdentity("SASL_PLAINTEXT", "PLAIN", "admin"),
         {"WINBACK_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "WINBACK_SASL_MECHANISM": "PLAIN", "WINBACK_SASL_USERNAME": "admin",
          "WINBACK_SASL_PASSWORD_FILE": "admin.password"}),
    ],
    ids=["sasl_ssl", "ssl", "sasl_plaintext"],
)
def test_client_settings_name_files_never_a_password(
    secrets: BrokerSecrets, identity: ClientIdentity, expected: dict[str, str]
) -> None:
    env = client_env("127.0.0.1:9001", identity, secrets)

    files = {name for name in expected if name.endswith("FILE")}
    assert {name: Path(env[name]).name if name in files else env[name] for name in env} == {
        "WINBACK_BROKER": "127.0.0.1:9001", **expected
    }
    assert all(Path(env[name]).parent == secrets.directory for name in files)
    assert not {secrets.password(user) for user in ("admin", "worker", "broker")} & set(env.values())


def handshake(server: ssl.SSLContext, client: ssl.SSLContext, host: str) -> None:
    """A TLS handshake between two in-memory endpoints; raises the client's or the server's ssl.SSLError."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    server_end = server.wrap_bio(to_server, to_client, server_side=True)
    client_end = client.wrap_bio(to_client, to_server, server_hostname=host)
    pending = [client_end, server_end]
    for _ in range(10):
        for end in list(pending):
            try:
                end.do_handshake()
                pending.remove(end)
            except ssl.SSLWantReadError:
                pass  # waits for the other end's next flight
        if not pending:
            return
    raise AssertionError("handshake did not finish")


def broker_side(secrets: BrokerSecrets, require_client_certificate: bool = False) -> ssl.SSLContext:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(secrets.broker_keystore)
    if require_client_certificate:
        server.load_verify_locations(secrets.ca_file)
        server.verify_mode = ssl.CERT_REQUIRED
    return server


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_broker_certificate_is_trusted_for_its_names(secrets: BrokerSecrets, host: str) -> None:
    handshake(broker_side(secrets), create_ssl_context(cafile=secrets.ca_file), host)


def test_the_broker_certificate_does_not_carry_the_mismatched_address(secrets: BrokerSecrets) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="IP address mismatch"):
        handshake(broker_side(secrets), create_ssl_context(cafile=secrets.ca_file), "127.0.0.2")


def test_the_wrong_ca_does_not_vouch_for_the_broker(secrets: BrokerSecrets) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer certificate"):
        handshake(broker_side(secrets), create_ssl_context(cafile=secrets.wrong_ca_file), "127.0.0.1")


def test_client_certificates_are_signed_by_the_ca(secrets: BrokerSecrets) -> None:
    client = create_ssl_context(
        cafile=secrets.ca_file, certfile=secrets.client_certificate("worker"), keyfile=secrets.client_key("worker")
    )

    handshake(broker_side(secrets, require_client_certificate=True), client, "127.0.0.1")


def test_a_data_dir_refuses_other_security_than_it_was_formatted_with(tmp_path: Path) -> None:
    secured = LocalKafka(tmp_path, port=free_port(), listeners=listeners_for("sasl_ssl"))
    secured._write_state(pid=None)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "meta.properties").write_text("")

    with pytest.raises(RuntimeError, match=r"holds a broker with sasl_ssl listeners; start it with that --security"):
        LocalKafka(tmp_path, listeners=listeners_for("plaintext")).start(timeout=1)
    assert LocalKafka(tmp_path).listeners == listeners_for("sasl_ssl")  # no --security: the data dir's


def test_status_names_a_secured_protocol() -> None:
    status = KafkaStatus(True, "127.0.0.1:9092", 42, Path("/d"), Path("/d/kafka.log"), protocol="SASL_SSL")

    assert str(status).startswith("kafka: running at 127.0.0.1:9092 (SASL_SSL, pid 42,")


def test_each_listener_of_a_broker_gets_its_own_port(tmp_path, monkeypatch):
    """Ports probed one after another may repeat; a broker given one twice would not start."""
    probes = (40000 + port for count in range(1, 20) for port in range(1, count + 1))  # 1, 1 2, 1 2 3, ...
    monkeypatch.setattr(kafka_local, "free_port", lambda: next(probes))
    broker = LocalKafka(data_dir=tmp_path / "kafka", listeners=SECURED_LISTENERS)
    ports = [broker.port, broker.controller_port, *broker.other_ports.values()]
    assert len(ports) == len(set(ports)) == 1 + len(SECURED_LISTENERS)
