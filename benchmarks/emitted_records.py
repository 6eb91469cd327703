"""What a record the core emits costs the worker, in the runtime and in the core (issue 21).

benchmarks/worker_ceiling.py found the keyed worker 4-10 µs an event dearer under the example
policy than under benchmarks/never_due_policy.yaml beyond what its core loop measured, and put
that at 20-50 µs for each record the core emits.  This splits that cost in one process, no
broker, on the pipeline benchmark's generated history (``--customers`` of it):

1. the runtime's own work for each emitted record, as the customers handler does it: encode
   it with its headers (``Emitter``'s ``OutputEncoding.encode``, an ``Outgoing``), append it to
   an aiokafka record batch, count it (``metrics.count_published``);
2. the core under each policy (``Engine.apply_at`` over the whole history, CPU per event), and
   what the handler asks of the core for each customer a batch changed (``stage_before``,
   ``Engine.next_due``), per customer.

Best of ``--rounds`` (CPU time).

    python benchmarks/emitted_records.py [--customers 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable

from aiokafka.record.default_records import DefaultRecordBatchBuilder

import pipeline
from streams.core.engine import Engine
from streams.devtools.traffic import generate_history
from streams.model.activity import CustomerActivity
from streams.model.events import AnyInput
from streams.model.positions import Position
from streams.model.records import Record
from streams.policy.loading import default_policy_path, load_policy
from streams.runtime.observability import metrics
from streams.runtime.output_encoding import OutputEncoding
from streams.runtime.partition_batches import Outgoing
from streams.runtime.stage_topic import stage_before

NEVER_DUE = Path(__file__).resolve().parent / "never_due_policy.yaml"


def best_cpu(work: Callable[[], object], rounds: int) -> float:
    """The least CPU time ``work`` took in ``rounds`` runs, in seconds."""
    times = []
    for _ in range(rounds):
        started = time.process_time()
        work()
        times.append(time.process_time() - started)
    return min(times)


def replay(engine: Engine, events: list[AnyInput]) -> tuple[list[Record], dict[str, CustomerActivity]]:
    """Every event applied in order as the worker applies it (fixed clock at the history's start)."""
    applied_at, now = pipeline.HISTORY_START.timestamp(), time.time()
    states: dict[str, CustomerActivity] = {}
    records: list[Record] = []
    for offset, event in enumerate(events):
        customer_id = event.customer_id
        result = engine.apply_at(customer_id, states.get(customer_id), event, event.occurred_at.timestamp(), Position(0, offset), now, applied_at)
        states[customer_id] = result.state
        records.extend(result.records)
    return records, states


def runtime_rows(records: list[Record], rounds: int) -> list[tuple[str, float]]:
    """The runtime's µs for each emitted record: encoding, batching, counting."""
    encoding, now = OutputEncoding(), time.time()
    outgoing = [Outgoing("out", record.customer_id.encode(), *encoding.encode(record, "out")) for record in records]

    def encode() -> None:
        for record in records:
            Outgoing("out", record.customer_id.encode(), *encoding.encode(record, "out"))

    def batch() -> None:
        builder = DefaultRecordBatchBuilder(2, 0, -1, -1, -1, 0, 1 << 30)
        for item in outgoing:
            builder.append(0, None, item.key, item.value, item.headers)
        builder.build()

    pieces = [("encode with headers", encode), ("append to a record batch", batch), ("count (count_published)", lambda: metrics.count_published(records, now))]
    return [(name, best_cpu(work, rounds) / len(records) * 1e6) for name, work in pieces]


def core_row(name: str, policy_path: Path, events: list[AnyInput], rounds: int) -> str:
    """The core under one policy: µs an event, records an event, and µs a changed customer."""
    policy = load_policy(policy_path)
    engine = Engine(policy, catch_up="latest")
    records, states = replay(engine, events)
    per_event = best_cpu(lambda: replay(Engine(policy, catch_up="latest"), events), rounds) / len(events) * 1e6
    customers = list(states.values())
    before = best_cpu(lambda: [stage_before(engine, state) for state in customers], rounds) / len(customers) * 1e6
    due = best_cpu(lambda: [engine.next_due(state) for state in customers], rounds) / len(customers) * 1e6
    return f"| {name} | {per_event:.2f} | {len(records) / len(events):.3f} | {before:.2f} | {due:.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    events = generate_history(args.customers, 365, seed=7, start=pipeline.HISTORY_START)
    records, _ = replay(Engine(load_policy(default_policy_path()), catch_up="latest"), events)
    print(f"{len(events):,} events of {args.customers:,} customers; {len(records):,} records emitted under the example policy")
    print("\n| runtime, per emitted record | µs |\n|---|---:|")
    rows = runtime_rows(records, args.rounds)
    for name, us in rows:
        print(f"| {name} | {us:.2f} |")
    print(f"| all three | {sum(us for _, us in rows):.2f} |")
    print("\n| core, policy | µs an event | records an event | stage_before µs a customer | next_due µs a customer |")
    print("|---|---:|---:|---:|---:|")
    print(core_row("example", default_policy_path(), events, args.rounds))
    print(core_row("never-due", NEVER_DUE, events, args.rounds))


if __name__ == "__main__":
    main()
