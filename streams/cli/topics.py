"""``winback topics``: create or verify the app's topics."""

from __future__ import annotations

from collections.abc import Collection

import click

from streams.cli.broker import talk_to_broker
from streams.cli.errors import USAGE_EXIT_CODE, CommandError, load_settings, load_settings_policy
from streams.runtime.settings import Settings


@click.group("topics")
def topics() -> None:
    """Administer the Kafka topics the workers use."""


@topics.command("ensure")
@click.option(
    "--print-acls",
    is_flag=True,
    help="Print the ACLs a worker's principal needs, with why, instead of ensuring topics; connects to no broker.",
)
@click.option(
    "--principal",
    metavar="User:NAME",
    help="The worker's Kafka principal, for --print-acls (default with SASL: User:WINBACK_SASL_USERNAME; "
    "with mTLS the certificate's subject, e.g. User:CN=winback).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["kafka-acls", "json"]),
    help="--print-acls as kafka-acls.sh command lines (the default) or as JSON bindings.",
)
def ensure(print_acls: bool, principal: str | None, output_format: str | None) -> None:
    """Create every missing topic; verify existing ones (safe to run repeatedly).

    Topics are created with WINBACK_PARTITIONS partitions, WINBACK_REPLICATION replicas and
    min.insync.replicas WINBACK_MIN_INSYNC_REPLICAS. Existing topics are never altered. Exits
    non-zero when one cannot be used as it is: a co-partitioned topic (the internal events
    and due topics, the activity changelog) whose partition count is not WINBACK_PARTITIONS,
    a topic that must be compacted but is not, or one whose min.insync.replicas exceeds its
    replicas. Topics that merely differ (retention, fewer replicas, another
    min.insync.replicas) are reported and accepted. Workers refuse to start until this passes.
    A broker that does not answer within WINBACK_BROKER_TIMEOUT seconds is an error.

    With --print-acls it only prints the least-privilege ACLs a worker with these settings
    needs (literal topic and group names, no cluster ACL), for an operator to apply:
    docs/security.md says why each is needed.
    """
    from streams.admin.topics import ensure_topics

    if not print_acls and (principal or output_format):
        raise CommandError("--principal and --format go with --print-acls", USAGE_EXIT_CODE)
    settings = load_settings()
    load_settings_policy(settings)  # its channels' topics are among the required ones
    if print_acls:
        _print_acls(settings, principal, output_format)
        return
    statuses = talk_to_broker(settings, "administer topics", ensure_topics(settings))
    for status in statuses:
        click.echo(f"{status.action:>8}  {status.spec.name}  {status.detail}")
    refused = [f"  {status.spec.name} {status.detail}" for status in statuses if status.action == "mismatch"]
    if refused:
        raise click.ClickException("refusing to use these topics as they are:\n" + "\n".join(refused))


def _print_acls(settings: Settings, principal: str | None, output_format: str | None) -> None:
    """Print the worker's ACLs for ``principal`` in the chosen format."""
    from streams.admin.acls import acls_json, kafka_acls_commands, worker_acls

    if principal is None and settings.sasl_username:
        principal = f"User:{settings.sasl_username}"
    if principal is None:
        raise CommandError(
            "--print-acls needs --principal User:NAME (the worker's Kafka principal) without WINBACK_SASL_USERNAME", USAGE_EXIT_CODE
        )
    if not principal.partition(":")[2]:
        raise CommandError(f"--principal {principal!r}: give it as TYPE:NAME, e.g. User:winback", USAGE_EXIT_CODE)
    acls = worker_acls(settings)
    if output_format == "json":
        click.echo(acls_json(acls, principal))
    else:
        click.echo("\n".join(kafka_acls_commands(acls, principal, ",".join(settings.bootstrap_servers))))


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


def require_acls(settings: Settings, task: str) -> None:
    """Stop the command unless the broker grants the connected principal every ACL a worker needs
    (``streams.admin.acls``): without one, the worker would fail later, inside Faust."""
    from streams.admin.acls import KAFKA_ACLS_OPERATION
    from streams.admin.permissions import missing_acls

    missing = talk_to_broker(settings, task, missing_acls(settings))
    if missing:
        lacking = ", ".join(
            f"{KAFKA_ACLS_OPERATION[acl.operation]} on {acl.resource_type.lower()} {acl.resource_name}" for acl in missing
        )
        raise CommandError(
            f"cannot {task} on {settings.broker}: the broker denies its Kafka principal {lacking}. "
            "`winback topics ensure --print-acls` prints the ACLs an operator grants it"
        )
