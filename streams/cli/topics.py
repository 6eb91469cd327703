"""``winback topics``: create or verify the app's topics."""

from __future__ import annotations

from collections.abc import Collection

import click

from streams.cli.broker import talk_to_broker
from streams.cli.errors import CommandError, load_settings
from streams.runtime.settings import Settings


@click.group("topics")
def topics() -> None:
    """Administer the Kafka topics the workers use."""


@topics.command("ensure")
def ensure() -> None:
    """Create every missing topic; verify existing ones (safe to run repeatedly).

    Topics are created with WINBACK_PARTITIONS partitions, WINBACK_REPLICATION replicas and
    min.insync.replicas WINBACK_MIN_INSYNC_REPLICAS. Existing topics are never altered. Exits
    non-zero when one cannot be used as it is: a co-partitioned topic (the internal events
    and due topics, the activity changelog) whose partition count is not WINBACK_PARTITIONS,
    a topic that must be compacted but is not, or one whose min.insync.replicas exceeds its
    replicas. Topics that merely differ (retention, fewer replicas, another
    min.insync.replicas) are reported and accepted. Workers refuse to start until this passes.
    A broker that does not answer within WINBACK_BROKER_TIMEOUT seconds is an error.
    """
    from streams.admin.topics import ensure_topics

    settings = load_settings()
    statuses = talk_to_broker(settings, "administer topics", ensure_topics(settings))
    for status in statuses:
        click.echo(f"{status.action:>8}  {status.spec.name}  {status.detail}")
    refused = [f"  {status.spec.name} {status.detail}" for status in statuses if status.action == "mismatch"]
    if refused:
        raise click.ClickException("refusing to use these topics as they are:\n" + "\n".join(refused))


def require_topics(settings: Settings, task: str, names: Collection[str] | None = None) -> None:
    """Stop the command unless the topics (every one a worker uses, or ``names``) are as
    `winback topics ensure` makes them: nothing but ``ensure`` creates a topic, and a wrong
    partition count or cleanup policy would lose customers."""
    from streams.admin.topics import check_topics

    statuses = talk_to_broker(settings, task, check_topics(settings))
    concerned = [status for status in statuses if names is None or status.spec.name in names]
    missing = [status.spec.name for status in concerned if status.action == "missing"]
    problems = [f"{status.spec.name} {status.detail}" for status in concerned if status.action == "mismatch"]
    if missing:
        problems.insert(0, f"missing topics {', '.join(missing)}")
    if problems:
        raise CommandError(
            f"cannot {task} on {settings.broker}: {'; '.join(problems)}. "
            "`winback topics ensure` with the same settings creates what is missing and reports the rest"
        )
