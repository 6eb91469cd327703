"""A command that cannot reach the broker says why in one line: here, a host name that does not resolve."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from streams.cli import main


def test_a_broker_host_that_does_not_resolve_is_one_line_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    def unknown_host(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown_host)  # (a typo in the name, with no DNS lookup)

    result = CliRunner().invoke(main, ["topics", "ensure"], env={"WINBACK_BROKER": "kafak-0.example:9092", "WINBACK_BROKER_TIMEOUT": "5"})

    assert (result.exit_code, result.stderr) == (
        1,
        "winback: cannot administer topics: a host name in WINBACK_BROKER=kafak-0.example:9092 does not resolve "
        "(Name or service not known); check WINBACK_BROKER\n",
    )
