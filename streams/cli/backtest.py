"""``winback backtest``: what a policy would have done over a historical event log."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.table import Table

from streams.cli.kpi_tables import kpi_tables
from streams.backtest.comparison import Figure, compare
from streams.backtest.event_log import EventFileError
from streams.backtest.report import Report
from streams.backtest.history import ColumnMap, HistoryError
from streams.backtest.run import Order, backtest_history
from streams.backtest.workers import backtest_in_workers
from streams.cli.errors import USAGE_EXIT_CODE, CommandError, load_policy_file, load_settings
from streams.cli.history import history_options, progress_bar, read_events
from streams.model.codec import Limits
from streams.policy.loading import default_policy_path

MAX_WORKERS = 64  # --workers: far more than the cores of a machine that runs a backtest, far fewer than a typo can ask


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
        try:  # an offset can push a moment of year 1 or 9999 out of the years a datetime holds, and later a traceback
            return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).timestamp()
        except OverflowError:
            self.fail(f"{value!r} is outside the years 1 to 9999 in UTC", param, ctx)


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
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=MAX_WORKERS),  # each is started before the file is read: a typo must not fork thousands
    default=1,
    show_default=True,
    help="Processes sharing the customers (the file is read once, its customers dealt in turn); the report is the same for any number. "
    f"At most {MAX_WORKERS}; not with --order arrival, whose clock is every line's.",
)
@click.option("--progress", is_flag=True, help="Show the progress bar (lines read, events replayed per second) on stderr even when it is no terminal.")
@click.option(
    "--compare",
    "compared_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also replay EVENTS under this policy and print the two side by side (entries, messages, conversions, lift).",
)
@history_options
def backtest(
    events: Path,
    policy_path: Path,
    until: float | None,
    order: Order,
    output: str,
    workers: int,
    progress: bool,
    compared_path: Path | None,
    mapping: str | None,
    time_format: str | None,
) -> None:
    """Replay the EVENTS file under a policy and report what it would have sent.

    EVENTS is a JSON-lines file (.gz accepted), a CSV file (.csv, .csv.gz) or a Parquet file
    (.parquet), its columns named with --map. Bad lines are counted as rejected, with their
    reason, by the stream's rules: a line dated more than WINBACK_MAX_FUTURE_SKEW_SECONDS after
    the wall clock is a future_timestamp. A file that cannot be read to its end (missing,
    unreadable, a truncated or damaged gzip) stops the backtest with exit status 1. On a
    terminal (or with --progress) a progress bar on stderr shows lines read and events replayed
    per second; stdout keeps only the report.

    With --order arrival the lines are replayed as a stream receives them, in one process: a
    line dated before the latest time read so far is late, and retracts the triggers it would
    have prevented under the policy's late_events (every one of the lapse fired after it).

    With --compare, the same file is replayed under both policies (--policy first) and the
    figures that tell them apart are printed side by side: e.g. fixed thresholds against the
    predictive trigger, each campaign with a holdout, judged by lift.
    """

    if order == "arrival" and workers > 1:
        raise CommandError("--order arrival replays in one process (a line's clock is the latest time of every line before it): drop --workers", USAGE_EXIT_CODE)

    def replay(path: Path) -> Report:
        return _replay(events, path, until, order, workers, progress, mapping, time_format)

    report = replay(policy_path)
    if compared_path is not None:
        _print_comparison(policy_path, report, compared_path, replay(compared_path), output)
    elif output == "json":
        click.echo(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        Console().print(*_tables(report))


def _replay(
    events: Path,
    policy_path: Path,
    until: float | None,
    order: Order,
    workers: int,
    progress: bool,
    mapping: str | None,
    time_format: str | None,
) -> Report:
    """The backtest of EVENTS under the policy file; its problems as one-line command errors."""
    policy = load_policy_file(policy_path)
    limits = Limits(max_future_skew_seconds=load_settings().max_future_skew_seconds)  # the stream's rule
    with progress_bar(force=progress) as phase:
        if workers == 1:
            history = read_events(
                [events], mapping, time_format, limits=limits, now=time.time(), on_lines=phase("reading lines"), arrival_order=order == "arrival"
            )
            return backtest_history(history, policy, until=until, on_events=phase("replaying events"))
        return _in_workers(events, policy, workers, until, limits, mapping, time_format, phase)


def _print_comparison(baseline_path: Path, baseline: Report, compared_path: Path, compared: Report, output: str) -> None:
    """The two backtests side by side: a table, or JSON with both reports and the figures."""
    figures = compare(baseline, compared)
    if output == "json":
        both = {
            "baseline": {"policy": str(baseline_path), "report": baseline.as_dict()},
            "compared": {"policy": str(compared_path), "report": compared.as_dict()},
            "comparison": [figure.as_dict() for figure in figures],
        }
        click.echo(orjson.dumps(both, option=orjson.OPT_INDENT_2).decode())
        return
    names = (baseline_path.name, compared_path.name) if baseline_path.name != compared_path.name else (str(baseline_path), str(compared_path))
    table = Table("", *names, "difference", title=f"Backtest comparison up to {baseline.as_dict()['until']}")
    for figure in figures:
        table.add_row(figure.name, _shown(figure.unit, figure.baseline), _shown(figure.unit, figure.compared), _difference(figure))
    Console().print(table)


def _shown(unit: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" if unit == "rate" else f"{value:,.2f}" if unit == "money" else f"{value:,.0f}"


def _difference(figure: Figure) -> str:
    """compared - baseline: in percentage points for rates."""
    if figure.baseline is None or figure.compared is None:
        return "-"
    change = figure.compared - figure.baseline
    return f"{change * 100:+.1f} pts" if figure.unit == "rate" else f"{change:+,.2f}" if figure.unit == "money" else f"{change:+,.0f}"


def _in_workers(events: Path, policy, workers: int, until: float | None, limits: Limits, mapping, time_format, phase) -> Report:
    """The backtest in ``workers`` processes; a file that cannot be read is a one-line error."""
    try:
        columns = ColumnMap.parse(mapping, time_format)
        return backtest_in_workers(
            events, policy, workers, until=until, columns=columns, limits=limits, now=time.time(),
            on_lines=phase("reading lines"), on_events=phase("replaying events"),
        )  # fmt: skip
    except (EventFileError, HistoryError) as error:
        raise CommandError(str(error)) from None


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
    tables = [summary, _counts("Stage entries (triggers)", figures["triggers"])]
    if any(figures["predictive_triggers"].values()):
        tables.append(_counts("Of those, started by the predictive trigger", figures["predictive_triggers"]))
    tables.append(_counts("Messages", figures["commands"]))
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
