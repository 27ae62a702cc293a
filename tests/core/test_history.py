"""Each unit's switching history: confirmed starts and stops, first sight, and the fold per cycle."""

from __future__ import annotations

from controller.core.estimate import UnitState, estimate
from controller.core.history import (
    UnitHistory,
    cycle_histories,
    first_history,
    fold_histories,
    update_history,
)
from drivers.kinds import StateCode
from tests.core.fakes import plant_snapshot, river


def _unit(running: bool = False, known: bool = True) -> UnitState:
    plant = river()
    snap = plant_snapshot(plant.site, 60.0, {"hp1": running})
    if not known:
        del snap.values[("hp1", "state_code", None)]
    return estimate(snap, plant.site).unit("hp1")


def test_history_counts_confirmed_starts_and_stops_only() -> None:
    plant = river()
    off = estimate(plant_snapshot(plant.site, 60.0), plant.site).unit("hp1")
    on = estimate(plant_snapshot(plant.site, 60.0, {"hp1": True}), plant.site).unit("hp1")
    history = first_history(off, 0.0)
    assert history.starts_last_hour(0.0) == 0
    history = update_history(history, on, 100.0)
    history = update_history(history, on, 200.0)
    assert history.compressor_on and history.since_s == 100.0
    assert history.starts_last_hour(200.0) == 1
    history = update_history(history, off, 300.0)
    assert history.stopped_at_s == 300.0 and history.off_for_s(400.0) == 100.0
    assert history.starts_last_hour(100.0 + 3600.0) == 0


def test_first_sight_is_conservative() -> None:
    plant = river()
    on = estimate(plant_snapshot(plant.site, 60.0, {"hp1": True}), plant.site).unit("hp1")
    history = first_history(on, 50.0)
    assert history.on_for_s(50.0) == 0.0  # held on for the full minimum run time
    assert history.starts_last_hour(50.0) == 1


def test_fold_starts_a_history_only_once_the_units_state_is_known() -> None:
    blind = _unit(known=False)
    assert fold_histories({}, {}, [blind], 100.0) == {}
    # the cycle still protects the unit: it counts as just switched
    assert cycle_histories({}, [blind], 100.0) == {"hp1": first_history(blind, 100.0)}
    seen = _unit(running=True)
    assert fold_histories({}, {}, [seen], 100.0) == {"hp1": first_history(seen, 100.0)}


def test_fold_takes_a_stored_history_only_while_the_unit_is_in_its_recorded_state() -> None:
    stored = {"hp1": UnitHistory(compressor_on=False, since_s=-5000.0, recent_starts_s=())}
    off = _unit(running=False)
    kept = fold_histories({}, stored, [off], 0.0)
    assert kept["hp1"].off_for_s(0.0) == 5000.0
    on = _unit(running=True)
    switched = fold_histories({}, stored, [on], 0.0)
    assert switched["hp1"] == first_history(on, 0.0)


def test_fold_updates_known_histories_and_ignores_the_store_for_them() -> None:
    off = _unit(running=False)
    known = {"hp1": first_history(off, 0.0)}
    stored = {"hp1": UnitHistory(compressor_on=True, since_s=-9000.0, recent_starts_s=())}
    on = _unit(running=True)
    folded = fold_histories(known, stored, [on], 60.0)
    assert folded["hp1"] == update_history(known["hp1"], on, 60.0)
    assert folded["hp1"].since_s == 60.0 and folded["hp1"].starts_last_hour(60.0) == 1
    assert known["hp1"] == first_history(off, 0.0)  # the input is not changed
    assert cycle_histories(folded, [on], 60.0) == folded


def test_a_trip_is_remembered_after_its_reset() -> None:
    plant = river()
    snap = plant_snapshot(plant.site, 60.0)
    snap.values[("hp1", "state_code", None)] = StateCode.TRIPPED
    tripped = estimate(snap, plant.site).unit("hp1")
    history = update_history(first_history(_unit(running=True), 0.0), tripped, 100.0)
    assert history.tripped_since_s == 100.0 and history.last_trip_s == 100.0
    history = update_history(history, _unit(), 500.0)  # reset: off and available again
    assert history.tripped_since_s is None and history.last_trip_s == 100.0
    assert history.tripped_within(100.0 + 3599.0, 3600.0)
    assert not history.tripped_within(100.0 + 3600.0, 3600.0)
