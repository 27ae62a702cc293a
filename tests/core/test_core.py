"""The pure core: estimate, history, rules, stage and safety, with hand-built snapshots."""

from __future__ import annotations

from dataclasses import replace

import pytest

from controller.core.estimate import estimate, tank_soc
from controller.core.history import first_history, update_history
from controller.core.rules import rule_targets
from controller.core.safety import apply_safety
from controller.core.stage import may_start, stage
from tests.core.fakes import plant_snapshot, river


def test_soc_from_layers_spans_min_to_max() -> None:
    tank = river().site.tanks[0]
    assert tank_soc(tuple([tank.min_temp_c] * 8), tank) == 0.0
    assert tank_soc(tuple([tank.max_temp_c] * 8), tank) == 1.0
    half = (tank.min_temp_c + tank.max_temp_c) / 2
    assert tank_soc(tuple([half] * 8), tank) == pytest.approx(0.5)
    assert tank_soc((60.0, None, 60.0, 60.0, 60.0, 60.0, 60.0, 60.0), tank) is None


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


def test_rules_start_the_unit_with_fewest_run_hours_when_the_tank_is_low() -> None:
    plant = river()
    snap = plant_snapshot(plant.site, 50.0)
    snap.values[("hp1", "run_hours_h", None)] = 900.0
    snap.values[("hp2", "run_hours_h", None)] = 100.0
    state = estimate(snap, plant.site)
    histories = {u.name: first_history(u, -10_000.0) for u in state.units}
    targets = rule_targets(state, histories, plant.site, plant.control.staging, None)
    assert targets.unit_on == {"hp1": False, "hp2": True}
    assert "tank at" in targets.reasons["hp2"]


def test_rules_stop_the_lag_unit_when_the_tank_is_full() -> None:
    plant = river()
    snap = plant_snapshot(plant.site, 84.0, {"hp1": True, "hp2": True})
    snap.values[("hp1", "run_hours_h", None)] = 900.0
    state = estimate(snap, plant.site)
    histories = {u.name: first_history(u, -10_000.0) for u in state.units}
    targets = rule_targets(state, histories, plant.site, plant.control.staging, None)
    assert targets.unit_on == {"hp1": False, "hp2": True}


def test_stage_holds_a_unit_on_for_its_minimum_run_time() -> None:
    plant = river()
    state = estimate(plant_snapshot(plant.site, 84.0, {"hp1": True}), plant.site)
    histories = {u.name: first_history(u, state.now_s - 60.0) for u in state.units}
    targets = rule_targets(state, histories, plant.site, plant.control.staging, None)
    assert targets.unit_on["hp1"] is False
    commands = stage(targets, state, histories, plant.site, plant.control, None)
    assert commands.units["hp1"].enable is True
    assert commands.units["hp1"].reason.startswith("held on: min run time")


def test_stage_opens_the_valve_before_enabling_the_compressor() -> None:
    plant = river()
    state = estimate(plant_snapshot(plant.site, 50.0), plant.site)
    histories = {u.name: first_history(u, -10_000.0) for u in state.units}
    targets = rule_targets(state, histories, plant.site, plant.control.staging, None)
    lead = next(name for name, on in targets.unit_on.items() if on)
    commands = stage(targets, state, histories, plant.site, plant.control, None)
    assert commands.valves[f"v_{lead}"].position_pct == 100.0
    assert commands.units[lead].enable is False
    assert commands.units[lead].reason == "waiting for isolation valve to confirm open"
    snap = plant_snapshot(plant.site, 50.0)
    snap.values[(f"v_{lead}", "position_pct", None)] = 95.0
    state = estimate(snap, plant.site)
    commands = stage(targets, state, histories, plant.site, plant.control, None)
    assert commands.units[lead].enable is True
    assert commands.units[lead].heat_setpoint_kw >= plant.site.units[0].heat_min_kw


def test_stop_sequence_closes_the_valve_only_after_run_on() -> None:
    plant = river()
    state = estimate(plant_snapshot(plant.site, 70.0), plant.site)
    histories = {u.name: first_history(u, state.now_s - 10.0) for u in state.units}
    targets = rule_targets(state, histories, plant.site, plant.control.staging, None)
    commands = stage(targets, state, histories, plant.site, plant.control, None)
    assert commands.valves["v_hp1"].position_pct == 100.0  # 10 s after the stop: still in run-on
    later = {n: replace(h, stopped_at_s=state.now_s - 120.0) for n, h in histories.items()}
    commands = stage(targets, state, later, plant.site, plant.control, None)
    assert commands.valves["v_hp1"].position_pct == 0.0


