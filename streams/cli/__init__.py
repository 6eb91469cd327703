"""The ``winback`` command line: one click group, one module per command family."""

from __future__ import annotations

import contextlib
import errno
import io
import sys
from typing import Any

import click

from streams import __version__
from streams.cli.errors import load_settings
from streams.runtime.redaction import shown
from streams.runtime.settings import Settings


DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}  # no space, no quota, a file over its size limit


class Winback(click.Group):
    """The command group; a full disk, wherever a command meets it (its standard output above
    all, as in ``winback backtest ... > report.json``, even for --help), is one line, not a traceback."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except OSError as error:
            if error.errno not in DISK_FULL:
                raise
            if error.filename is None:  # standard output: nothing more can be written there, at exit either
                with contextlib.suppress(OSError):
                    sys.stdout.close()
                sys.stdout = io.StringIO()
            where = f" {error.filename}" if error.filename else ""
            click.echo(f"winback: cannot write{where}: {error.strerror} - free some space and run it again", err=True)
            sys.exit(1)


@click.group(cls=Winback, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="winback")
def main() -> None:
    """winback-streams: detect lapsing customers on Kafka and run win-back campaigns.

    Every command reads its configuration from WINBACK_* environment variables;
    `winback settings` lists them with their current values.
    """


@main.command("settings")
def show_settings() -> None:
    """Print every WINBACK_* setting with its effective value and meaning.

    Secrets are shown as ***: a setting named like a password, secret, token or key, and the
    password in a URL (WINBACK_BROKER=kafka://user:***@host:9092).
    """
    current = load_settings()
    for env_name, _default, description in Settings.documented():
        click.echo(f"{env_name}={_effective(current, env_name.removeprefix('WINBACK_').lower())}\n    {description}")


def _effective(current: Settings, name: str) -> str:
    """The value a setting has in use, secrets masked: an unset WINBACK_POLICY is the bundled example, shown as such."""
    if name == "policy" and current.policy is None:
        return f"(bundled) {current.policy_path}"
    return shown(Settings, name, getattr(current, name))


from streams.cli.schemas import schemas  # noqa: E402  (command families register after the group exists)

main.add_command(schemas)

from streams.cli.worker import worker  # noqa: E402

main.add_command(worker)

from streams.cli.topics import topics  # noqa: E402

main.add_command(topics)

from streams.cli.demo import demo  # noqa: E402

main.add_command(demo)

from streams.cli.traffic import traffic  # noqa: E402

main.add_command(traffic)

from streams.cli.kafka import kafka  # noqa: E402

main.add_command(kafka)

from streams.cli.registry import registry  # noqa: E402

main.add_command(registry)

from streams.cli.policy import policy  # noqa: E402

main.add_command(policy)

from streams.cli.backtest import backtest  # noqa: E402

main.add_command(backtest)

from streams.cli.backfill import backfill  # noqa: E402

main.add_command(backfill)

from streams.cli.report import report  # noqa: E402

main.add_command(report)

from streams.cli.model import model  # noqa: E402

main.add_command(model)
