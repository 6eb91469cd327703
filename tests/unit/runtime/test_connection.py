"""The security settings as every client's options, and Faust's credentials giving its clients the same.

That a client built with these options reaches a secured broker, and how each refusal reads,
is proven on the real broker: tests/integration/cli/test_secured_cluster.py.
"""

from __future__ import annotations

import ast
import ssl
from pathlib import Path

import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

import streams
from streams.runtime.connection import TlsFileError, client_options
from streams.runtime.settings import Settings
from streams.runtime.topology import create_app

SCRAM = {"sasl_mechanism": "SCRAM-SHA-512", "sasl_username": "winback", "sasl_password": "pw"}
AIOKAFKA_CLIENTS = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient", "AIOKafkaClient"}
OWN_LISTENER = {  # modules whose clients are not the project's clients of a configured cluster
    "devtools/kafka_local.py": "the local broker's readiness probe, on the plaintext listener it started itself",
}


def test_plaintext_is_only_the_servers() -> None:
    options = client_options(Settings(broker="kafka://a:9092,b:9093"))

    assert options == {"bootstrap_servers": ["a:9092", "b:9093"], "security_protocol": "PLAINTEXT"}


def test_sasl_over_plaintext_logs_in_without_tls() -> None:
    options = client_options(Settings(broker="a:9092", security_protocol="SASL_PLAINTEXT", **SCRAM))

    assert options == {
        "bootstrap_servers": ["a:9092"],
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "winback",
        "sasl_plain_password": "pw",  # the secret itself: what the broker checks
    }


@pytest.mark.parametrize("check_hostname", [True, False])
def test_tls_verifies_the_broker_and_its_name_unless_told_not_to(check_hostname: bool) -> None:
    settings = Settings(security_protocol="SASL_SSL", **SCRAM, ssl_check_hostname=check_hostname)

    context = client_options(settings)["ssl_context"]

    assert context.verify_mode == ssl.CERT_REQUIRED  # with or without the host name check
    assert context.check_hostname is check_hostname


def test_one_tls_context_serves_every_client_of_the_process() -> None:
    settings = Settings(security_protocol="SSL")

    assert client_options(settings)["ssl_context"] is client_options(Settings(security_protocol="SSL"))["ssl_context"]


def test_a_ca_file_that_holds_no_certificate_is_named(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")

    with pytest.raises(TlsFileError, match=f"^WINBACK_SSL_CAFILE='{not_pem}': holds no PEM CA certificate"):
        client_options(Settings(security_protocol="SSL", ssl_cafile=not_pem))


def test_a_client_certificate_that_is_no_certificate_is_named(tmp_path: Path) -> None:
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_text("junk\n")
    key.write_text("junk\n")

    with pytest.raises(TlsFileError, match="^WINBACK_SSL_CERTFILE=.* and WINBACK_SSL_KEYFILE=.*: not a PEM certificate") as refused:
        client_options(Settings(security_protocol="SSL", ssl_certfile=cert, ssl_keyfile=key))
    assert str(refused.value).endswith("its unencrypted private key")  # OpenSSL gives no reason here: no "(None)"


@pytest.mark.parametrize(
    "security",
    [
        {},
        {"security_protocol": "SSL", "ssl_check_hostname": False},
        {"security_protocol": "SASL_PLAINTEXT", **SCRAM},
        {"security_protocol": "SASL_SSL", **SCRAM, "sasl_mechanism": "PLAIN"},
    ],
    ids=["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"],
)
def test_faust_s_clients_get_exactly_the_options_of_every_other_client(security: dict[str, object]) -> None:
    settings = Settings(**security)  # type: ignore[arg-type]
    conf = create_app(settings).conf

    faust_options = credentials_to_aiokafka_auth(conf.broker_credentials, conf.ssl_context)  # what Faust's driver passes
    # (it names ssl_context=None where there is no TLS: aiokafka's default)

    assert {name: value for name, value in faust_options.items() if value is not None} == {name: value for name, value in client_options(settings).items() if name != "bootstrap_servers"}


def test_every_kafka_client_of_the_project_is_built_with_the_connection_options() -> None:
    """A client made with ``bootstrap_servers=`` alone would ignore WINBACK_SECURITY_PROTOCOL and
    the rest: it would fail on a secured cluster, or worse, talk to it in plaintext."""
    package = Path(streams.__file__).parent
    unsecured = []
    for path in sorted(package.rglob("*.py")):
        module = path.relative_to(package).as_posix()
        source = path.read_text()
        for call in _client_constructions(source):
            splatted = any(keyword.arg is None for keyword in call.keywords)
            named = {keyword.arg for keyword in call.keywords}
            if module not in OWN_LISTENER and ("bootstrap_servers" in named or not splatted or "client_options" not in source):
                unsecured.append(f"{module}:{call.lineno}")

    assert unsecured == [], "build these clients with **client_options(settings) (streams/runtime/connection.py)"
    assert {module for module in OWN_LISTENER if _client_constructions((package / module).read_text())} == set(OWN_LISTENER)


def _client_constructions(source: str) -> list[ast.Call]:
    """Every call of an aiokafka client class in ``source``."""
    return [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and (node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)) in AIOKAFKA_CLIENTS
    ]
