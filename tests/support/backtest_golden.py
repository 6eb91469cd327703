"""The backtest's golden reports: fixed logs and policies, and the reports they gave.

Two seeded logs, a dense generated shop and a sparse one (``traffic.sparse_history``), each with
redelivered and bad lines mixed in, are backtested under the bundled example and full policies;
the text and JSON reports were recorded before the backtest was made faster and must stay
byte-identical.  ``python -m tests.support.backtest_golden`` records them again (only after a
change that is meant to change the report).  Recorded again since for two such changes only:
the predictive trigger's ``first_purchase`` in the state (9 more state bytes per customer)
and late-event retraction (zero ``retractions``, ``retracted`` and ``sent_in_error`` fields,
a "sent in error" funnel column).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec
from click.testing import CliRunner

from streams.cli import main as cli
from streams.devtools.traffic import generate_history, sparse_history
from streams.model.events import AnyInput
from streams.policy.loading import default_policy_path

GOLDEN = Path(__file__).parent.parent / "golden" / "backtest"
LOGS: dict[str, Callable[[], list[AnyInput]]] = {
    "dense": lambda: generate_history(150, 365, seed=7),
    "sparse": lambda: sparse_history(1000, 730, seed=11),
}
POLICIES = {"example": default_policy_path(), "full": default_policy_path().with_name("policy.full.yaml")}
FORMATS = {"txt": "table", "json": "json"}
CASES = [(log, policy, suffix) for log in LOGS for policy in POLICIES for suffix in FORMATS]
_WIDTH = "120"  # the table report's width (rich reads COLUMNS when not on a terminal)


def write_log(name: str, path: Path) -> Path:
    """The log ``name`` as JSON lines: every 40th line twice (a redelivery), and a bad line every 500."""
    encoder = msgspec.json.Encoder()
    lines: list[bytes] = []
    for number, event in enumerate(LOGS[name]()):
        lines.append(encoder.encode(event))
        if number % 40 == 0:
            lines.append(lines[-1])
        if number % 500 == 250:
            lines.append(b'{"type":"purchase","customer_id":"broken"')
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def golden_path(log: str, policy: str, suffix: str) -> Path:
    return GOLDEN / f"{log}-{policy}.{suffix}"


def backtest_output(log_file: Path, policy: str, suffix: str, *options: str) -> str:
    """What ``winback backtest`` prints for the log under the policy, in the format of ``suffix``."""
    args = ["backtest", str(log_file), "--policy", str(POLICIES[policy]), "--format", FORMATS[suffix], *options]
    result = CliRunner().invoke(cli, args, env={"COLUMNS": _WIDTH})
    assert result.exit_code == 0, result.output
    return result.output


def record(directory: Path) -> None:
    """Write every golden report again (logs made in ``directory``)."""
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for log in LOGS:
        log_file = write_log(log, directory / f"{log}.jsonl")
        for policy in POLICIES:
            for suffix in FORMATS:
                golden_path(log, policy, suffix).write_text(backtest_output(log_file, policy, suffix))


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        record(Path(scratch))
