"""Running ``tests.support.kpi_history`` through the backtest and a real worker on the event
clock, for the tests that compare the live KPIs with the backtest's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from streams.backtest.report import Report
from streams.backtest.run import run_backtest
from streams.devtools import testing
from streams.devtools.spawn import WorkerProcess
from streams.model.events import topic_kind
from streams.runtime.settings import Settings
from tests.support import kpi_history as history
from tests.support.builders import policy
from tests.support.kafka_io import produce, published_id, read_until


@dataclass(frozen=True)
class Replay:
    """The history's event lines, the backtest's report and record ids, and its policy as a file."""

    lines: list[bytes]
    backtest: Report
    expected_ids: set[str]
    policy_file: Path


def backtest_history(workdir: Path) -> Replay:
    lines = testing.event_lines(history.HISTORY)
    ids: set[str] = set()
    backtest = run_backtest(lines, policy(history.POLICY), on_record=lambda _, record: ids.add(record.id))
    policy_file = workdir / "policy.yaml"
    policy_file.write_text(history.POLICY)
    return Replay(lines, backtest, ids, policy_file)


def start_worker(worker_factory: Callable[..., WorkerProcess], replay: Replay) -> WorkerProcess:
    """A worker on the event clock under the history's policy."""
    return worker_factory(
        WINBACK_CLOCK="event", WINBACK_CLOCK_IDLE_SECONDS="1", WINBACK_TICK_SECONDS="0.2", WINBACK_POLICY=str(replay.policy_file)
    )


async def publish_history(settings: Settings, replay: Replay, extra: list[tuple[str, bytes | None, bytes]] = []) -> list:
    """Produce ``extra`` records and the history onto the input topics; the published records,
    read until every record the backtest made is among them."""
    await produce(settings.broker, [
        *extra,
        *((settings.input_topics[topic_kind(event)], event.customer_id.encode(), line)
          for event, line in zip(history.HISTORY, replay.lines)),
    ])
    return await read_until(
        settings.broker, settings.output_topics, lambda got: {published_id(r) for r in got} >= replay.expected_ids, timeout=60
    )
