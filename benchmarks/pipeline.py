"""Pipeline throughput of the worker beside its peers: one local broker, one backlog, one run.

The backlog is a generated shop history (``generate_history``), published twice: unkeyed to
the input topics (as many shops send it; the processor repartitions by customer) and keyed by
customer to a copy of them (``keyed.*``, as many partitions as the worker's internal topics).
Each entry below is a separate process (or two) that reads the backlog from the start.
The machine is shared, so only ratios mean much; the load average is printed with them.

Every entry is timed the same way (benchmarks/progress.py): from outside, polling every 50 ms
how many records it has done.  Start-up and group join are not counted: the timed window opens
``--warmup`` seconds after the first record done and closes when all are done or after
``--box`` seconds, so the backlog can be large enough for the relay to run for seconds while
the slower entries are timed over a steady part of it.  Each entry's processes run together in
a cgroup capped at ``--entry-cores`` CPUs (benchmarks/cpu_cap.py) with a weight that puts them
ahead of other work, so on a shared machine every entry gets the same CPU and no more (the
broker is not capped, only weighted ahead of other work too); where cgroups are not writable
they get what the machine gives.  Beside each rate: the lowest and
highest rate of the window's single seconds (its spread), and the ratio to each relay run (how
much the machine drifted meanwhile).  Records done are the records on its output topic (one per
input), or for the worker its ``winback_events_applied_total`` metric.  CPU µs per record:
user + system time of its processes (/proc/<pid>/stat, all threads, a JVM's compiler and GC
included) over the same window.  State bytes per customer: the files of its state directory
after a clean stop, over the customers in the backlog (for an entry that did all of it).

1. **aiokafka relay** (benchmarks/peers/aiokafka_relay.py): the baseline.  Batches of
   ``getmany``, every record sent as bytes without awaiting delivery, one flush per batch.
   Run first, midway and last; the baseline is the median of the three.
2. **Faust relay** (benchmarks/peers/faust_relay.py): a Faust agent configured as the worker
   is, sending each record on with ``topic.send``; no table.  The ceiling of per-event Faust.
3. **winback worker**: the real ``winback worker`` (RocksDB store, clock frozen at the start of
   the history, log level info), on the unkeyed input (ingest repartitions it) and on the keyed
   copy with ``WINBACK_INPUT_KEYED=true`` (no repartition stage).
4. **Quix Streams** (benchmarks/peers/quix/activity_job.py, its own virtualenv): the same
   shape as the worker's hot path: decode JSON, count + last event time per customer in its
   RocksDB state, one output record per input; keyed, and re-keyed with ``group_by``.
5. **Kafka Streams** (benchmarks/peers/kafka-streams, Java, one stream thread): the same
   shape with a persistent KeyValueStore; keyed, and re-keyed with ``selectKey`` +
   ``repartition``.  Built with ``mvn -q package`` when its jar is missing.

**Scale-out** (benchmarks/cpu_cap.py): one worker, then two in one group started together,
each in its own cgroup capped at ``--cores`` CPUs, drain the whole backlog, keyed and
repartitioned.  On a shared machine two uncapped workers measure the machine; capped, the
workers are the bottleneck, as in a deployment with a core per worker.  "CPU used / cap" says
whether they were (near 100 %: the cap was what held them back).  Beside the drain time (join
and rebalance included), the group's rate while both workers were applying, and when each
worker did its first and last records.  Skipped, with one line, where cgroups are not writable.

Why the frozen clock: the history arrives all at once, so under the wall clock every applied
event would leave its customer overdue and the scheduler would send a due tick for each, which
live traffic never causes.  The scheduler's own cost is benchmarks/scheduler_tick.py.

    python benchmarks/pipeline.py [--customers 6000] [--days 365] [--partitions 8] [--warmup 0.5]
                                  [--box 10] [--entry-cores 0.5] [--cores 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition

from streams.admin.topics import ensure_topics
from streams.devtools.kafka_local import LocalKafka
from streams.devtools.publisher import publish
from streams.devtools.spawn import WorkerProcess, free_port, worker_env
from streams.devtools.traffic import generate_history
from streams.model.events import AnyInput
from streams.runtime.settings import Settings

from cpu_cap import cpu_capped, unavailable
from progress import Shares, Window, bytes_under, together_rate, watch
from scratch_broker import scratch_broker

HISTORY_START = datetime(2024, 1, 1, tzinfo=timezone.utc)
# Kafka's default: a new group waits 3 s for more members before its first generation, so workers
# started together join together (the local broker's 0 is for fast tests).
PRODUCTION_GROUPS = {"group.initial.rebalance.delay.ms": "3000"}
PEERS = Path(__file__).parent / "peers"
QUIX_PYTHON = PEERS / "quix" / ".venv" / "bin" / "python"
STREAMS_PROJECT = PEERS / "kafka-streams"
STREAMS_JAR = STREAMS_PROJECT / "target" / "kafka-streams-peer.jar"
BUDGET_SECONDS = 540  # the whole benchmark must end within 10 minutes on a loaded machine
CUSTOMERS = 6000  # about 220,000 records: several seconds of the relay at its CPU cap
SCALE_OUT_CAVEAT = """\
Scale-out: each worker in its own cgroup capped at the same CPU share (the broker and this
script not capped), so the workers, not the shared machine, are the bottleneck, as with a core per
worker.  Drain: from the last poll before the first applied event to the one that sees all of
them, the group's join and rebalance included.  All at work: the workers' rates added up while
every one of them was applying (from the last one's first batch to the first one's last), each
timed from batch to batch: what a second worker adds once the group has settled.  It does not
show the broker's or the network's limits, nor cores that are really separate (the capped
workers share the machine's caches and memory bandwidth)."""


@dataclass
class Run:
    """A timed entry's processes, how to ask how many records it has done, and its state."""

    processes: list[subprocess.Popen]
    done: Callable[[], Awaitable[int]]
    logs: list[Path]
    state: list[Path] = field(default_factory=list)
    resources: ExitStack = field(default_factory=ExitStack)  # released once the processes have ended (CPU caps)
    launched: float = field(default_factory=time.monotonic)
    timeline: list[Shares] = field(default_factory=list)  # each process's records done, for a group's

    def alive(self) -> bool:
        return all(process.poll() is None for process in self.processes)

    def end(self) -> None:
        for process in self.processes:
            terminate(process)
        self.resources.close()


@dataclass(frozen=True)
class Timing:
    """How every entry but the scale-out runs is timed: ``warmup`` seconds after its first record
    for at most ``box`` seconds, its processes together capped at ``entry_cores`` CPUs in a
    cgroup of their own (None: as the shared machine gives)."""

    warmup: float
    box: float
    entry_cores: float | None


@dataclass(frozen=True)
class Result:
    name: str
    window: Window | None
    state_bytes: int | None = None
    missing: str = ""  # why there is no figure
    from_launch: float = 0.0  # seconds from starting the processes to the window's end
    timeline: list[Shares] = field(default_factory=list)


class Bench:
    """The broker, the backlog's topics and a scratch directory shared by every entry."""

    def __init__(self, settings: Settings, keyed: Settings, workdir: Path, expected: int, timing: Timing):
        self.settings, self.keyed, self.workdir, self.expected = settings, keyed, workdir, expected
        self.timing = timing
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

    async def time(self, name: str, start: Callable[[], Awaitable[Run]], whole: bool = False) -> Result:
        """Start an entry, watch it until its timed window closes (``whole``: until it has done
        the whole backlog, from its first record), stop it, and measure.  Each entry may take
        what is left of the budget, and at least a minute."""
        run: Run | None = None
        try:
            run = await start()
            pids = [process.pid for process in run.processes]
            if self.timing.entry_cores and not whole:
                group = run.resources.enter_context(cpu_capped(f"bench-entry-{os.getpid()}-{pids[0]}", self.timing.entry_cores))
                for pid in pids:
                    group.add(pid)
            timeout = max(self.deadline - time.monotonic(), 60)
            warmup, box = (0.0, None) if whole else (self.timing.warmup, self.timing.box)
            window = await watch(run.done, pids, self.expected, timeout, run.alive, warmup, box)
            run.end()
            state = bytes_under(run.state) if run.state and window.complete else None
            return Result(name, window, state, from_launch=window.last.at - run.launched, timeline=run.timeline)
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

    async def worker_env(self, name: str, keyed: bool) -> dict[str, str]:
        """The environment of a worker group ``name`` on the keyed or the unkeyed backlog, with
        its own internal topics (made here), RocksDB and a clock before every event."""
        source = self.keyed if keyed else self.settings
        settings = source.model_copy(update={"app_id": name, "topic_events": f"{name}.events", "topic_due": f"{name}.due"})
        await ensure_topics(settings)
        return {
            **worker_env(settings),
            "WINBACK_STORE": "rocksdb",
            "WINBACK_CLOCK": f"fixed:{HISTORY_START.isoformat()}",
            "WINBACK_LOG_LEVEL": "info",
        }

    async def worker(
        self, keyed: bool, count: int, cores: float | None = None, standby: int = 1, policy: Path | None = None
    ) -> Run:
        """``count`` workers in one group, started together, with ``standby`` replicas of each
        table partition; with ``cores``, each in its own cgroup capped at that many CPUs;
        ``policy``: their policy file (``WINBACK_POLICY``; None: the bundled example)."""
        mode = "keyed" if keyed else "unkeyed"
        name = f"bench-worker-{mode}-{count}" if cores is None else f"bench-capped-{mode}-{count}-{standby}"
        if policy is not None:  # a group, and internal topics, of its own
            name += f"-{policy.stem}".replace("_", "-")
        env = await self.worker_env(name, keyed) | {"WINBACK_STANDBY_REPLICAS": str(standby)}
        if policy is not None:
            env["WINBACK_POLICY"] = str(policy)
        resources = ExitStack()
        workers = [WorkerProcess(env, self.workdir / name, f"worker-{number}") for number in range(count)]
        for worker in workers:
            worker.launch()
            if cores is not None:
                assert worker.process is not None
                resources.enter_context(cpu_capped(f"{name}-{os.getpid()}-{worker.process.pid}", cores)).add(worker.process.pid)

        timeline: list[Shares] = []

        async def applied() -> int:
            done = tuple(map(round, await asyncio.gather(*(asyncio.to_thread(applied_by, worker) for worker in workers))))
            timeline.append(Shares(time.monotonic(), done))
            return sum(done)

        state = [Path(worker.env["WINBACK_DATA_DIR"]) for worker in workers]
        processes = [worker.process for worker in workers if worker.process]
        return Run(processes, applied, [worker.log_path for worker in workers], state, resources, timeline=timeline)

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


@dataclass(frozen=True)
class Backlog:
    """The generated history as published: unkeyed on the shop's input topics, keyed on their copies."""

    keyed: Settings  # ``keyed_copy`` of the settings it was published with
    events: list[AnyInput]
    records: int  # published to each of the two sets of topics
    customers: int


def publish_backlog(settings: Settings, customers: int, days: int) -> Backlog:
    """Every benchmark's backlog: ``customers`` simulated over ``days`` days (seeded), published
    twice, unkeyed (the worker repartitions it) and keyed by customer (``keyed_copy``)."""
    keyed = keyed_copy(settings)
    asyncio.run(ensure_topics(keyed))
    events = generate_history(customers, days, seed=7, start=HISTORY_START)
    records = asyncio.run(publish(settings, events))
    asyncio.run(publish(keyed, events, keyed=True))
    return Backlog(keyed, events, records, len({event.customer_id for event in events}))


def kafka_streams_jar() -> str:
    """Why the Kafka Streams peer cannot run, or "" once its jar is built (``mvn -q package``)."""
    if not STREAMS_JAR.exists():
        build = subprocess.run(["mvn", "-q", "-B", "package"], cwd=STREAMS_PROJECT, capture_output=True, text=True)
        if build.returncode != 0:
            return f"n/a (mvn package failed: {(build.stdout + build.stderr).strip().splitlines()[-1:]})"
    return ""


async def run_all(bench: Bench) -> list[Result]:
    """Every entry in turn; the relay first, midway and last."""
    missing_quix = "" if QUIX_PYTHON.exists() else "n/a (make bench installs benchmarks/peers/quix/.venv)"
    missing_streams = kafka_streams_jar()
    entries: list[tuple[str, Callable[[], Awaitable[Run]], str]] = [
        ("aiokafka relay, before", lambda: bench.relay("relay-before"), ""),
        ("Faust relay (no table)", bench.faust_relay, ""),
        ("Kafka Streams, keyed", lambda: bench.kafka_streams(keyed=True), missing_streams),
        ("Kafka Streams, repartition", lambda: bench.kafka_streams(keyed=False), missing_streams),
        ("aiokafka relay, midway", lambda: bench.relay("relay-midway"), ""),
        ("Quix Streams, keyed", lambda: bench.quix(keyed=True), missing_quix),
        ("Quix Streams, group_by", lambda: bench.quix(keyed=False), missing_quix),
        ("winback worker, keyed", lambda: bench.worker(keyed=True, count=1), ""),
        ("winback worker, repartition", lambda: bench.worker(keyed=False, count=1), ""),
        ("aiokafka relay, after", lambda: bench.relay("relay-after"), ""),
    ]
    results = []
    for name, start, missing in entries:
        results.append(Result(name, None, missing=missing) if missing else await bench.time(name, start))
        report(results[-1])
    return results


async def scale_out(bench: Bench, cores: float) -> list[Result]:
    """One worker, then two, each capped at ``cores`` CPUs, draining the whole backlog (keyed,
    then repartitioned); none when processes cannot be capped here."""
    results = []
    for keyed in (True, False):
        mode = "keyed" if keyed else "repartition"
        for count, standby, name in ((1, 1, f"{mode}, 1 worker"), (2, 1, f"{mode}, 2 workers"), (2, 0, f"{mode}, 2 workers, no standby")):
            results.append(await bench.time(name, lambda: bench.worker(keyed, count, cores, standby), whole=True))
            report(results[-1])
    return results


def report(result: Result) -> None:
    """One line as an entry ends, so a long run shows where it is."""
    print(f"  {result.name}: {result.missing or f'{result.window.events_per_second:,.0f} events/s'}", flush=True)


def spread(window: Window) -> str:
    """The lowest and highest rate of the window's seconds, and how many there were."""
    rates = window.slice_rates()
    return f"{min(rates):,.0f}-{max(rates):,.0f} ({len(rates)})"


def table(results: list[Result], customers: int) -> str:
    """The results as a Markdown table, rates also as ratios to the median of the relay runs,
    with the range the relay's own runs give them."""
    relays = [r.window.events_per_second for r in results if r.name.startswith("aiokafka relay") and r.window]
    baseline = statistics.median(relays) if relays else float("nan")
    low, high = (min(relays), max(relays)) if relays else (float("nan"), float("nan"))
    lines = [
        "| pipeline | events/s | per second: low-high (s) | / relay | by relay run | CPU µs/record | state bytes/customer | timed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        if result.window is None:
            lines.append(f"| {result.name} | {result.missing} | | | | | | |")
            continue
        window = result.window
        rate = window.events_per_second
        state = f"{result.state_bytes / customers:,.0f}" if result.state_bytes is not None else "-"
        timed = f"{window.records:,} in {window.seconds:.1f} s{'' if window.complete else ' (boxed)'}"
        lines.append(
            f"| {result.name} | {rate:,.0f} | {spread(window)} | {rate / baseline:.2f}x | {rate / high:.2f}-{rate / low:.2f}x | "
            f"{window.cpu_us_per_record:,.0f} | {state} | {timed} |"
        )
    return "\n".join([*lines, f"(relay baseline: median of {len(relays)} runs, {baseline:,.0f} records/s)"])


def entry_share(timing: Timing, why: str) -> str:
    """The CPU each entry had, as the table's note says it."""
    if timing.entry_cores:
        return f"each entry's processes capped together at {timing.entry_cores:g} CPU, ahead of other work"
    return f"each entry had what the shared machine gave it ({why or 'not capped: --entry-cores 0'})"


def scale_out_table(results: list[Result], cores: float) -> str:
    """Drain times of one and two capped workers, their rates while all of them worked, what the
    second worker adds to each, and how two workers shared the backlog."""
    lines = [
        f"| {cores:g} CPU per worker | drain s | from launch s | events/s | CPU used / cap | drain speed-up | "
        "events/s, all at work | speed-up, all at work |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    one: dict[str, tuple[float, float | None]] = {}  # mode: a lone worker's drain seconds, rate at work
    notes = []
    for result in results:
        if result.window is None:
            lines.append(f"| {result.name} | {result.missing} | | | | | | |")
            continue
        window, mode = result.window, result.name.split(",")[0]
        workers = len(result.timeline[-1].done)
        used = (window.last.cpu - window.first.cpu) / (workers * cores * window.seconds)
        at_work = together_rate(result.timeline)
        drain_up = work_up = ""
        if workers == 1:
            one[mode] = (window.seconds, at_work)
        elif mode in one:
            lone_drain, lone_rate = one[mode]
            drain_up = f"{lone_drain / window.seconds:.2f}x"
            work_up = f"{at_work / lone_rate:.2f}x" if at_work and lone_rate else "-"
            notes.append(f"{result.name}: {sharing(result.timeline, window.first.at)}")
        lines.append(
            f"| {result.name} | {window.seconds:.1f} | {result.from_launch:.1f} | {window.events_per_second:,.0f} | "
            f"{used:.0%} | {drain_up} | {f'{at_work:,.0f}' if at_work else '-'} | {work_up} |"
        )
    return "\n".join([*lines, *notes])


def sharing(timeline: list[Shares], opened: float) -> str:
    """When each worker of a group did its first and its last records (seconds into the drain),
    and how many it did."""
    final = timeline[-1].done
    parts = []
    for worker, total in enumerate(final):
        first = next(poll.at for poll in timeline if poll.done[worker] > 0) - opened
        last = next(poll.at for poll in timeline if poll.done[worker] == total) - opened
        parts.append(f"worker {worker} applied {total:,} from {max(first, 0):.1f} s to {last:.1f} s")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=CUSTOMERS, help="customers in the generated history")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds of progress before an entry's timed window opens")
    parser.add_argument("--box", type=float, default=10.0, help="seconds an entry's timed window lasts at most")
    parser.add_argument("--entry-cores", type=float, default=0.5, help="CPUs each entry's processes share (0: uncapped)")
    parser.add_argument("--cores", type=float, default=0.5, help="CPUs per worker in the scale-out runs (0: none)")
    args = parser.parse_args()

    began = time.monotonic()
    why = unavailable()
    with ExitStack() as broker_weight, scratch_broker("pipeline", args.partitions, heap="1g", config=PRODUCTION_GROUPS) as (settings, workdir):
        if not why and args.entry_cores:  # the broker, not capped, is not starved by other work either
            pid = LocalKafka(workdir / "kafka").status().pid
            if pid:
                broker_weight.enter_context(cpu_capped(f"bench-broker-{os.getpid()}", None)).add(pid)
        backlog = publish_backlog(settings, args.customers, args.days)
        print(f"backlog: {backlog.records:,} records of {backlog.customers:,} customers over {args.days} days, unkeyed and keyed, "
              f"{args.partitions} partitions; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
              f"{time.monotonic() - began:,.0f} s to publish", flush=True)
        timing = Timing(args.warmup, args.box, None if why else args.entry_cores or None)
        bench = Bench(settings, backlog.keyed, workdir, backlog.records, timing)
        results = asyncio.run(run_all(bench))
        capped = why or ("" if args.cores else "not asked for (--cores 0)")
        scaled = [] if capped else asyncio.run(scale_out(bench, args.cores))
    print(table(results, backlog.customers))
    print(f"(each entry timed from {args.warmup:g} s after its first record for at most {args.box:g} s; "
          f"boxed: stopped there, its state not measured; {entry_share(timing, why)})")
    print()
    print(f"scale-out: not measured ({capped})" if capped else scale_out_table(scaled, args.cores))
    print(SCALE_OUT_CAVEAT)
    print(f"load average {os.getloadavg()[0]:.1f} at the end; elapsed {time.monotonic() - began:,.0f} s")


if __name__ == "__main__":
    main()
