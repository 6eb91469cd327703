"""``winback topics``: create or verify the app's topics."""

from __future__ import annotations

import asyncio

import click

from streams.settings import Settings


@click.group("topics")
def topics() -> None:
    """Administer the Kafka topics the workers use."""


@topics.command("ensure")
def ensure() -> None:
    """Create every missing topic; verify existing ones (safe to run repeatedly).

    Exits non-zero when an existing co-partitioned topic (the internal events topic or the
    activity changelog) has a partition count other than WINBACK_PARTITIONS.
    """
    from aiokafka.errors import KafkaError

    from streams.topics import ensure_topics

    settings = Settings()
    try:
        statuses = asyncio.run(ensure_topics(settings))
    except KafkaError as error:
        raise click.ClickException(f"cannot administer topics on {settings.broker} (WINBACK_BROKER): {error}")
    for status in statuses:
        click.echo(f"{status.action:>8}  {status.spec.name}  {status.detail}")
    if any(status.action == "mismatch" for status in statuses):
        raise click.ClickException("some topics cannot be used as they are (see above)")
