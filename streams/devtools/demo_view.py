"""The demo's live view: one screen that fits 80x24 and uses more room when there is more.

Top: how fast the event clock runs and how far the replay is.  Middle: the funnel by stage
(customers in each stage now, and triggers), commands per channel of the policy (its own
channels too, the section as wide as their names need), conversions per campaign.
Bottom, growing with the terminal: skips with their reasons, the latest commands and the dead
letters.  Each section lays out only the rows its space holds and says how many it left out,
so nothing is cut off mid-table; a wide terminal adds columns (the revenue of conversions,
the channel and offer of the latest commands).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Callable, Protocol

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.layout import Layout
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from streams.devtools.demo_watch import Observed
from streams.model.records import STAGES, MessageCommand


class Replay(Protocol):
    """What the header says of the replay (``demo.DemoConfig`` has it; the view does not import
    the demo, which imports the view)."""

    @property
    def customers(self) -> int: ...
    @property
    def days(self) -> int: ...
    @property
    def rate(self) -> float: ...


HEADER_ROWS = 4  # two lines in a panel
MIDDLE_ROWS = 7  # the funnel: a header line and four stages in a panel
COMMANDS_WIDTH = 16  # the commands section's: the built-in channels beside counts up to 99,999
DEAD_LETTER_ROWS = 5  # at least: the two reasons the demo's malformed records have, and one detail
Row = tuple[str, ...]


def render(observed: Observed, config: Replay) -> Layout:
    """The whole screen for what has been observed so far."""
    screen = Layout()
    screen.split_column(
        Layout(_header(observed, config), size=HEADER_ROWS),
        Layout(name="middle", size=MIDDLE_ROWS),
        Layout(name="bottom", ratio=1),
    )
    screen["middle"].split_row(
        Layout(_Section("Funnel by stage", lambda room, _: _funnel(observed, room)), size=31),
        _commands_section(observed),
        Layout(_Section("Conversions", lambda room, width: _conversions(observed, room, width))),
    )
    screen["bottom"].split_row(
        Layout(_Section("Skips, by reason", lambda room, _: _skips(observed, room)), size=30),
        Layout(name="side"),
    )
    screen["bottom"]["side"].split_column(
        Layout(_Section("Latest commands", lambda room, width: _latest_commands(observed, room, width)), ratio=2),
        Layout(_Section("Dead letters", lambda room, _: _dead_letters(observed, room)), minimum_size=DEAD_LETTER_ROWS),
    )
    return screen


class _Section:
    """A titled panel whose content is made for the rows and columns the layout gives it."""

    def __init__(self, title: str, content: Callable[[int, int], RenderableType], padding: int = 1):
        self.title = title
        self.content = content
        self.padding = padding  # columns between each border and the content

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height or console.height
        rows, width = max(height - 2, 0), options.max_width - 2 - 2 * self.padding  # inside the borders and the padding
        yield Panel(self.content(rows, width), title=self.title, title_align="left", padding=(0, self.padding), height=height)


def _header(observed: Observed, config: Replay) -> Panel:
    """Event time and speed, then how far the replay is: two lines that never wrap."""
    speed = config.rate * config.days / observed.total if observed.total else 0.0
    clock = (
        f"Event time {_day(observed.decided_up_to)} (sent: {_day(observed.sent_up_to)})"
        f" · accelerated, 1 s ≈ {speed:.1f} days"
    )
    sent = f"all {observed.total:,}" if observed.replay_done else f"{observed.sent:,} of {observed.total:,}"
    replay = (
        f"Sent {sent} events · {config.customers:,} customers, {config.days} days, {config.rate:.0f}/s"
        f" · up {_elapsed(observed.started)}"
    )
    lines = [Text(line, no_wrap=True, overflow="ellipsis") for line in (clock, replay)]
    return Panel(
        Group(*lines), title="winback demo · fresh start · policy.full.yaml", title_align="left",
        subtitle="Ctrl-C stops everything", subtitle_align="right", padding=(0, 1),
    )


def _funnel(observed: Observed, room: int) -> Table:
    now = observed.customers_per_stage()
    rows = [(stage, f"{now[stage]:,}", f"{observed.triggers[stage]:,}" if stage != "active" else "") for stage in STAGES]
    return _table(("stage", "now", "triggers"), rows, room, numbers=2)


def _commands(observed: Observed, room: int) -> Table:
    rows = [(channel, f"{observed.commands[channel]:,}") for channel in observed.channels]
    return _table(("channel", "sent"), rows, room, numbers=1, header=False)


def _commands_section(observed: Observed) -> Layout:
    """The commands section, ``COMMANDS_WIDTH`` wide or as wide as the longest channel name
    beside the widest count needs: a policy's own ``app_inbox`` fits, without padding, in one
    column more, which the conversions beside it can spare on 80 columns; a longer name takes
    more from them."""
    counts = max(len(f"{count:,}") for count in [0, *observed.commands.values()])
    content = max(map(len, observed.channels)) + 1 + counts
    padding = 1 if content + 4 <= COMMANDS_WIDTH else 0
    section = _Section("Commands", lambda room, _: _commands(observed, room), padding)
    return Layout(section, size=max(COMMANDS_WIDTH, content + 2 + 2 * padding))


def _skips(observed: Observed, room: int) -> Table:
    rows = [
        (reason, action.replace("_", " "), f"{count:,}")
        for (reason, action), count in observed.skips.most_common()
    ]
    return _table(("reason", "action", "steps"), rows, room, numbers=1)


def _conversions(observed: Observed, room: int, width: int) -> Table:
    """Per campaign: conversions of customers who got its messages and of its holdout; the revenue if it fits."""
    rows = [
        (campaign, f"{observed.conversions[campaign, False]:,}", f"{observed.conversions[campaign, True]:,}",
         f"{observed.revenue[campaign]:,.0f}")
        for campaign in sorted({campaign for campaign, _ in observed.conversions})
    ]
    columns, rows = _narrowed(("campaign", "treated", "holdout", "revenue"), rows, width, keep=3)
    return _table(columns, rows, room, numbers=len(columns) - 1)


def _latest_commands(observed: Observed, room: int, width: int) -> Table:
    """Newest first, as many as fit; the channel and the offer if they fit."""
    rows = [
        (command.due_at.strftime("%Y-%m-%d"), command.customer_id, command.template, command.channel, _offer(command))
        for command in reversed(observed.latest_commands)
    ][: max(room - 1, 0)]  # below the header line
    columns, rows = _narrowed(("due", "customer", "template", "channel", "offer"), rows, width, keep=3)
    return _table(columns, rows, room, numbers=0)


def _dead_letters(observed: Observed, room: int) -> Group:
    """Counts by reason first, then as many of the latest rejections' details as fit."""
    counts = [(reason, f"{count:,}") for reason, count in observed.dead_letters.most_common()]
    reasons = _table(("reason", "records"), counts, room, numbers=1, header=False)
    details = list(observed.latest_dead_letters)[::-1][: max(room - len(reasons.rows), 0)]
    return Group(reasons, *(Text(detail, style="dim", no_wrap=True, overflow="ellipsis") for detail in details))


