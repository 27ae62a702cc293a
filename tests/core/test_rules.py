"""Rule-based staging on the tank's state of charge."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


_TIED_LEAD = """
from controller.core.estimate import estimate
from controller.core.history import first_history
from controller.core.rules import rule_targets
from tests.core.fakes import plant_snapshot, river, situation
plant = river()
snap = plant_snapshot(plant.site, 50.0)
for name in ("hp1", "hp2"):
    snap.values[(name, "run_hours_h", None)] = 500.0
state = estimate(snap, plant.site)
histories = {u.name: first_history(u, -10_000.0) for u in state.units}
on = rule_targets(situation(plant, state, histories), None).unit_on
print(",".join(name for name, running in sorted(on.items()) if running))
"""


def test_with_equal_run_hours_the_first_unit_in_plant_order_leads_in_every_process() -> None:
    # string hashing differs from process to process: the lead must not follow it
    repo = Path(__file__).resolve().parents[2]
    leads = set()
    for seed in ("0", "1", "2", "3", "4", "5"):
        done = subprocess.run(
            [sys.executable, "-c", _TIED_LEAD],
            capture_output=True,
            text=True,
            check=True,
            cwd=repo,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        leads.add(done.stdout.strip())
    assert leads == {"hp1"}
