"""How a command fails on input the user can fix: one ``winback: ...`` line per problem, no traceback.

Every command that reads ``WINBACK_*`` variables loads them with ``load_settings``, so a bad
value is reported the same way everywhere: the variable, the value (a secret masked) and what
is wrong with it.  Once the settings are loaded, the command's output shows their secrets as
``***`` (``streams.runtime.redaction``).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import click
from pydantic import ValidationError

from streams.policy.loading import load_policy
from streams.policy.messages import PolicyError
from streams.policy.sections import Policy
from streams.runtime.redaction import redact_output, shown
from streams.runtime.settings import ENV_PREFIX, Settings

USAGE_EXIT_CODE = 2  # click's exit status for bad usage (options, arguments); bad settings are usage too


class CommandError(click.ClickException):
    """A failure the user can fix, shown as ``winback: <line>`` for each line of the message."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: IO[Any] | None = None) -> None:
        for line in self.format_message().splitlines():
            click.echo(f"winback: {line}", err=True, file=file)


def cannot_write(path: Path, error: OSError) -> CommandError:
    """The one line for an output file that could not be written: no such directory, read-only, disk full..."""
    return CommandError(f"cannot write {path}: {error.strerror or error}")


def load_settings() -> Settings:
    """The settings from the ``WINBACK_*`` environment; from now on the process's output masks their secrets.

    Raises ``CommandError`` (exit status 2) naming every bad variable, its value and the
    problem, one line each, instead of pydantic's multi-line report and a traceback.
    """
    try:
        settings = Settings()
    except ValidationError as error:
        raise CommandError("\n".join(map(_bad_variable, error.errors(include_url=False))), USAGE_EXIT_CODE) from None
    redact_output(settings)
    return settings


def _bad_variable(detail: Any) -> str:
    """``WINBACK_NAME='value': what is wrong`` for one of pydantic's error details (a secret value masked).

    A problem of several settings together (SASL, TLS) has no one field: its text names them itself.
    """
    field = "_".join(str(part) for part in detail["loc"])
    message = str(detail["msg"]).removeprefix("Value error, ")  # a validator's own ValueError text
    if not field:
        return message
    value = detail["input"]
    shown_value = repr(shown(Settings, field, value)) if isinstance(value, str) else repr(value)
    return f"{ENV_PREFIX}{field.upper()}={shown_value}: {message}"


def load_policy_file(path: Path) -> Policy:
    """The policy file a command's ``--policy`` names; each problem (file, key, line) a ``winback:`` line."""
    try:
        return load_policy(path)
    except PolicyError as error:
        raise CommandError("\n".join(error.problems)) from None


def load_settings_policy(settings: Settings) -> Policy:
    """The policy of WINBACK_POLICY (the bundled example when unset); a bad one is a usage error.

    Commands that need the policy's channels (their topics) check it this way before anything else.
    """
    try:
        return load_policy(settings.policy_path)
    except PolicyError as error:
        raise CommandError("\n".join(f"WINBACK_POLICY: {problem}" for problem in error.problems), USAGE_EXIT_CODE) from None
