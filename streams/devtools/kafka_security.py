"""What makes the local broker a secured one: listeners, throw-away TLS material, users, client options.

A secured local broker behaves like a managed cluster: clients authenticate (SASL PLAIN or
SCRAM, or a client certificate), traffic may be TLS, and the KRaft StandardAuthorizer lets an
ordinary user do only what ACLs grant. Everything secret is generated per broker into
``<data dir>/secrets`` (a 0700 directory of 0600 files) and never printed: clients are told
the *file* that holds a password.

Users: ``admin`` (a super user, for operators and ``topics ensure``), ``worker`` (no rights
until ACLs grant them) and ``broker`` (the broker's own identity towards its controller and
its other listeners; also a super user). A client certificate's subject ``CN=<user>`` maps to
principal ``User:<user>``, so the mTLS certificates ``admin`` and ``worker`` are those users.
"""

from __future__ import annotations

import os
import secrets
import shutil
import ssl
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.helpers import create_ssl_context

SECURITY_MODES = ("plaintext", "ssl", "sasl_plaintext", "sasl_ssl")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
CLIENT_USERS = ("admin", "worker")
BROKER_USER = "broker"
SUPER_USERS = ("admin", BROKER_USER)
CONTROLLER = "CONTROLLER"
CERTIFICATE_DAYS = "30"
CERTIFIED_NAMES = "DNS:localhost,IP:127.0.0.1"  # the broker certificate's names; 127.0.0.2 is deliberately not one
PLAIN_LOGIN = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


class SecurityMaterialError(RuntimeError):
    """Certificates or passwords could not be made (no openssl, a failing command); one line."""


@dataclass(frozen=True)
class Listener:
    """One client listener of the broker: the name Kafka knows it by, its protocol and loopback host."""

    name: str
    protocol: str
    host: str

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")


class BrokerSecrets:
    """The passwords and PEM files of one secured broker, kept in ``directory`` (created on first use).

    ``create`` is idempotent: a restart on the same data dir keeps the users' passwords (they are
    in the broker's metadata) and the certificates clients already trust.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def ca_file(self) -> Path:
        """The throw-away CA that signed the broker's and the clients' certificates."""
        return self.directory / "ca.pem"

    @property
    def wrong_ca_file(self) -> Path:
        """An unrelated CA, for showing what a client that trusts the wrong CA sees."""
        return self.directory / "wrong-ca.pem"

    @property
    def broker_keystore(self) -> Path:
        """The broker's private key followed by its certificate: a PEM key store for Kafka."""
        return self.directory / "broker-keystore.pem"

    def password_file(self, user: str) -> Path:
        return self.directory / f"{user}.password"

    def password(self, user: str) -> str:
        return self.password_file(user).read_text().strip()

    def client_certificate(self, user: str) -> Path:
        return self.directory / f"{user}.crt"

    def client_key(self, user: str) -> Path:
        return self.directory / f"{user}.key"

    def create(self, tls: bool) -> None:
        """Random passwords for every user and, with ``tls``, the certificates; existing ones are kept."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        for user in (*CLIENT_USERS, BROKER_USER):
            if not self.password_file(user).exists():
                write_private(self.password_file(user), secrets.token_hex(16) + "\n")
        if tls and not self.broker_keystore.exists():
            self._make_certificates()

    def _make_certificates(self) -> None:
        """A CA, the broker's certificate for localhost/127.0.0.1, a client certificate per user, a wrong CA."""
        ca_key = self.directory / "ca.key"
        _openssl_certificate(self.ca_file, ca_key, "winback-local-ca", "basicConstraints=critical,CA:TRUE",
                             "keyUsage=critical,keyCertSign,cRLSign")
        signed_by_ca = ("-CA", str(self.ca_file), "-CAkey", str(ca_key))
        broker_cert, broker_key = self.directory / "broker.crt", self.directory / "broker.key"
        _openssl_certificate(broker_cert, broker_key, BROKER_USER, f"subjectAltName={CERTIFIED_NAMES}",
                             "basicConstraints=CA:FALSE", issuer=signed_by_ca)
        write_private(self.broker_keystore, broker_key.read_text() + broker_cert.read_text())
        for user in CLIENT_USERS:
            _openssl_certificate(self.client_certificate(user), self.client_key(user), user,
                                 "basicConstraints=CA:FALSE", issuer=signed_by_ca)
        _openssl_certificate(self.wrong_ca_file, self.directory / "wrong-ca.key", "winback-unrelated-ca",
                             "basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign")


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read (created so, never briefly world-readable)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


