"""``winback backtest``: what a policy would have done over a historical event log."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.table import Table

from streams.cli.kpi_tables import kpi_tables
from streams.backtest.event_log import EventFileError
from streams.backtest.report import Report
from streams.backtest.run import Order, backtest_file
from streams.cli.errors import CommandError, load_settings
from streams.model.codec import Limits
from streams.policy.messages import PolicyError
from streams.policy.loading import default_policy_path, load_policy


class Moment(click.ParamType):
    """An ISO 8601 date or date-time; without an offset it is taken as UTC."""

    name = "TIMESTAMP"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date-time (e.g. 2024-12-31T00:00:00Z)", param, ctx)
        return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


policy_option = click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=default_policy_path,
    show_default="the bundled example",
    help="Policy YAML file.",
)


@click.command("backtest")
@click.argument("events", type=click.Path(path_type=Path))  # read_text names a missing or unreadable file
@policy_option
@click.option("--until", type=Moment(), default=None, help="Replay up to this moment (default: the last event's time).")
@click.option(
    "--order",
    type=click.Choice(["time", "arrival"]),
    default="time",
    show_default=True,
    help="time: each customer's events in event-time order (the file's order does not matter); arrival: the lines "
    "as a stream receives them, so a line dated before an earlier one is late and may retract (policy late_events).",
)
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def backtest(events: Path, policy_path: Path, until: float | None, order: Order, output: str) -> None:
    """Replay the JSON-lines EVENTS file (.gz accepted) under a policy and report what it would have sent.

    Bad lines are counted as rejected, with their reason, by the stream's rules: a line dated
    more than WINBACK_MAX_FUTURE_SKEW_SECONDS after the wall clock is a future_timestamp.
    A file that cannot be read to its end (missing, unreadable, a truncated or damaged gzip)
    stops the backtest with exit status 1.
    """
    try:
        policy = load_policy(policy_path)
    except PolicyError as error:
        raise click.ClickException(f"invalid policy:\n{error}") from None
    limits = Limits(max_future_skew_seconds=load_settings().max_future_skew_seconds)  # the stream's rule
    try:
        report = backtest_file(events, policy, until=until, limits=limits, order=order)
    except EventFileError as error:
        raise CommandError(str(error)) from None
    if output == "json":
        click.echo(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        Console().print(*_tables(report))


def _tables(report: Report) -> list[Table]:
    figures = report.as_dict()
    summary = Table(title=f"Backtest up to {figures['until']}", show_header=False)
    for label, key in [
        ("events", "events"),
        ("customers", "customers"),
        ("erasures", "erasures"),
        ("duplicates ignored", "duplicates"),
        ("after --until (left out)", "after_until"),
        ("rejected lines", "rejected"),
        ("state bytes per customer", "state_bytes_per_customer"),
    ]:
        summary.add_row(label, f"{figures[key]:,}")
    tables = [summary, _counts("Stage entries (triggers)", figures["triggers"]), _counts("Messages", figures["commands"])]
    tables.append(_counts("Customers by stage at the end", figures["stages"]))
    tables.append(_counts("Steps not sent as planned, by reason", figures["skips"]))
    if figures["retractions"]["retracted"]:
        tables.append(_counts("Late events: retractions", figures["retractions"]))
    tables.append(_campaigns(figures["campaigns"]))
    tables.extend(kpi_tables(figures["kpis"]))
    if report.rejected:
        rejected = Table("line", "reason", "detail", title=f"Rejected lines (first {len(report.rejected_examples)})")
        for example in report.rejected_examples:
            rejected.add_row(str(example["line"]), example["reason"], example["detail"])
        tables.append(rejected)
    return tables


def _campaigns(campaigns: dict) -> Table:
    """Reactivation rate and revenue per campaign and variant, with lift against the holdout."""
    table = Table("campaign", "group", "lapses", "messages", "conversions", "rate", "revenue", "lift", title="Campaigns")
    for campaign, figures in campaigns.items():
        groups = [(variant, group, group["lift_vs_holdout"]) for variant, group in figures["variants"].items()]
        groups.append(("holdout", figures["holdout"], None))
        for name, group, lift in groups:
            rate = group["reactivation_rate"]
            table.add_row(
                campaign,
                name,
                f"{group['triggered']:,}",
                f"{group['commands']:,}",
                f"{group['conversions']:,}",
                f"{rate:.1%}" if rate is not None else "-",
                f"{group['revenue']:,.2f}",
                f"{lift['rate_points'] * 100:+.1f} pts" if lift else "-",
            )
    return table


def _counts(title: str, counts: dict[str, int]) -> Table:
    table = Table("", "count", title=title)
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    return table
