"""A report counted in shards (one per backtest worker) and merged into the one a single process counts.

Most of a report is counts, which add up the same in any order.  What does not is money: a
float sum depends on the order of its terms, and a holdout's revenue is summed over its arms
in the order the arms first appeared.  So each worker counts its own customers
(``ShardReport``) but for their conversions, which it keeps aside in the log's customer order,
and notes which customer each new key (a campaign group, a funnel row, a custom channel...)
first appeared with.  The parent makes every key in that order, adds the counts, then counts
the conversions of every shard in the log's order: the same report to the byte, while the
workers do nearly all the counting and send back a few dicts instead of every record.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Callable, NamedTuple, Sequence

from streams.backtest.report import Counted, GroupFigures, Report
from streams.backtest.run import Finished, count_customer
from streams.core.kpis import Arm, Converted, FunnelRow, KpiTally
from streams.model.records import Outcome, Record
from streams.policy.sections import Economics

ORDERED = (Outcome, Converted)  # what is counted in the log's order: conversions carry the money
_TOTALS = ("erasures", "retractions", "cancels", "sent_in_error", "state_bytes")


class ShardTally(NamedTuple):
    """What a worker sends back of its report: totals, keyed figures (``_keyed``'s order), each
    keyed figure's new keys as (customer order, key), a customer's in the order it made them, and the conversions kept aside."""

    totals: list[int]
    keyed: list[dict[Any, Any]]
    first_seen: list[list[tuple[int, Any]]]
    conversions: list[tuple[int, Record | Counted]]


@dataclass(eq=False)
class ShardReport(Report):
    """A worker's report: counts everything but conversions, which wait for the parent (``merged``)."""

    conversions: list[tuple[int, Record | Counted]] = field(default_factory=list)
    first_seen: list[list[tuple[int, Any]]] = field(default_factory=list)
    _order: int = field(default=0, init=False, repr=False)  # the customer being counted

    def __post_init__(self) -> None:
        super().__post_init__()
        self._keyed = [figures for figures, _ in _keyed(self)]  # the report's keyed figures (never replaced)
        self.first_seen = self.first_seen or [[] for _ in self._keyed]

    def count_finished(self, customer: Finished) -> None:
        """Count one finished customer (customers come in the log's order), noting the keys they add."""
        sizes = [len(figures) for figures in self._keyed]
        self._order = customer.order
        count_customer(self, customer)
        for figures, size, seen in zip(self._keyed, sizes, self.first_seen):
            if len(figures) > size:
                seen.extend((customer.order, key) for key in islice(figures, size, None))

    def count_all(self, records: Sequence[Record | Counted]) -> None:
        """Each record at once: a shard notes the keys each customer makes (``count_finished``)."""
        for record in records:
            self.count(record)

    def count(self, record: Record | Counted) -> None:
        if isinstance(record, ORDERED):
            self.reserve(record)
            self.conversions.append((self._order, record))
        else:
            super().count(record)

    def tally(self) -> ShardTally:
        return ShardTally([getattr(self, name) for name in _TOTALS], self._keyed, self.first_seen, self.conversions)


def merged(economics: Economics, tallies: list[ShardTally], until: float | None) -> Report:
    """One report of every shard's tally (events, customers and rejections are the caller's):
    keys made in the order one process would have made them, counts added, conversions
    counted in the log's order."""
    report = Report(kpis=KpiTally(economics), until=until)
    for name, *amounts in zip(_TOTALS, *(tally.totals for tally in tallies)):
        setattr(report, name, sum(amounts))
    for index, (figures, blank) in enumerate(_keyed(report)):
        for _, key in sorted((seen for tally in tallies for seen in tally.first_seen[index]), key=_first):  # stable: a customer's keys stay in order
            if key not in figures:
                figures[key] = blank()
        for tally in tallies:
            for key, value in tally.keyed[index].items():
                if isinstance(value, int):
                    figures[key] += value
                else:
                    figures[key].add(value)
    for _, record in heapq.merge(*(tally.conversions for tally in tallies), key=_first):
        report.count(record)
    return report


def _keyed(report: Report) -> list[tuple[dict[Any, Any], Callable[[], Any]]]:
    """The report's figures by key, each a dict whose order of keys can show in the report, and
    what a new key's figures start as."""
    counters = (report.triggers, report.predictive_triggers, report.commands, report.stages, report.skips, report.skip_actions)
    kpis = report.kpis
    return [*((counter, int) for counter in counters), (report.groups, GroupFigures), (kpis.arms, Arm), (kpis.rows, FunnelRow)]


def _first(item: tuple[int, Any]) -> int:
    return item[0]
