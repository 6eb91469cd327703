"""One real local broker with every secured listener at once, for the tests of secured clusters (#19).

``SecuredKafka`` runs a ``LocalKafka`` with four client listeners:

- ``SASL_SSL`` (TLS; SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512),
- ``SSL`` (TLS with a required client certificate: mTLS),
- ``SASL_PLAINTEXT`` (SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, no TLS),
- ``MISNAMED``: SASL_SSL again, on 127.0.0.2, a name the broker's certificate does not carry
  (it is for localhost and 127.0.0.1), so a client that checks host names refuses it.

Users: ``admin`` is a super user; ``worker`` may do nothing until ``grant`` gives it ACLs (the
KRaft StandardAuthorizer runs with allow.everyone.if.no.acl.found=false). On the SSL listener
the client certificate is the user: subject ``CN=worker`` is ``User:worker``, ``CN=admin`` is
``User:admin``.

``env(listener, user)`` returns the WINBACK_* settings of one way in; the ways, by name:

=========================  ==============  ===============
name                       protocol        SASL mechanism
=========================  ==============  ===============
sasl_ssl-scram-512         SASL_SSL        SCRAM-SHA-512
sasl_ssl-scram-256         SASL_SSL        SCRAM-SHA-256
sasl_ssl-plain             SASL_SSL        PLAIN
ssl-mtls                   SSL             (client certificate)
sasl_plaintext-plain       SASL_PLAINTEXT  PLAIN
sasl_plaintext-scram-256   SASL_PLAINTEXT  SCRAM-SHA-256
sasl_plaintext-scram-512   SASL_PLAINTEXT  SCRAM-SHA-512
=========================  ==============  ===============

For failure tests: ``wrong_password_file`` (a password no user has), ``wrong_ca_file`` (a CA that
signed nothing of this broker's) and ``mismatched_bootstrap`` (the MISNAMED listener: use it with
a ``sasl_ssl-*`` way in, e.g. ``{**env("sasl_ssl-scram-512"), "WINBACK_BROKER": mismatched_bootstrap}``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.admin import CreateAclsRequest

from streams.devtools.kafka_local import HOST, LocalKafka
from streams.devtools.kafka_security import ClientIdentity, Listener, aiokafka_options, client_env, write_private
from tests.support.topics import make_topic

SECURED_LISTENERS = (
    Listener("SASL_SSL", "SASL_SSL", HOST),
    Listener("SSL", "SSL", HOST),
    Listener("SASL_PLAINTEXT", "SASL_PLAINTEXT", HOST),
    Listener("MISNAMED", "SASL_SSL", "127.0.0.2"),
)

# name of a way in -> (listener name, SASL mechanism or None for a client certificate)
WAYS_IN: dict[str, tuple[str, str | None]] = {
    "sasl_ssl-scram-512": ("SASL_SSL", "SCRAM-SHA-512"),
    "sasl_ssl-scram-256": ("SASL_SSL", "SCRAM-SHA-256"),
    "sasl_ssl-plain": ("SASL_SSL", "PLAIN"),
    "ssl-mtls": ("SSL", None),
    "sasl_plaintext-plain": ("SASL_PLAINTEXT", "PLAIN"),
    "sasl_plaintext-scram-256": ("SASL_PLAINTEXT", "SCRAM-SHA-256"),
    "sasl_plaintext-scram-512": ("SASL_PLAINTEXT", "SCRAM-SHA-512"),
}

# Kafka's wire codes (org.apache.kafka.common.acl / resource) for the names kafka-acls.sh takes.
RESOURCE_TYPES = {"topic": 2, "group": 3, "cluster": 4, "transactional-id": 5}
OPERATIONS = {
    "all": 2, "read": 3, "write": 4, "create": 5, "delete": 6, "alter": 7, "describe": 8, "clusteraction": 9,
    "describeconfigs": 10, "alterconfigs": 11, "idempotentwrite": 12,
}
PATTERN_TYPES = {"literal": 3, "prefixed": 4}
ALLOW = 3
ANY_HOST = "*"


@dataclass(frozen=True)
class Acl:
    """One ALLOW rule, spelled as kafka-acls.sh spells it: ``Acl("topic", "shop.logins", "Read")``.

    ``resource_type``: topic, group, cluster (name ``kafka-cluster``) or transactional-id;
    ``operation``: Read, Write, Create, Describe, DescribeConfigs, IdempotentWrite, ...;
    ``pattern``: literal or prefixed.
    """

    resource_type: str
    name: str
    operation: str
    pattern: str = "literal"


class SecuredKafka:
    """The secured broker of one test module; see the module docstring for its listeners and users."""

    def __init__(self, data_dir: Path) -> None:
        self.broker = LocalKafka(data_dir, listeners=SECURED_LISTENERS)

    def start(self, timeout: float = 240) -> None:
        """Start the broker (passwords and certificates made on the first start) and the failure-test files."""
        self.broker.start(timeout=timeout)
        if not self.wrong_password_file.exists():
            write_private(self.wrong_password_file, "not-the-password\n")

    def stop(self) -> None:
        self.broker.stop()

    @property
    def ca_file(self) -> Path:
        return self.broker.secrets.ca_file

    @property
    def wrong_ca_file(self) -> Path:
        return self.broker.secrets.wrong_ca_file

    @property
    def wrong_password_file(self) -> Path:
        return self.broker.secrets.directory / "wrong.password"

    @property
    def mismatched_bootstrap(self) -> str:
        """A SASL_SSL listener at 127.0.0.2, which the broker's certificate does not name."""
        return self.broker.address("MISNAMED")

    def password_file(self, user: str) -> Path:
        return self.broker.secrets.password_file(user)

    def bootstrap(self, way_in: str) -> str:
        """The ``host:port`` of the listener behind ``way_in`` (a name of ``WAYS_IN``)."""
        return self.broker.address(WAYS_IN[way_in][0])

    def env(self, listener: str, user: str = "admin") -> dict[str, str]:
        """The WINBACK_* settings of ``user`` coming in by ``listener`` (a name of ``WAYS_IN``)."""
        return client_env(self.bootstrap(listener), self._identity(listener, user), self.broker.secrets)

    def client_options(self, listener: str, user: str = "admin", cafile: Path | None = None) -> dict[str, Any]:
        """aiokafka keyword arguments (bootstrap included) of ``user`` by ``listener``; ``cafile`` replaces the CA."""
        options = aiokafka_options(self._identity(listener, user), self.broker.secrets, cafile)
        return {"bootstrap_servers": self.bootstrap(listener), **options}

    async def create_topic(self, name: str, partitions: int = 1) -> None:
        """Create a topic as ``admin`` (one replica), as an operator would before a worker starts."""
        await make_topic(self.client_options("sasl_plaintext-plain"), name, partitions)

    async def grant(self, principal: str, acls: Iterable[Acl]) -> None:
        """Allow ``principal`` (``User:worker``) each of ``acls`` from any host, as ``admin``.

        aiokafka's admin client has no create_acls, so this sends Kafka's CreateAcls request
        itself, one per rule, on one connection: milliseconds, where kafka-acls.sh would start
        a JVM per resource. A rule the broker refuses fails the call with the broker's reason.
        """
        client = AIOKafkaClient(**self.client_options("sasl_plaintext-plain"))
        await client.bootstrap()
        try:
            for acl in acls:
                response = await client.send(client.get_random_node(), _create_acl_request(principal, acl))
                [(error_code, message)] = response.creation_responses
                if error_code != 0:
                    raise AssertionError(f"granting {acl} to {principal} failed: error {error_code} {message}")
        finally:
            await client.close()

    def _identity(self, way_in: str, user: str) -> ClientIdentity:
        listener_name, mechanism = WAYS_IN[way_in]
        protocol = next(listener.protocol for listener in SECURED_LISTENERS if listener.name == listener_name)
        return ClientIdentity(protocol, mechanism, user)


def _create_acl_request(principal: str, acl: Acl) -> CreateAclsRequest:
    return CreateAclsRequest(
        resource_type=RESOURCE_TYPES[acl.resource_type.lower()],
        resource_name=acl.name,
        resource_pattern_type_filter=PATTERN_TYPES[acl.pattern.lower()],
        principal=principal,
        host=ANY_HOST,
        operation=OPERATIONS[acl.operation.lower()],
        permission_type=ALLOW,
    )
