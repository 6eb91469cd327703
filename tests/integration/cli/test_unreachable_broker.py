"""Every command that talks to Kafka ends in bounded time with one line when the broker cannot
be reached: nothing listens at its address, or something accepts connections and never answers.

No broker is needed: the commands run as processes against a closed port of this machine and
against ``SilentBroker``, with a short ``WINBACK_BROKER_TIMEOUT``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.devtools.spawn import free_port
from tests.support.commands import run_winback
from tests.support.silent_broker import SilentBroker

pytestmark = pytest.mark.integration
TIMEOUT_SECONDS = 3
BOUND_SECONDS = 30  # the timeout, plus starting Python and the command, on a busy 2-core machine
COMMANDS = {  # command -> what it says it could not do
    "topics ensure": "administer topics",
    "traffic replay --customers 2 --days 1": "publish traffic",
    "worker": "start the worker",
}


@pytest.fixture(params=["nothing listening", "silent"])
def unreachable(request: pytest.FixtureRequest) -> Iterator[str]:
    """The address of a broker that cannot be talked to."""
    if request.param == "silent":
        with SilentBroker() as broker:
            yield broker.address
    else:
        yield f"127.0.0.1:{free_port()}"  # bound and released: nothing listens there


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_ends_in_time_with_one_line(command: str, unreachable: str, tmp_path: Path, report):
    env = {"WINBACK_BROKER": unreachable, "WINBACK_BROKER_TIMEOUT": str(TIMEOUT_SECONDS), "WINBACK_DATA_DIR": str(tmp_path)}

    run = run_winback(command.split(), env, timeout=BOUND_SECONDS * 2)

    report(command=command, broker=unreachable, seconds=round(run.seconds, 1))
    assert run.returncode == 1, run
    assert run.stdout == "" and "Traceback" not in run.stderr
    assert run.stderr == (
        f"winback: cannot {COMMANDS[command]}: no answer from the Kafka broker at {unreachable} within "
        f"{TIMEOUT_SECONDS}s; check WINBACK_BROKER (and WINBACK_BROKER_TIMEOUT for a slow broker)\n"
    )
    assert run.seconds < BOUND_SECONDS


def test_the_default_timeout_also_ends_a_worker_facing_a_silent_broker(tmp_path: Path, report):
    with SilentBroker() as broker:
        run = run_winback(["worker"], {"WINBACK_BROKER": broker.address, "WINBACK_DATA_DIR": str(tmp_path)}, timeout=120)

    report(seconds=round(run.seconds, 1))
    assert run.returncode == 1, run
    assert "no answer from the Kafka broker" in run.stderr and "within 10s" in run.stderr
    assert run.seconds < 10 + BOUND_SECONDS
