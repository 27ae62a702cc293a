"""`hpctl_plan_age_seconds` is NaN while the controller has no plan (issue 11: it read 0,
which a dashboard shows as a plan made just now)."""

from __future__ import annotations

import math

from controller.telemetry.metrics import ControllerMetrics
from controller.telemetry.sources import MetricSources
from tests.core.fakes import river
from tests.runtime.planner_rig import T0, cycle_report, planner_service, plant_state


async def test_plan_age_is_nan_without_a_plan_and_counts_from_the_first() -> None:
    service, clock = planner_service()
    plant = river()
    metrics = ControllerMetrics(plant.site, MetricSources(planner=service), control=plant.control)
    try:
        age = metrics.registry.get_sample_value
        assert age("hpctl_plan_age_seconds") is not None
        assert math.isnan(age("hpctl_plan_age_seconds") or 0.0)  # before any cycle
        state = plant_state(T0, clock.monotonic_s())
        metrics.observe(cycle_report(state))
        assert math.isnan(age("hpctl_plan_age_seconds") or 0.0)  # a cycle, still no plan
        service.observe(cycle_report(state))
        plan = await service.replan()
        assert plan is not None and plan.usable
        metrics.observe(cycle_report(state))
        assert age("hpctl_plan_age_seconds") == 0.0
    finally:
        metrics.close()
