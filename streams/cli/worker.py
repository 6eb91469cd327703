"""``winback worker``: run one stream-processing worker."""

from __future__ import annotations

import os

import click

from streams.cli.errors import USAGE_EXIT_CODE, CommandError, load_settings, load_settings_policy
from streams.cli.topics import require_acls, require_topics
from streams.runtime.settings import Settings


@click.command("worker")
def worker() -> None:
    """Run a worker: consume events, keep the activity table, dead-letter bad input.

    Configuration comes from WINBACK_* environment variables (see `winback settings`):
    WINBACK_BROKER points at the Kafka cluster (WINBACK_SECURITY_PROTOCOL, WINBACK_SASL_* and
    WINBACK_SSL_* say how to log in to a secured one: a refusal stops the start with one line
    naming the setting to fix), WINBACK_WEB_HOST:WINBACK_WEB_PORT is where
    /metrics, /healthz (liveness) and /readyz (readiness: tables recovered) are served.
    Run several workers with the same WINBACK_APP_ID to share the partitions.
    Inputs and outputs are plain JSON unless WINBACK_INPUT_FORMAT (avro, protobuf, jsonschema)
    or WINBACK_OUTPUT_FORMAT=jsonschema say otherwise, with WINBACK_SCHEMA_REGISTRY_URL; output
    schemas are registered at start, and a registry that refuses them stops it with one line.
    Stops cleanly on Ctrl-C or SIGTERM. Faust's own variables (BROKER_URL, WEB_PORT,
    FAUST_*, ...) are ignored.

    The worker creates no topic: it first checks that the broker grants it every ACL it needs
    (`winback topics ensure --print-acls`) and that every topic exists as `winback topics
    ensure` makes it (WINBACK_PARTITIONS partitions where they must match, compaction where
    state lives) and exits with one line naming what is wrong otherwise, or when the broker
    does not answer within WINBACK_BROKER_TIMEOUT seconds.
    """
    settings = load_settings()
    policy = load_settings_policy(settings)
    _make_data_dir(settings)
    _drop_faust_import_variables()
    require_acls(settings, "start the worker")
    require_topics(settings, "start the worker")
    from streams.runtime.worker import run_worker  # Faust is heavy to import; only load it once the input is fine

    run_worker(settings, policy)


def _make_data_dir(settings: Settings) -> None:
    """Create WINBACK_DATA_DIR if needed, naming the variable when that is impossible."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        problem = f"WINBACK_DATA_DIR={str(settings.data_dir)!r}: cannot create it: {error.strerror}"
        raise CommandError(problem, USAGE_EXIT_CODE) from None


def _drop_faust_import_variables() -> None:
    """Remove the ``FAUST_*`` and ``F_*`` variables Faust reads when it is imported (its event loop,
    debug and strict modes, default ports and directories): settings come from WINBACK_* only.
    The unprefixed ones Faust's settings read (BROKER_URL, ...) never reach it: the app gets an
    empty environment (``streams.runtime.topology.create_app``)."""
    for name in [name for name in os.environ if name.startswith(("FAUST_", "F_"))]:
        del os.environ[name]