def test_starts_limit_and_min_off_time_block_a_start() -> None:
    plant = river()
    spec = plant.site.units[0]
    state = estimate(plant_snapshot(plant.site, 50.0), plant.site)
    history = first_history(state.unit("hp1"), state.now_s - 100.0)
    assert not may_start(spec, history, state.now_s).allowed  # off only 100 s of 900
    history = replace(
        history,
        since_s=state.now_s - 5000.0,
        recent_starts_s=(state.now_s - 600.0, state.now_s - 1200.0),
    )
    check = may_start(spec, history, state.now_s)
    assert not check.allowed and "starts limit" in check.why_not


def _staged_on(plant_tank_c: float, running: dict[str, bool]):  # type: ignore[no-untyped-def]
    plant = river()
    snap = plant_snapshot(plant.site, plant_tank_c, running)
    for spec in plant.site.units:
        snap.values[(f"v_{spec.name}", "position_pct", None)] = 100.0
    state = estimate(snap, plant.site)
    histories = {u.name: first_history(u, -10_000.0) for u in state.units}
    targets = replace(
        rule_targets(state, histories, plant.site, plant.control.staging, None),
        unit_on={"hp1": True, "hp2": True},
        unit_heat_kw={"hp1": 9000.0, "hp2": 9000.0},
    )
    commands = stage(targets, state, histories, plant.site, plant.control, None)
    return plant, snap, state, histories, commands


def test_safety_stops_heat_input_at_the_tank_limit_even_inside_min_run() -> None:
    plant, _, state, histories, commands = _staged_on(84.0, {"hp1": True, "hp2": True})
    assert commands.units["hp1"].enable
    result = apply_safety(commands, state, histories, plant.site, plant.control, 0.0)
    assert not result.commands.units["hp1"].enable and not result.commands.units["hp2"].enable
    assert {i.reason for i in result.interlocks} == {"tank_high_temp"}


def test_safety_blocks_a_tripped_unit_and_a_unit_with_stale_data() -> None:
    plant, snap, _, histories, commands = _staged_on(60.0, {"hp1": True, "hp2": True})
    snap.values[("hp1", "state_code", None)] = 4.0
    del snap.values[("hp2", "heat_kw", None)]
    state = estimate(snap, plant.site)
    result = apply_safety(commands, state, histories, plant.site, plant.control, 0.0)
    reasons = {i.equipment: i.reason for i in result.interlocks}
    assert reasons == {"hp1": "unit_tripped", "hp2": "unit_data_stale"}
    assert not any(c.enable for c in result.commands.units.values())


def test_safety_never_closes_a_valve_under_a_running_unit() -> None:
    plant, _, state, histories, commands = _staged_on(60.0, {"hp1": True, "hp2": False})
    closing = commands.with_valve("v_hp1", position_pct=0.0)
    result = apply_safety(closing, state, histories, plant.site, plant.control, 0.0)
    assert result.commands.valves["v_hp1"].position_pct == 100.0
    assert any(i.reason == "valve_close_while_running" for i in result.interlocks)


def test_safety_hands_back_to_local_control_when_the_tank_is_blind() -> None:
    plant, _, state, histories, commands = _staged_on(60.0, {"hp1": True})
    limit = plant.control.safety.stale_handback_s
    assert not apply_safety(
        commands, state, histories, plant.site, plant.control, limit - 1
    ).handed_back
    result = apply_safety(commands, state, histories, plant.site, plant.control, limit)
    assert result.handed_back
    assert all(not c.remote for c in result.commands.units.values())


def test_safety_supply_temperature_limit() -> None:
    plant, snap, _, histories, commands = _staged_on(60.0, {"hp1": True})
    snap.values[("hp1", "supply_temp_c", None)] = plant.site.units[0].max_supply_temp_c - 1.0
    state = estimate(snap, plant.site)
    result = apply_safety(commands, state, histories, plant.site, plant.control, 0.0)
    assert not result.commands.units["hp1"].enable
    assert any(i.reason == "supply_high_temp" for i in result.interlocks)
