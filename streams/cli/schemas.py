"""``winback schemas``: export or verify the JSON Schemas of every record."""

from __future__ import annotations

from pathlib import Path

import click

from streams.cli.errors import cannot_write
from streams.model import schemas as schema_files


@click.group("schemas")
def schemas() -> None:
    """JSON Schemas (2020-12) of events and commands, generated from the models."""


@schemas.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default="schemas")
def export(directory: Path) -> None:
    """Write every schema file into DIRECTORY (default: schemas)."""
    try:
        written = schema_files.export(directory)
    except OSError as error:
        raise cannot_write(Path(error.filename or directory), error) from None
    for path in written:
        click.echo(f"wrote {path}")


@schemas.command("check")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default="schemas")
def check(directory: Path) -> None:
    """Exit non-zero when DIRECTORY's schema files differ from the models."""
    stale = schema_files.stale(directory)
    if stale:
        raise click.ClickException(f"out of date: {', '.join(stale)} (run `winback schemas export`)")
    click.echo("schemas are up to date")