def _table(columns: Row, rows: list[Row], room: int, numbers: int, header: bool = True) -> Table:
    """A borderless table of at most ``room`` lines, its header line included; its last
    ``numbers`` columns are counts, aligned right."""
    table = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, show_header=header, header_style="bold dim")
    for position, name in enumerate(columns):
        justify = "right" if position >= len(columns) - numbers else "left"
        table.add_column(name, no_wrap=True, overflow="ellipsis", justify=justify, min_width=len(name) if header else None)
    for row in _fit(rows, room - header):
        table.add_row(*row)
    return table


def _narrowed(columns: Row, rows: list[Row], width: int, keep: int) -> tuple[Row, list[Row]]:
    """The leading columns (at least ``keep``) whose widest cells fit side by side in ``width``."""
    widest = [max(len(cell) for cell in column) for column in zip(columns, *rows)]
    count = len(columns)
    while count > keep and sum(widest[:count]) + count - 1 > width:
        count -= 1
    return columns[:count], [row[:count] for row in rows]


def _fit(rows: list[Row], room: int) -> list[Row]:
    """``rows`` if they fit in ``room`` lines; else as many as fit with a last line saying how many are left out."""
    if len(rows) <= room:
        return rows
    kept = rows[: max(room - 1, 0)]
    return [*kept, (f"+{len(rows) - len(kept)} more", *[""] * (len(rows[0]) - 1))] if room > 0 else []


def _offer(command: MessageCommand) -> str:
    offer = command.offer
    if offer is None:
        return ""
    return f"{offer.percent_off}% off" if offer.percent_off else "free shipping"


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else "-"


def _elapsed(since: float) -> str:
    minutes, seconds = divmod(int(time.monotonic() - since), 60)
    return f"{minutes}:{seconds:02d}"
