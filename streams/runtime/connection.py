"""How every Kafka client of the project reaches the cluster: the security settings
(``WINBACK_SECURITY_PROTOCOL``, ``WINBACK_SASL_*``, ``WINBACK_SSL_*``) as aiokafka's keyword
arguments, and a first connection that says why the cluster refused one.

Every aiokafka client is built with ``client_options(settings)`` (a unit test finds any that is
not); the Faust app gets the same protocol, login and TLS context as its broker credentials
(``streams.runtime.topology.create_app``).  The settings have already checked which options go
together and that the files can be read; what only TLS can tell, that a file holds no
certificate or no key, is ``TlsFileError``, naming the setting.

aiokafka's clients keep the reason a connection failed to themselves (a log line, then
"Unable to bootstrap"): ``reach`` connects once the same way and raises that reason, so a
command can tell a wrong password from an untrusted certificate from a broker that is down.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from pathlib import Path
from typing import Any

from aiokafka.conn import collect_hosts, create_conn
from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.helpers import create_ssl_context
from aiokafka.protocol.metadata import MetadataRequest

from streams.runtime.settings import SASL_PROTOCOLS, TLS_PROTOCOLS, Settings


class TlsFileError(ValueError):
    """A TLS file that can be read but holds no usable certificate or key; the message names the setting."""


class ClosedByBroker(ConnectionError):
    """The broker took the connection, then closed it: the listener speaks another security
    protocol, or (``tls_alert``, the TLS alert it sent) it wants a client certificate it trusts."""

    def __init__(self, address: str, tls_alert: str | None) -> None:
        super().__init__(f"the broker at {address} closed the connection" + (f" ({tls_alert})" if tls_alert else ""))
        self.tls_alert = tls_alert


def client_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments every aiokafka client (producer, consumer, admin) is built with:
    the bootstrap servers, the security protocol, and the SASL login and TLS context it needs."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol in SASL_PROTOCOLS:
        assert settings.sasl_password is not None  # the settings refuse SASL without one
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    if settings.security_protocol in TLS_PROTOCOLS:
        options["ssl_context"] = tls_context(settings)
    return options


def tls_context(settings: Settings) -> ssl.SSLContext:
    """The TLS context of every client: the brokers' CA (the system's when unset), the client
    certificate for mTLS, hostname verification as WINBACK_SSL_CHECK_HOSTNAME says.  Built once
    per process for the same files: Faust's clients, the lag watcher and a command share it."""
    return _tls_context(settings.ssl_cafile, settings.ssl_certfile, settings.ssl_keyfile, settings.ssl_check_hostname)


@lru_cache(maxsize=4)
def _tls_context(cafile: Path | None, certfile: Path | None, keyfile: Path | None, check_hostname: bool) -> ssl.SSLContext:
    try:
        context = create_ssl_context(cafile=cafile)
    except ssl.SSLError as error:
        raise TlsFileError(f"WINBACK_SSL_CAFILE={str(cafile)!r}: holds no PEM CA certificate{_reason(error)}") from None
    if certfile is not None:
        try:
            context.load_cert_chain(certfile, keyfile)
        except ssl.SSLError as error:
            raise TlsFileError(
                f"WINBACK_SSL_CERTFILE={str(certfile)!r} and WINBACK_SSL_KEYFILE={str(keyfile)!r}: not a PEM "
                f"certificate and its unencrypted private key{_reason(error)}"
            ) from None
    context.check_hostname = check_hostname
    return context


def _reason(error: ssl.SSLError) -> str:
    """OpenSSL's reason in brackets, when it gives one (a junk certificate file gives none)."""
    return f" ({error.reason})" if error.reason else ""


async def reach(settings: Settings) -> None:
    """Connect to a bootstrap server as every client will (TLS handshake and SASL login
    included) and ask for the cluster's metadata, within WINBACK_BROKER_TIMEOUT each; hang up.

    Returns at the first server that answers; otherwise raises the most telling failure: a
    refusal (authentication, TLS, mechanism, a closed connection) rather than a server that
    could not be reached.
    """
    failures: list[Exception] = []
    for host, port, _family in collect_hosts(settings.bootstrap_servers, randomize=False):
        try:
            await _ask_metadata(settings, host, port)
            return
        except (KafkaConnectionError, ConnectionResetError) as closed:  # aiokafka: "Connection at host:port closed"
            alert = closed.__cause__ if isinstance(closed.__cause__, ssl.SSLError) else None
            failures.append(ClosedByBroker(f"{host}:{port}", alert.reason if alert else None))
        except (OSError, KafkaError, TimeoutError) as failure:  # what aiokafka's own bootstrap gives up on
            failures.append(failure)
    raise next((failure for failure in failures if not _unreachable(failure)), failures[0])


async def _ask_metadata(settings: Settings, host: str, port: int) -> None:
    """One connection to ``host:port`` and one metadata request on it (a listener that wants a
    login answers the first, unauthenticated request, and closes the connection at the second)."""
    options = {name: value for name, value in client_options(settings).items() if name != "bootstrap_servers"}
    timeout_ms = round(settings.broker_timeout * 1000)
    connection = await create_conn(host, port, client_id=f"{settings.app_id}-reach", request_timeout_ms=timeout_ms, **options)
    try:
        await connection.send(MetadataRequest([], allow_auto_topic_creation=False))
    finally:
        connection.close()


def _unreachable(failure: Exception) -> bool:
    """A failure that says only that nothing answered (refused, timed out), not why it refused."""
    return isinstance(failure, (ConnectionRefusedError, TimeoutError))
