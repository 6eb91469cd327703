"""A backtest shared by several processes, some of the customers each, with the same report.

Customers are independent.  The parent reads and files the file once (``history``) and deals
its customers, still undecoded, among the workers (``EventLog.parts``), each of which decodes
and replays its own.  The report's end (``until``, by default the latest event of the whole
log) is known only once every worker has replayed, so a run has two rounds: each worker replays
its customers and says its latest event; the parent sends every worker the end; each fires
what is due up to it, counts its customers and sends back its tally (``shard_report``), which
the parent merges as one process would have counted the whole log: the report, sums of money
included, is the same to the byte.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable, NamedTuple, cast

from streams.backtest.event_log import EventLog
from streams.backtest.history import ColumnMap, read_history
from streams.backtest.report import COUNTING, Report
from streams.backtest.run import finish, replay_log, without_gc
from streams.backtest.shard_report import ShardReport, ShardTally, merged
from streams.core.engine import Engine
from streams.core.kpis import KpiTally
from streams.model.codec import DEFAULT_LIMITS, Limits, Rejection
from streams.policy.sections import Policy


class ShardResult(NamedTuple):
    """What one worker sends back: its counts, rejected lines (numbered in the log) and the
    tally of its customers."""

    events: int
    duplicates: int
    after_until: int
    customers: int
    rejections: list[tuple[int, Rejection]]
    tally: ShardTally


class Progress(NamedTuple):
    """A worker's news for a progress bar: ``events`` more events replayed."""

    events: int


def backtest_in_workers(
    path: Path,
    policy: Policy,
    workers: int,
    *,
    until: float | None = None,
    columns: ColumnMap | None = None,
    limits: Limits = DEFAULT_LIMITS,
    now: float,
    on_lines: Callable[[int], None] = lambda count: None,
    on_events: Callable[[int], None] = lambda count: None,
) -> Report:
    """``backtest_history`` of the file at ``path`` in ``workers`` processes; raises
    ``EventFileError`` or ``HistoryError`` when it cannot be read.  ``on_lines`` and ``on_events``
    hear of the lines read and the events replayed."""
    context = multiprocessing.get_context()
    links: list[Connection] = []
    processes = []
    for index in range(workers):  # started first: they fork before the parent holds the history
        parent, child = context.Pipe()
        process = context.Process(target=_work, args=(child, policy, until), name=f"backtest-{index}", daemon=True)
        process.start()
        child.close()
        links.append(parent)
        processes.append(process)
    try:
        with without_gc():
            try:
                history = read_history([path], columns, limits=limits, now=now, on_lines=on_lines)
            except BaseException:
                for link in links:
                    link.send(None)  # no part: the worker stops
                raise
            for link, part in zip(links, history.log.parts(workers)):
                link.send(part)
        news = _Listener(links, on_events)
        latest = news.answers()
        end = until if until is not None else max((time for time in latest if time is not None), default=None)
        for link in links:
            link.send(end)
        results: list[ShardResult] = news.answers()
    finally:
        for process in processes:
            process.join()
    return _merged(policy, results, end, history.line_in_file)


class _Listener:
    """Reads every worker's messages as they come (a worker that is not read from would block on
    a full pipe), passing progress on, until each has sent its answer."""

    def __init__(self, links: list[Connection], on_events: Callable[[int], None]) -> None:
        self.links = links
        self.on_events = on_events

    def answers(self) -> list[Any]:
        """Each worker's next answer, in worker order."""
        answers: dict[int, Any] = {}
        waiting = dict(enumerate(self.links))
        while waiting:
            for ready in wait(list(waiting.values())):
                link = cast(Connection, ready)
                index = self.links.index(link)
                try:
                    message = link.recv()
                except EOFError:  # the worker died without a word (killed, out of memory)
                    raise RuntimeError(f"backtest worker {index} stopped before it finished") from None
                if isinstance(message, Progress):
                    self.on_events(message.events)
                else:
                    answers[index] = message
                    del waiting[index]
        return [answers[index] for index in range(len(self.links))]


def _work(link: Connection, policy: Policy, until: float | None) -> None:
    """One worker: replay the customers of the part it is sent, say the latest event, finish at the end it is given."""
    with without_gc():
        part: EventLog | None = link.recv()
        if part is None:  # the parent could not read the file
            return
        report = ShardReport(kpis=KpiTally(policy.economics))
        engine = Engine(policy, COUNTING)
        replayed, latest = replay_log(engine, part, until, report, lambda count: link.send(Progress(count)))
        link.send(latest)
        end = link.recv()
        for customer in finish(engine, replayed, end) if end is not None else ():
            report.count_finished(customer)
        link.send(ShardResult(report.events, report.duplicates, report.after_until, report.customers, part.rejections, report.tally()))


def _merged(policy: Policy, results: list[ShardResult], until: float | None, line_in_file: Callable[[int], int]) -> Report:
    """One report of every shard's, as one process would have counted it (rejected lines
    numbered in their file)."""
    report = merged(policy.economics, [result.tally for result in results], until)
    for result in results:
        report.events += result.events
        report.duplicates += result.duplicates
        report.after_until += result.after_until
        report.customers += result.customers
    for number, rejection in sorted((rejection for result in results for rejection in result.rejections), key=_line_number):
        report.reject(line_in_file(number), rejection)
    return report


def _line_number(rejection: tuple[int, Rejection]) -> int:
    return rejection[0]
