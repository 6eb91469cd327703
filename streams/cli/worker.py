"""``winback worker``: run one stream-processing worker."""

from __future__ import annotations

import click

from streams.runtime.settings import Settings


@click.command("worker")
def worker() -> None:
    """Run a worker: consume events, keep the activity table, dead-letter bad input.

    Configuration comes from WINBACK_* environment variables (see `winback settings`):
    WINBACK_BROKER points at the Kafka cluster, WINBACK_WEB_PORT is where /metrics is
    served. Run several workers with the same WINBACK_APP_ID to share the partitions.
    Stops cleanly on Ctrl-C or SIGTERM.
    """
    from streams.runtime.worker import run_worker  # Faust is heavy to import; only load it here

    run_worker(Settings())
