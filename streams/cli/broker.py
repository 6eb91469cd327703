"""Talking to the Kafka broker from a command: every wait is bounded, every failure is one line.

The clients a command makes wait at most ``WINBACK_BROKER_TIMEOUT`` seconds for each answer
of the broker, so a broker that is down, or one that accepts connections and never answers,
ends the command in bounded time with a line naming the broker and the settings to check,
instead of a hang, a traceback or the Kafka client's own log lines.

Before the command's own clients, one connection is made the way they will connect
(``streams.runtime.connection.reach``), so that a cluster that refuses the client says why,
in a line naming the setting to fix: the password, the mechanism, the CA, the host name.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Coroutine
from typing import Any, TypeVar

from streams.cli.errors import CommandError
from streams.runtime.settings import Settings

T = TypeVar("T")
NAME_MISMATCHES = {62, 64}  # OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH


def talk_to_broker(settings: Settings, task: str, conversation: Coroutine[Any, Any, T]) -> T:
    """Run ``conversation`` (coroutine using clients built from ``settings``) to its end.

    ``task`` says what the command was doing, in the error: "cannot {task}: ...".  Raises
    ``CommandError`` when the broker cannot be reached, refuses the client's login or TLS, or
    answered with an error (aiokafka is imported here, not at the top: every ``winback``
    command loads this module).
    """
    from aiokafka.errors import (
        KafkaConnectionError,
        KafkaError,
        NodeNotReadyError,
        RequestTimedOutError,
        SaslAuthenticationFailed,
        UnsupportedSaslMechanismError,
    )

    from streams.runtime.connection import ClosedByBroker, TlsFileError

    logging.getLogger("aiokafka").addHandler(logging.NullHandler())  # its errors are ours to word
    # A refused connection also fails a future of the client's that nobody reads; asyncio reports
    # it when the future is collected, which may be before the command exits: worded once, above.
    logging.getLogger("asyncio").addHandler(logging.NullHandler())
    try:
        return asyncio.run(_after_reaching(settings, conversation))
    except (TlsFileError, SaslAuthenticationFailed, UnsupportedSaslMechanismError, ssl.SSLError, ClosedByBroker) as refusal:
        raise CommandError(f"cannot {task}: {_refused(settings, refusal)}") from None
    except socket.gaierror as error:  # a host name no resolver knows: a typo, or DNS out of reach
        raise CommandError(
            f"cannot {task}: a host name in WINBACK_BROKER={settings.broker} does not resolve ({error.strerror}); "
            "check WINBACK_BROKER"
        ) from None
    except (KafkaConnectionError, NodeNotReadyError, RequestTimedOutError, TimeoutError, ConnectionError):
        raise CommandError(
            f"cannot {task}: no answer from the Kafka broker at {settings.broker} within "
            f"{settings.broker_timeout:g}s; check WINBACK_BROKER (and WINBACK_BROKER_TIMEOUT for a slow broker)"
        ) from None
    except KafkaError as error:
        raise _denied(settings, task, error) or CommandError(
            f"cannot {task} on {settings.broker} (WINBACK_BROKER): {error}"
        ) from None


async def _after_reaching(settings: Settings, conversation: Coroutine[Any, Any, T]) -> T:
    """``conversation``, once a first connection showed the cluster accepts the client."""
    from streams.runtime.connection import reach

    try:
        await reach(settings)
    except BaseException:
        conversation.close()  # never started: no "never awaited" warning
        raise
    return await conversation


def _refused(settings: Settings, refusal: Exception) -> str:
    """Why the cluster refused the client, naming the setting that fixes it."""
    from aiokafka.errors import SaslAuthenticationFailed

    from streams.runtime.connection import ClosedByBroker, TlsFileError

    if isinstance(refusal, SaslAuthenticationFailed):
        return (
            f"authentication failed for WINBACK_SASL_USERNAME={settings.sasl_username} with {settings.sasl_mechanism} "
            f"on {settings.broker}: check WINBACK_SASL_PASSWORD/WINBACK_SASL_PASSWORD_FILE (and that the user "
            "exists for WINBACK_SASL_MECHANISM)"
        )
    if isinstance(refusal, ssl.SSLCertVerificationError):
        return _untrusted(settings, refusal)
    if isinstance(refusal, ssl.SSLError):
        return (
            f"TLS with the broker at {settings.broker} failed ({refusal.reason or refusal}); check that "
            "WINBACK_SECURITY_PROTOCOL is what the listener speaks"
        )
    if isinstance(refusal, ClosedByBroker):
        return f"{refusal}; {_closed_hint(settings, refusal.tls_alert)}"
    if isinstance(refusal, TlsFileError):
        return str(refusal)
    return (  # UnsupportedSaslMechanismError
        f"the listener at {settings.broker} does not enable WINBACK_SASL_MECHANISM={settings.sasl_mechanism}: "
        "set the mechanism your cluster's operator gives for this listener"
    )


def _untrusted(settings: Settings, error: ssl.SSLCertVerificationError) -> str:
    """Why the broker's certificate was refused, and the setting that fixes it."""
    if error.verify_code in NAME_MISMATCHES:
        return (
            f"the broker's certificate does not name the host it was reached at ({error.verify_message}); put a "
            "name the certificate holds in WINBACK_BROKER, or set WINBACK_SSL_CHECK_HOSTNAME=false"
        )
    ca = f"WINBACK_SSL_CAFILE={settings.ssl_cafile}" if settings.ssl_cafile else "the system's CAs (WINBACK_SSL_CAFILE unset)"
    return (
        f"the broker's certificate at {settings.broker} is not signed by a CA in {ca} ({error.verify_message}); "
        "set WINBACK_SSL_CAFILE to the CA that signed the brokers' certificates"
    )


def _closed_hint(settings: Settings, tls_alert: str | None) -> str:
    """The settings that make a listener close the connection: a client certificate it wants, or another protocol."""
    if tls_alert:
        return "the listener wants a client certificate signed by a CA it trusts: set WINBACK_SSL_CERTFILE and WINBACK_SSL_KEYFILE"
    return (
        f"check that WINBACK_SECURITY_PROTOCOL={settings.security_protocol} is what this listener speaks "
        "(PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)"
    )


def _denied(settings: Settings, task: str, error: Exception) -> CommandError | None:
    """The line for a request the broker's authorizer refused (None for any other error): which
    kind of resource, and where the ACLs a worker needs are listed."""
    from aiokafka.errors import ClusterAuthorizationFailedError, GroupAuthorizationFailedError, TopicAuthorizationFailedError

    denied = {
        TopicAuthorizationFailedError: "a topic",
        GroupAuthorizationFailedError: "the consumer group",
        ClusterAuthorizationFailedError: "the cluster",
    }.get(type(error))
    if denied is None:
        return None
    return CommandError(
        f"cannot {task} on {settings.broker}: the broker denies this Kafka principal access to {denied} ({error}); "
        "`winback topics ensure --print-acls` lists what a worker needs, docs/security.md what an operator needs"
    )
