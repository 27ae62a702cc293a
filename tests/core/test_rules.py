"""Rule-based staging on the tank's state of charge."""

from __future__ import annotations

from controller.core.estimate import estimate
from controller.core.history import first_history
from controller.core.rules import rule_targets
from tests.core.fakes import plant_snapshot, river, situation


def test_rules_start_the_unit_with_fewest_run_hours_when_the_tank_is_low() -> None:
    plant = river()
    snap = plant_snapshot(plant.site, 50.0)
    snap.values[("hp1", "run_hours_h", None)] = 900.0
    snap.values[("hp2", "run_hours_h", None)] = 100.0
    state = estimate(snap, plant.site)
    histories = {u.name: first_history(u, -10_000.0) for u in state.units}
    targets = rule_targets(situation(plant, state, histories), None)
    assert targets.unit_on == {"hp1": False, "hp2": True}
    assert "tank at" in targets.reasons["hp2"]


def test_rules_stop_the_lag_unit_when_the_tank_is_full() -> None:
    plant = river()
    snap = plant_snapshot(plant.site, 84.0, {"hp1": True, "hp2": True})
    snap.values[("hp1", "run_hours_h", None)] = 900.0
    state = estimate(snap, plant.site)
    histories = {u.name: first_history(u, -10_000.0) for u in state.units}
    targets = rule_targets(situation(plant, state, histories), None)
    assert targets.unit_on == {"hp1": False, "hp2": True}
