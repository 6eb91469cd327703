"""Pipeline throughput of the worker beside its peers: one local broker, one backlog, one run.

The backlog is a generated shop history (``generate_history``), published twice: unkeyed to
the input topics (as many shops send it; the processor repartitions by customer) and keyed by
customer to a copy of them (``keyed.*``, as many partitions as the worker's internal topics).
Each entry below is a separate process (or two) that reads the whole backlog from the start.
The machine is shared, so only ratios mean much; the load average is printed with them.

Every entry is timed the same way (benchmarks/progress.py): from outside, polling every 50 ms
how many records it has done, from the first poll that sees one done to the first that sees
all of them done (start-up and group join are not counted).  Records done are the records
on its output topic (one per input), or for the worker its ``winback_events_applied_total``
metric.  CPU µs per record: user + system time of its processes (/proc/<pid>/stat, all
threads, a JVM's compiler and GC included) over the same window.  State bytes per customer:
the files of its state directory after a clean stop, over the customers in the backlog.

1. **aiokafka relay** (benchmarks/peers/aiokafka_relay.py): the baseline.  Batches of
   ``getmany``, every record sent as bytes without awaiting delivery, one flush per batch.
   Run first and last; the baseline is the mean of the two.
2. **Faust relay** (benchmarks/peers/faust_relay.py): a Faust agent configured as the worker
   is, sending each record on with ``topic.send``; no table.  The ceiling of per-event Faust.
3. **winback worker**: the real ``winback worker`` (RocksDB store, clock frozen at the start of
   the history, log level info), on the unkeyed input (ingest repartitions it) and on the keyed
   copy with ``WINBACK_INPUT_KEYED=true`` (no repartition stage); each with one worker and with
   two (two processes in one group, started together).
4. **Quix Streams** (benchmarks/peers/quix/activity_job.py, its own virtualenv): the same
   shape as the worker's hot path: decode JSON, count + last event time per customer in its
   RocksDB state, one output record per input; keyed, and re-keyed with ``group_by``.
5. **Kafka Streams** (benchmarks/peers/kafka-streams, Java, one stream thread): the same
   shape with a persistent KeyValueStore; keyed, and re-keyed with ``selectKey`` +
   ``repartition``.  Built with ``mvn -q package`` when its jar is missing.

Why the frozen clock: the history arrives all at once, so under the wall clock every applied
event would leave its customer overdue and the scheduler would send a due tick for each, which
live traffic never causes.  The scheduler's own cost is benchmarks/scheduler_tick.py.

    python benchmarks/pipeline.py [--customers 700] [--days 365] [--partitions 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition

from streams.admin.topics import ensure_topics
from streams.devtools.publisher import publish
from streams.devtools.spawn import WorkerProcess, free_port, worker_env
from streams.devtools.traffic import generate_history
from streams.runtime.settings import Settings

from progress import Window, bytes_under, watch
from scratch_broker import scratch_broker

HISTORY_START = datetime(2024, 1, 1, tzinfo=timezone.utc)
PEERS = Path(__file__).parent / "peers"
QUIX_PYTHON = PEERS / "quix" / ".venv" / "bin" / "python"
STREAMS_PROJECT = PEERS / "kafka-streams"
STREAMS_JAR = STREAMS_PROJECT / "target" / "kafka-streams-peer.jar"
BUDGET_SECONDS = 540  # the whole benchmark must end within 10 minutes on a loaded machine


@dataclass
class Run:
    """A timed entry's processes, how to ask how many records it has done, and its state."""

    processes: list[subprocess.Popen]
    done: Callable[[], Awaitable[int]]
    logs: list[Path]
    state: list[Path] = field(default_factory=list)

    def alive(self) -> bool:
        return all(process.poll() is None for process in self.processes)

    def end(self) -> None:
        for process in self.processes:
            terminate(process)


@dataclass(frozen=True)
class Result:
    name: str
    window: Window | None
    state_bytes: int | None = None
    missing: str = ""  # why there is no figure


