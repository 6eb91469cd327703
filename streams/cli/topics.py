"""``winback topics``: create or verify the app's topics."""

from __future__ import annotations

import asyncio

import click

from streams.cli.errors import load_settings


@click.group("topics")
def topics() -> None:
    """Administer the Kafka topics the workers use."""


@topics.command("ensure")
def ensure() -> None:
    """Create every missing topic; verify existing ones (safe to run repeatedly).

    Existing topics are never altered. Exits non-zero when one cannot be used as it is: a
    co-partitioned topic (the internal events and due topics, the activity changelog) whose
    partition count is not WINBACK_PARTITIONS, or a topic that must be compacted but is not.
    Topics that merely differ (retention, fewer replicas) are reported and accepted.
    """
    from aiokafka.errors import KafkaError

    from streams.admin.topics import ensure_topics

    settings = load_settings()
    try:
        statuses = asyncio.run(ensure_topics(settings))
    except KafkaError as error:
        raise click.ClickException(f"cannot administer topics on {settings.broker} (WINBACK_BROKER): {error}")
    for status in statuses:
        click.echo(f"{status.action:>8}  {status.spec.name}  {status.detail}")
    refused = [f"  {status.spec.name} {status.detail}" for status in statuses if status.action == "mismatch"]
    if refused:
        raise click.ClickException("refusing to use these topics as they are:\n" + "\n".join(refused))
