"""Secrets never appear in output: which setting values are secret, how settings are shown, and
a filter on the process's output streams.

A value is secret when its setting is typed ``SecretStr``, when the setting's name says so
(password, secret, token, credential, key; not a ``*_file`` setting, which names where one is),
or when it is the password in a URL's userinfo (``kafka://user:password@host:9092``).  This is
decided from the settings' fields, so a setting added later is covered by its type or its name,
with no list to keep up to date; a password read from WINBACK_SASL_PASSWORD_FILE is the value
of the ``SecretStr`` setting WINBACK_SASL_PASSWORD once the settings are loaded.

``winback settings`` and the error messages show values masked (``user:***@host``).  Everything
else a command writes to standard output or error once its settings are loaded - Faust's
banner, log lines of either format, tracebacks - passes through ``RedactingStream``, which
replaces the secret values themselves.
"""

from __future__ import annotations

import re
import sys
import typing
from collections.abc import Iterable
from typing import Any, TextIO
from urllib.parse import unquote

from pydantic import BaseModel, SecretStr

from streams.runtime.broker_address import servers

MASK = "***"
_USERINFO = re.compile(r"(?:[a-z][a-z0-9+.-]*://)?[^/:@\s]*:(?P<password>.*)@[^@/\s]*(?:/[^@]*)?", re.IGNORECASE | re.DOTALL)
SECRET_NAME = re.compile(r"password|passwd|secret|token|credential|(?:^|_)(?:api_?)?key(?:$|_)", re.IGNORECASE)


def is_secret(model: type[BaseModel], name: str) -> bool:
    """Whether the field ``name`` of ``model`` holds a secret: typed ``SecretStr`` or named like one."""
    field = model.model_fields.get(name)
    typed = field is not None and SecretStr in (field.annotation, *typing.get_args(field.annotation))
    names_a_file = name.endswith("_file")  # WINBACK_SASL_PASSWORD_FILE: where a secret is, not the secret
    return typed or (SECRET_NAME.search(name) is not None and not names_a_file)


def url_password(server: str) -> str | None:
    """The password in the userinfo of ``server`` (``scheme://user:pw@host:port`` or ``user:pw@host:port``).

    Read by hand rather than with urllib, which would end the password at a ``#``, ``?`` or ``/``
    that people do put in passwords unencoded: it is everything up to the last ``@``.
    """
    found = _USERINFO.fullmatch(server)
    return found["password"] if found else None


def without_passwords(value: str) -> str:
    """``value`` with the password of each comma-separated URL in it replaced by ``***``."""
    parts = []
    for part in servers(value):
        password = url_password(part.strip())
        parts.append(part.replace(f":{password}@", f":{MASK}@", 1) if password else part)
    return ",".join(parts)


def shown(model: type[BaseModel], name: str, value: Any) -> str:
    """How the value of setting ``name`` may be shown: a secret as ``***``, a URL without its password."""
    if value is None:
        return "None"
    if is_secret(model, name):
        return MASK
    return without_passwords(str(value))


def secret_values(settings: BaseModel) -> set[str]:
    """Every secret string in ``settings``: secret fields' values and the passwords in URLs (also
    percent-decoded, the form a client would use)."""
    found: set[str] = set()
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        if is_secret(type(settings), name):
            found.add(text)
        for password in filter(None, map(url_password, servers(text))):
            found |= {password, unquote(password)}
    return {secret for secret in found if secret}


class RedactingStream:
    """A text stream writing to ``stream`` with every one of ``secrets`` replaced by ``***``.

    It has no ``buffer``: a writer that looks for the bytes underneath (click does, on a terminal
    whose encoding it distrusts) then writes text here instead of going around the redaction.
    A secret split over two writes would pass; log handlers, print and tracebacks write whole
    lines or whole values.
    """

    def __init__(self, stream: TextIO, secrets: Iterable[str]) -> None:
        self.stream = stream
        self.secrets = sorted(set(secrets), key=len, reverse=True)  # longest first: one containing another goes whole

    def write(self, text: str) -> int:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return self.stream.write(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":
            raise AttributeError(name)
        return getattr(self.stream, name)


def redact_output(settings: BaseModel) -> None:
    """From now on, standard output and error of this process show the secrets of ``settings`` as ``***``."""
    secrets = secret_values(settings)
    if secrets:
        sys.stdout = RedactingStream(sys.stdout, secrets)  # type: ignore[assignment]
        sys.stderr = RedactingStream(sys.stderr, secrets)  # type: ignore[assignment]