class Bench:
    """The broker, the backlog's topics and a scratch directory shared by every entry."""

    def __init__(self, settings: Settings, keyed: Settings, workdir: Path, expected: int):
        self.settings, self.keyed, self.workdir, self.expected = settings, keyed, workdir, expected
        self.bootstrap = ",".join(settings.bootstrap_servers)  # the peers' command line
        self.deadline = time.monotonic() + BUDGET_SECONDS
        self.closers: list[Callable[[], Awaitable[None]]] = []  # the current entry's output counters

    def inputs(self, keyed: bool) -> str:
        return ",".join((self.keyed if keyed else self.settings).input_topics.values())

    async def output(self, name: str) -> tuple[str, Callable[[], Awaitable[int]]]:
        """A fresh output topic, and a count of the records on it (the sum of its end offsets)."""
        topic = f"bench.out.{name}"
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.bootstrap_servers)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, self.settings.partitions, 1)])
        finally:
            await admin.close()
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.bootstrap_servers, enable_auto_commit=False)
        await consumer.start()
        partitions = [TopicPartition(topic, p) for p in range(self.settings.partitions)]

        async def records() -> int:
            return sum((await consumer.end_offsets(partitions)).values())

        self.closers.append(consumer.stop)
        return topic, records

    def spawn(self, name: str, command: list[str], done: Callable[[], Awaitable[int]], state: list[Path] | None = None) -> Run:
        """One process, its output in ``name``.log in the scratch directory."""
        log = self.workdir / f"{name}.log"
        with open(log, "ab") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=self.workdir)
        return Run([process], done, [log], state or [])

    async def time(self, name: str, start: Callable[[], Awaitable[Run]]) -> Result:
        """Start an entry, watch it until it has done the whole backlog, stop it, and measure.
        Each entry may take what is left of the budget, and at least a minute."""
        run: Run | None = None
        try:
            run = await start()
            pids = [process.pid for process in run.processes]
            window = await watch(run.done, pids, self.expected, max(self.deadline - time.monotonic(), 60), run.alive)
            run.end()
            return Result(name, window, bytes_under(run.state) if run.state else None)
        except (RuntimeError, TimeoutError) as error:
            logs = "\n".join(tail(log) for log in run.logs) if run else ""
            print(f"{name}: {error}\n{logs}", file=sys.stderr)
            return Result(name, None, missing=str(error).splitlines()[0])
        finally:
            if run is not None:
                run.end()
            for close in self.closers:
                await close()
            self.closers.clear()

    async def relay(self, name: str) -> Run:
        topic, records = await self.output(name)
        script = str(PEERS / "aiokafka_relay.py")
        return self.spawn(name, [sys.executable, script, self.bootstrap, name, self.inputs(False), topic], records)

    async def faust_relay(self) -> Run:
        topic, records = await self.output("faust-relay")
        data = self.workdir / "faust-relay-data"
        command = [sys.executable, str(PEERS / "faust_relay.py"), self.bootstrap, "bench-faust-relay",
                   self.inputs(False), topic, str(data), str(free_port())]
        return self.spawn("faust-relay", command, records)

    async def worker(self, keyed: bool, count: int) -> Run:
        name = f"bench-worker-{'keyed' if keyed else 'unkeyed'}-{count}"
        source = self.keyed if keyed else self.settings
        settings = source.model_copy(update={"app_id": name, "topic_events": f"{name}.events", "topic_due": f"{name}.due"})
        await ensure_topics(settings)
        env = {
            **worker_env(settings),
            "WINBACK_STORE": "rocksdb",
            "WINBACK_CLOCK": f"fixed:{HISTORY_START.isoformat()}",
            "WINBACK_LOG_LEVEL": "info",
        }
        workers = [WorkerProcess(env, self.workdir / name, f"worker-{number}").launch() for number in range(count)]

        async def applied() -> int:
            return round(sum(await asyncio.gather(*(asyncio.to_thread(applied_by, worker) for worker in workers))))

        state = [Path(worker.env["WINBACK_DATA_DIR"]) for worker in workers]
        return Run([worker.process for worker in workers if worker.process], applied, [worker.log_path for worker in workers], state)

    async def quix(self, keyed: bool) -> Run:
        name = f"quix-{'keyed' if keyed else 'group-by'}"
        topic, records = await self.output(name)
        state = self.workdir / f"{name}-state"
        command = [str(QUIX_PYTHON), str(PEERS / "quix" / "activity_job.py"), self.bootstrap, f"bench-{name}",
                   "keyed" if keyed else "repartition", self.inputs(keyed), topic, str(state)]
        return self.spawn(name, command, records, [state])

    async def kafka_streams(self, keyed: bool) -> Run:
        name = f"kafka-streams-{'keyed' if keyed else 'repartition'}"
        topic, records = await self.output(name)
        state = self.workdir / f"{name}-state"
        command = ["java", "-Xmx512m", "-jar", str(STREAMS_JAR), self.bootstrap, f"bench-{name}",
                   "keyed" if keyed else "repartition", self.inputs(keyed), topic, str(state), str(self.settings.partitions)]
        return self.spawn(name, command, records, [state])


def applied_by(worker: WorkerProcess, patience: float = 300.0) -> float:
    """Events a worker has applied; none while its web server is not up yet (it serves its page
    before it consumes).  A worker too busy to answer within the page's timeout is asked again,
    so the answer, and the poll's time, come when it is done, not a 0 that never was."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            return worker.metric("winback_events_applied_total")
        except TimeoutError:
            continue
        except ConnectionError:
            return 0
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                continue
            if isinstance(error.reason, ConnectionError):
                return 0
            raise
    raise RuntimeError(f"{worker.log_path.stem} did not answer its metrics page for {patience:.0f} s")


def terminate(process: subprocess.Popen) -> None:
    """SIGTERM and wait for a clean stop (state flushed); SIGKILL after 30 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def keyed_copy(settings: Settings) -> Settings:
    """The settings with ``keyed.``-prefixed input topics, where the backlog goes keyed by
    customer, and a worker that reads them without repartitioning (``WINBACK_INPUT_KEYED``)."""
    topics = {name: f"keyed.{getattr(settings, name)}" for name in ("topic_purchases", "topic_logins", "topic_email", "topic_profiles")}
    return settings.model_copy(update={**topics, "input_keyed": True})


