"""``winback registry``: start and stop the local schema registry used by the demo and the tests."""

from __future__ import annotations

from pathlib import Path

import click

from streams.cli.errors import CommandError
from streams.devtools.registry_local import (
    APICURIO_VERSION,
    CACHE_ENV,
    LocalRegistry,
    RegistryLocalError,
    default_cache_dir,
    ensure_registry,
)

DATA_DIR_OPTION = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/registry"),
    show_default=True,
    help="Where the registry's pid, port and registry.log are kept (its schemas are in memory).",
)

REGISTRY_HELP = f"""A local schema registry (Apicurio Registry {APICURIO_VERSION}, Confluent-compatible API) for
trying WINBACK_INPUT_FORMAT and WINBACK_OUTPUT_FORMAT.

The first start builds it from Maven Central with `mvn` (Java 17 and Maven are needed; about
130 MB of jars, a few minutes) into {default_cache_dir()} (set {CACHE_ENV} to move it); later
starts reuse that cache. Schemas are kept in memory: a restart starts empty. For development
only: in production point WINBACK_SCHEMA_REGISTRY_URL at your registry.
"""


@click.group("registry", help=REGISTRY_HELP)
def registry() -> None:
    """Local schema registry commands (the help is REGISTRY_HELP: it names the version and cache)."""


@registry.command("build")
def build() -> None:
    """Build the registry into its cache if it is not there yet (`make test` does, before the tests); print its jar."""
    try:
        click.echo(ensure_registry())
    except RegistryLocalError as error:
        raise CommandError(str(error)) from None


@registry.command("start")
@click.option("--port", type=click.IntRange(1, 65535), default=8081, show_default=True, help="HTTP port.")
@DATA_DIR_OPTION
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds to wait for it to answer (a first start builds it).")
def start(port: int, data_dir: Path, timeout: float) -> None:
    """Start the registry in the background; print its URL (WINBACK_SCHEMA_REGISTRY_URL) once it answers.

    Stop it with `winback registry stop`.
    """
    local = LocalRegistry(data_dir, port=port)
    try:
        url = local.start(timeout=timeout)
    except RegistryLocalError as error:
        raise CommandError(str(error)) from None
    click.echo(url)
    click.echo(f"log file: {local.log_file}\nfor workers: export WINBACK_SCHEMA_REGISTRY_URL={url}", err=True)


@registry.command("stop")
@DATA_DIR_OPTION
def stop(data_dir: Path) -> None:
    """Stop the registry of --data-dir (its schemas are lost)."""
    local = LocalRegistry(data_dir)
    if not local.is_running():
        click.echo("registry: not running")
        return
    local.stop()
    click.echo("registry: stopped")
