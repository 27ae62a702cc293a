"""The tank-blind timer behind the hand-back to local control."""

from __future__ import annotations

from controller.core.estimate import PlantState, estimate
from controller.core.tank_blind import TankBlindTimer
from tests.core.fakes import plant_snapshot, river


def _state(now_s: float, blind: bool) -> PlantState:
    plant = river()
    snap = plant_snapshot(plant.site, 70.0, now_s=now_s)
    if blind:
        del snap.values[("tank1", "layer_temp_c", 4)]
    return estimate(snap, plant.site)


def test_the_timer_counts_from_the_first_blind_cycle() -> None:
    timer = TankBlindTimer().after(_state(100.0, blind=False))
    assert timer.blind_for_s(100.0) == 0.0
    timer = timer.after(_state(102.0, blind=True))
    assert timer.blind_for_s(102.0) == 0.0
    timer = timer.after(_state(104.0, blind=True))
    timer = timer.after(_state(132.0, blind=True))
    assert timer.since_s == 102.0 and timer.blind_for_s(132.0) == 30.0


def test_one_cycle_with_the_tank_seen_restarts_the_count() -> None:
    timer = TankBlindTimer().after(_state(100.0, blind=True)).after(_state(120.0, blind=True))
    timer = timer.after(_state(122.0, blind=False))
    assert timer == TankBlindTimer() and timer.blind_for_s(122.0) == 0.0
    timer = timer.after(_state(124.0, blind=True))
    assert timer.blind_for_s(150.0) == 26.0