def kafka_streams_jar() -> str:
    """Why the Kafka Streams peer cannot run, or "" once its jar is built (``mvn -q package``)."""
    if not STREAMS_JAR.exists():
        build = subprocess.run(["mvn", "-q", "-B", "package"], cwd=STREAMS_PROJECT, capture_output=True, text=True)
        if build.returncode != 0:
            return f"n/a (mvn package failed: {(build.stdout + build.stderr).strip().splitlines()[-1:]})"
    return ""


async def run_all(bench: Bench) -> list[Result]:
    """Every entry in turn, the slowest last; the relay first and last."""
    missing_quix = "" if QUIX_PYTHON.exists() else "n/a (make bench installs benchmarks/peers/quix/.venv)"
    missing_streams = kafka_streams_jar()
    entries: list[tuple[str, Callable[[], Awaitable[Run]], str]] = [
        ("aiokafka relay, before", lambda: bench.relay("relay-before"), ""),
        ("Faust relay (no table)", bench.faust_relay, ""),
        ("Kafka Streams, keyed", lambda: bench.kafka_streams(keyed=True), missing_streams),
        ("Kafka Streams, repartition", lambda: bench.kafka_streams(keyed=False), missing_streams),
        ("Quix Streams, keyed", lambda: bench.quix(keyed=True), missing_quix),
        ("Quix Streams, group_by", lambda: bench.quix(keyed=False), missing_quix),
        ("winback worker, keyed, 1 worker", lambda: bench.worker(keyed=True, count=1), ""),
        ("winback worker, keyed, 2 workers", lambda: bench.worker(keyed=True, count=2), ""),
        ("winback worker, repartition, 1 worker", lambda: bench.worker(keyed=False, count=1), ""),
        ("winback worker, repartition, 2 workers", lambda: bench.worker(keyed=False, count=2), ""),
        ("aiokafka relay, after", lambda: bench.relay("relay-after"), ""),
    ]
    results = []
    for name, start, missing in entries:
        results.append(Result(name, None, missing=missing) if missing else await bench.time(name, start))
        print(f"  {name}: {results[-1].missing or f'{results[-1].window.events_per_second:,.0f} events/s'}", flush=True)
    return results


def table(results: list[Result], customers: int) -> str:
    """The results as a Markdown table, rates also as ratios to the mean of the two relay runs."""
    relays = [r.window.events_per_second for r in results if r.name.startswith("aiokafka relay") and r.window]
    baseline = sum(relays) / len(relays) if relays else float("nan")
    lines = [
        "| pipeline | events/s | / relay | CPU µs/record | state bytes/customer | timed |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        if result.window is None:
            lines.append(f"| {result.name} | {result.missing} | | | | |")
            continue
        window = result.window
        state = f"{result.state_bytes / customers:,.0f}" if result.state_bytes is not None else "-"
        lines.append(
            f"| {result.name} | {window.events_per_second:,.0f} | {window.events_per_second / baseline:.2f}x | "
            f"{window.cpu_us_per_record:,.0f} | {state} | {window.records:,} in {window.seconds:.1f} s |"
        )
    return "\n".join([*lines, f"(relay baseline: mean of {len(relays)} runs, {baseline:,.0f} records/s)", *scale_out(results)])


def scale_out(results: list[Result]) -> list[str]:
    """Two workers' rate over one worker's, for the keyed and the repartitioned input (target >= 1.8)."""
    rates = {result.name: result.window.events_per_second for result in results if result.window}
    lines = []
    for mode in ("keyed", "repartition"):
        one, two = rates.get(f"winback worker, {mode}, 1 worker"), rates.get(f"winback worker, {mode}, 2 workers")
        if one and two:
            lines.append(f"scale-out, {mode}: 2 workers drain {two / one:.2f}x as fast as 1")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=700, help="customers in the generated history")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--partitions", type=int, default=8)
    args = parser.parse_args()

    began = time.monotonic()
    with scratch_broker("pipeline", args.partitions, heap="1g") as (settings, workdir):
        keyed = keyed_copy(settings)
        asyncio.run(ensure_topics(keyed))
        events = generate_history(args.customers, args.days, seed=7, start=HISTORY_START)
        customers = len({event.customer_id for event in events})
        produced = asyncio.run(publish(settings, events))
        asyncio.run(publish(keyed, events, keyed=True))
        print(f"backlog: {produced:,} records of {customers:,} customers over {args.days} days, unkeyed and keyed, "
              f"{args.partitions} partitions; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
        results = asyncio.run(run_all(Bench(settings, keyed, workdir, produced)))
    print(table(results, customers))
    print(f"load average {os.getloadavg()[0]:.1f} at the end; elapsed {time.monotonic() - began:,.0f} s")


if __name__ == "__main__":
    main()
