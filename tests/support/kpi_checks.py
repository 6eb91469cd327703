"""The hand-computed expectations of ``tests.support.kpi_history``, checked against a KPI summary."""

from __future__ import annotations

from typing import Any

import pytest

from streams.core.statistics import Sample, mean_difference, proportion_difference
from tests.support import kpi_history as history


def check_summary(summary: dict[str, Any]) -> None:
    """Every KPI of the history's campaign equals the hand computation."""
    assert summary["currency"] == "EUR"
    campaign = summary["campaigns"]["reactivation"]
    funnel, held_out = campaign["funnel"]
    assert funnel == history.EXPECTED_FUNNEL
    assert campaign["feedback"] == {"answers": 1, "reasons": {"too_many_messages": 1}}
    assert {key: held_out[key] for key in history.EXPECTED_HELD_OUT_ROW} == history.EXPECTED_HELD_OUT_ROW
    treated = campaign["variants"]["default"]
    assert {key: treated[key] for key in history.EXPECTED_TREATED} == history.EXPECTED_TREATED
    assert campaign["holdout"] == history.EXPECTED_HOLDOUT
    conversion = proportion_difference(2, 4, 1, 2)  # Newcombe: checked against his paper in tests/unit/core/test_statistics.py
    assert treated["lift"]["conversion_rate"] == {
        "difference": 0.0, "low": round(conversion.low, 6), "high": round(conversion.high, 6), "significant": False
    }
    revenue = mean_difference(Sample(*history.TREATED_REVENUE), Sample(*history.HOLDOUT_REVENUE))
    lift = treated["lift"]["revenue_per_lapse"]
    assert lift["difference"] == 0.0 and not lift["significant"]
    assert (lift["low"], lift["high"]) == pytest.approx((revenue.low, revenue.high), abs=1e-5)
    assert campaign["leader"] == {"variant": "default", "runner_up": None, "lead": None, "significant": None}
