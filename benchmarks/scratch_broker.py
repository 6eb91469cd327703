"""A throw-away local Kafka broker with the worker's topics, for the benchmarks that need one.

Benchmarks run as scripts (``python benchmarks/pipeline.py``), so this directory is on their
import path and they import this module by its bare name.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from streams.admin.topics import ensure_topics
from streams.devtools.kafka_local import LocalKafka
from streams.runtime.settings import Settings


@contextmanager
def scratch_broker(
    name: str, partitions: int, heap: str, config: Mapping[str, str] | None = None
) -> Iterator[tuple[Settings, Path]]:
    """Settings for a fresh broker (``config``: settings over the local defaults) whose topics
    `winback topics ensure` made, and a scratch directory for the benchmark's workers; both are
    gone afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"winback-bench-{name}-") as scratch:
        workdir = Path(scratch)
        broker = LocalKafka(workdir / "kafka", heap=heap, config=config)
        try:
            settings = Settings(broker=broker.start(timeout=240), app_id=f"bench-{name}", partitions=partitions)
            asyncio.run(ensure_topics(settings))
            yield settings, workdir
        finally:
            broker.stop()
