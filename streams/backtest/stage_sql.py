"""The stage-entry counts of an event log computed by SQL (DuckDB): the backtest's cross-check.

For a policy with fixed thresholds, stage entries follow from the activity times alone: after
each activity a customer enters every stage whose threshold the gap to their next activity
exceeds (strictly: an activity at the very moment a stage would start keeps them active), and
after their last activity every stage due at or before the end (the log's latest event, as
the backtest's default ``until``).  A redelivered line (same type, customer and event id) counts
once.  The query computes that from the JSON-lines file itself, so its counts must equal the
backtest's ``triggers``; the benchmark times it beside the backtest.

DuckDB is a development dependency (the ``dev`` extra): imported only when a query runs.
"""

from __future__ import annotations

from pathlib import Path

from streams.core.lifecycle import DAY
from streams.policy.sections import Policy

# How each activity signal looks in the log: (type, email action or None).
_SIGNAL_ROWS = {"purchase": ("purchase", None), "login": ("login", None), "email_open": ("email", "open"), "email_click": ("email", "click")}
_COLUMNS = "{type: 'VARCHAR', customer_id: 'VARCHAR', event_id: 'VARCHAR', occurred_at: 'VARCHAR', updated_at: 'VARCHAR', action: 'VARCHAR'}"


class UnsupportedPolicy(ValueError):
    """The policy's stage entries do not follow from activity times alone (adaptive thresholds)."""


def stage_entry_query(path: Path, policy: Policy) -> str:
    """The SQL giving one row, the number of entries into each stage of ``policy``'s ladder, for
    the log at ``path``; raises ``UnsupportedPolicy`` for adaptive thresholds."""
    ladder = policy.stages.configured()
    if any(threshold.adaptive for _, threshold in ladder):
        raise UnsupportedPolicy("adaptive thresholds follow each customer's cadence: SQL checks fixed ones only")
    signals = " OR ".join(_signal_condition(signal) for signal in policy.activity.signals)
    entries = ",\n       ".join(
        f"count_if(gap > {seconds!r}) + count_if(last_gap >= {seconds!r}) AS {stage}"
        for stage, seconds in ((stage, threshold.days_for(None) * DAY) for stage, threshold in ladder)
    )
    return f"""
WITH lines AS (
    SELECT DISTINCT type, customer_id, event_id, action,
           epoch(CAST(coalesce(occurred_at, updated_at) AS TIMESTAMPTZ)) AS moment
    FROM read_json('{_quoted(path)}', format = 'newline_delimited', columns = {_COLUMNS})
),
activity AS (
    SELECT moment, lead(moment) OVER (PARTITION BY customer_id ORDER BY moment) AS next_moment
    FROM lines WHERE {signals}
),
gaps AS (
    SELECT next_moment - moment AS gap, CASE WHEN next_moment IS NULL THEN (SELECT max(moment) FROM lines) - moment END AS last_gap
    FROM activity
)
SELECT {entries}
FROM gaps
"""


def stage_entries(path: Path, policy: Policy, threads: int = 1) -> dict[str, int]:
    """Stage -> entries for the log at ``path`` under ``policy``, computed by DuckDB on ``threads`` threads."""
    import duckdb

    with duckdb.connect(config={"threads": threads}) as connection:
        cursor = connection.execute(stage_entry_query(path, policy))
        names = [column[0] for column in cursor.description]
        row = cursor.fetchone()
    assert row is not None  # an aggregate without GROUP BY gives one row
    return {name: int(count or 0) for name, count in zip(names, row)}


def _signal_condition(signal: str) -> str:
    kind, action = _SIGNAL_ROWS[signal]
    return f"type = '{kind}'" if action is None else f"(type = '{kind}' AND action = '{action}')"


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