def _openssl_certificate(
    certificate: Path, key: Path, common_name: str, *extensions: str, issuer: tuple[str, ...] = ()
) -> None:
    """One EC P-256 key and its certificate ``CN=<common_name>``; self-signed unless ``issuer`` names a CA.

    EC keys, not RSA: each is made in milliseconds, and Kafka's PEM key store and Python's ssl
    both take them. ``-config /dev/null`` keeps the system's openssl.cnf from adding extensions.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise SecurityMaterialError("openssl is not on PATH; a secured local broker needs it for its certificates")
    command = [
        openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc",
        "-keyout", str(key), "-out", str(certificate), "-days", CERTIFICATE_DAYS, "-subj", f"/CN={common_name}",
        "-config", os.devnull, *issuer, *(argument for extension in extensions for argument in ("-addext", extension)),
    ]
    result = subprocess.run(command, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise SecurityMaterialError(f"openssl could not make the certificate for {common_name}: {last_line}")
    key.chmod(0o600)


def security_settings(
    listeners: Iterable[tuple[Listener, int]], controller_address: str, secrets_: BrokerSecrets
) -> dict[str, str]:
    """The server.properties entries that secure a broker: listeners, SASL users, TLS, the authorizer.

    They override the plaintext broker's ``listeners`` and friends. The controller listener is
    SASL_PLAINTEXT (loopback) with the ``broker`` user, so no unauthenticated principal needs to
    be a super user; the first client listener carries inter-broker traffic.
    """
    bound = list(listeners)
    first = bound[0][0]
    addresses = [f"{listener.name}://{listener.host}:{port}" for listener, port in bound]
    protocols = [f"{listener.name}:{listener.protocol}" for listener, _ in bound]
    settings = {
        "listeners": ",".join([*addresses, f"{CONTROLLER}://{controller_address}"]),
        "advertised.listeners": ",".join(addresses),
        "listener.security.protocol.map": ",".join([*protocols, f"{CONTROLLER}:SASL_PLAINTEXT"]),
        "inter.broker.listener.name": first.name,
        "sasl.enabled.mechanisms": ",".join(SASL_MECHANISMS),
        "sasl.mechanism.controller.protocol": "PLAIN",
        "sasl.mechanism.inter.broker.protocol": "PLAIN",
        f"listener.name.{CONTROLLER.lower()}.sasl.enabled.mechanisms": "PLAIN",
        f"listener.name.{CONTROLLER.lower()}.plain.sasl.jaas.config": _plain_jaas(secrets_, (BROKER_USER,)),
        "authorizer.class.name": AUTHORIZER,
        "super.users": ";".join(f"User:{user}" for user in SUPER_USERS),
        "allow.everyone.if.no.acl.found": "false",
    }
    for listener, _ in bound:
        settings.update(_listener_settings(listener, secrets_))
    if any(listener.uses_tls for listener, _ in bound):
        settings.update(_tls_settings(secrets_))
    return settings


def _listener_settings(listener: Listener, secrets_: BrokerSecrets) -> dict[str, str]:
    """A SASL listener's users (PLAIN in its JAAS line, SCRAM in the metadata); an SSL one requires a client certificate."""
    prefix = f"listener.name.{listener.name.lower()}"
    if listener.uses_sasl:
        scram = {f"{prefix}.{mechanism.lower()}.sasl.jaas.config": f"{SCRAM_LOGIN} required;" for mechanism in SCRAM_MECHANISMS}
        return {f"{prefix}.plain.sasl.jaas.config": _plain_jaas(secrets_, (*CLIENT_USERS, BROKER_USER)), **scram}
    if listener.uses_tls:
        return {f"{prefix}.ssl.client.auth": "required"}
    return {}


