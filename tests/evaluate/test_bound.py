"""The lower bound plans a whole period at once, longer than any live horizon."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from controller.config import Plant
from controller.evaluate.bound import lower_bound
from controller.evaluate.data import EvaluationData

JAN_START = datetime(2024, 1, 8, tzinfo=UTC)


def test_the_bound_covers_a_period_beyond_the_live_horizon_limit(
    river: Plant, january: EvaluationData
) -> None:
    # 10 days: 240 hourly steps, past the live planner's 96 h limit (a year is 8,784 h)
    bound = lower_bound(river, january, JAN_START, JAN_START + timedelta(days=10), None)
    assert bound.status == "optimal"
    assert math.isfinite(bound.cost_eur) and bound.cost_eur > 0
    assert bound.variables > 240


def test_the_offline_horizon_leaves_the_live_limit_in_place(river: Plant) -> None:
    assert river.with_offline_horizon(8784.0).control.planner.horizon_steps == round(
        8784.0 * 3600.0 / river.control.planner.step_s
    )
    assert river.control.planner.horizon_h <= 96.0
