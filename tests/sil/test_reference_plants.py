"""Every reference plant runs in the demo: a few hours over real sockets with the planner."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.app.demo import run_demo
from controller.config import load_plant
from controller.scenarios import default_scenario_path
from drivers.scenario import load_scenario

PLANTS = sorted((Path(__file__).resolve().parents[2] / "deploy" / "plants").glob("*.toml"))


@pytest.mark.sil
@pytest.mark.parametrize("path", PLANTS, ids=lambda p: p.stem)
async def test_reference_plant_runs_three_hours_without_unmet_heat_or_trips(path: Path) -> None:
    plant = load_plant(path).with_control(policy="planner")
    scenario = load_scenario(default_scenario_path())
    summary = await run_demo(
        plant, scenario, datetime(2024, 1, 9, 6, tzinfo=UTC), days=0.125, progress=None
    )
    assert summary.heat_demand_kwh > 0
    assert summary.unmet_heat_kwh <= 0.001 * summary.heat_demand_kwh
    assert "unit_tripped" not in summary.interlocks
    for spec in plant.site.units:
        assert summary.max_starts_in_any_hour.get(spec.name, 0) <= spec.max_starts_per_hour
    assert summary.policy_cycles.get("plan", 0) > 0
    assert plant.site.plant.name in summary.render()