def _plain_jaas(secrets_: BrokerSecrets, users: tuple[str, ...]) -> str:
    """PLAIN's JAAS line: the broker's own login (as a client) and the ``user_<name>`` it accepts."""
    accepted = " ".join(f'user_{user}="{secrets_.password(user)}"' for user in users)
    own = f'username="{BROKER_USER}" password="{secrets_.password(BROKER_USER)}"'
    return f"{PLAIN_LOGIN} required {own} {accepted};"


def _tls_settings(secrets_: BrokerSecrets) -> dict[str, str]:
    """PEM key and trust stores, and ``CN=<user>`` in a client certificate read as ``User:<user>``."""
    return {
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(secrets_.broker_keystore),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(secrets_.ca_file),
        "ssl.principal.mapping.rules": "RULE:^CN=([a-zA-Z0-9._-]+)$/$1/,DEFAULT",
    }


def scram_arguments(secrets_: BrokerSecrets) -> list[str]:
    """``kafka-storage format`` arguments that create every SCRAM user (KRaft keeps them in its metadata)."""
    return [
        f"--add-scram={mechanism}=[name={user},password={secrets_.password(user)}]"
        for user in CLIENT_USERS
        for mechanism in SCRAM_MECHANISMS
    ]


@dataclass(frozen=True)
class ClientIdentity:
    """How one client proves who it is on one listener: the listener's protocol, a SASL mechanism, a user."""

    protocol: str
    mechanism: str | None
    user: str


def default_identity(listener: Listener, user: str) -> ClientIdentity:
    """``user`` on ``listener`` the usual way: SCRAM-SHA-512 on a SASL listener, else a client certificate (SSL) or nothing."""
    return ClientIdentity(listener.protocol, "SCRAM-SHA-512" if listener.uses_sasl else None, user)


def client_env(bootstrap: str, identity: ClientIdentity, secrets_: BrokerSecrets) -> dict[str, str]:
    """The WINBACK_* settings a client needs; the password as a file name, never the password."""
    env = {"WINBACK_BROKER": bootstrap, "WINBACK_SECURITY_PROTOCOL": identity.protocol}
    if identity.mechanism is not None:
        env |= {
            "WINBACK_SASL_MECHANISM": identity.mechanism,
            "WINBACK_SASL_USERNAME": identity.user,
            "WINBACK_SASL_PASSWORD_FILE": str(secrets_.password_file(identity.user)),
        }
    if identity.protocol in ("SSL", "SASL_SSL"):
        env["WINBACK_SSL_CAFILE"] = str(secrets_.ca_file)
    if identity.protocol == "SSL":
        env |= {
            "WINBACK_SSL_CERTFILE": str(secrets_.client_certificate(identity.user)),
            "WINBACK_SSL_KEYFILE": str(secrets_.client_key(identity.user)),
        }
    return env


def aiokafka_options(identity: ClientIdentity, secrets_: BrokerSecrets, cafile: Path | None = None) -> dict[str, Any]:
    """Keyword arguments of an aiokafka client for ``identity`` (the readiness probe, the tests).

    ``cafile`` replaces the broker's CA, to show what a client trusting another CA sees.
    """
    options: dict[str, Any] = {"security_protocol": identity.protocol}
    if identity.mechanism is not None:
        options |= {
            "sasl_mechanism": identity.mechanism,
            "sasl_plain_username": identity.user,
            "sasl_plain_password": secrets_.password(identity.user),
        }
    if identity.protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = _ssl_context(identity, secrets_, cafile or secrets_.ca_file)
    return options


def _ssl_context(identity: ClientIdentity, secrets_: BrokerSecrets, cafile: Path) -> ssl.SSLContext:
    """Trust ``cafile``, verify the host name; on an SSL listener present the user's client certificate."""
    if identity.protocol == "SSL":
        return create_ssl_context(
            cafile=cafile,
            certfile=secrets_.client_certificate(identity.user),
            keyfile=secrets_.client_key(identity.user),
        )
    return create_ssl_context(cafile=cafile)
