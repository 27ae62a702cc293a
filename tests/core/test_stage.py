"""Stage: targets -> commands, with the start and stop sequences and the compressor protections."""

from __future__ import annotations

from dataclasses import replace

from controller.core.estimate import estimate
from controller.core.history import first_history
from controller.core.rules import rule_targets
from controller.core.stage import may_start, stage
from tests.core.fakes import plant_snapshot, river, situation


def test_stage_holds_a_unit_on_for_its_minimum_run_time() -> None:
    plant = river()
    state = estimate(plant_snapshot(plant.site, 84.0, {"hp1": True}), plant.site)
    histories = {u.name: first_history(u, state.now_s - 60.0) for u in state.units}
    targets = rule_targets(situation(plant, state, histories), None)
    assert targets.unit_on["hp1"] is False
    commands = stage(targets, situation(plant, state, histories), None)
    assert commands.units["hp1"].enable is True
    assert commands.units["hp1"].reason.startswith("held on: min run time")


def test_stage_opens_the_valve_before_enabling_the_compressor() -> None:
    plant = river()
    state = estimate(plant_snapshot(plant.site, 50.0), plant.site)
    histories = {u.name: first_history(u, -10_000.0) for u in state.units}
    targets = rule_targets(situation(plant, state, histories), None)
    lead = next(name for name, on in targets.unit_on.items() if on)
    commands = stage(targets, situation(plant, state, histories), None)
    assert commands.valves[f"v_{lead}"].position_pct == 100.0
    assert commands.units[lead].enable is False
    assert commands.units[lead].reason == "waiting for isolation valve to confirm open"
    snap = plant_snapshot(plant.site, 50.0)
    snap.values[(f"v_{lead}", "position_pct", None)] = 95.0
    state = estimate(snap, plant.site)
    commands = stage(targets, situation(plant, state, histories), None)
    assert commands.units[lead].enable is True
    assert commands.units[lead].heat_setpoint_kw >= plant.site.units[0].heat_min_kw


def test_stop_sequence_closes_the_valve_only_after_run_on() -> None:
    plant = river()
    state = estimate(plant_snapshot(plant.site, 70.0), plant.site)
    histories = {u.name: first_history(u, state.now_s - 10.0) for u in state.units}
    targets = rule_targets(situation(plant, state, histories), None)
    commands = stage(targets, situation(plant, state, histories), None)
    assert commands.valves["v_hp1"].position_pct == 100.0  # 10 s after the stop: still in run-on
    later = {n: replace(h, stopped_at_s=state.now_s - 120.0) for n, h in histories.items()}
    commands = stage(targets, situation(plant, state, later), None)
    assert commands.valves["v_hp1"].position_pct == 0.0


def test_starts_limit_and_min_off_time_block_a_start() -> None:
    plant = river()
    spec = plant.site.units[0]
    state = estimate(plant_snapshot(plant.site, 50.0), plant.site)
    history = first_history(state.unit("hp1"), state.now_s - 100.0)
    assert not may_start(spec, history, state.now_s, 300.0).allowed  # off only 100 s of 900
    history = replace(
        history,
        since_s=state.now_s - 5000.0,
        recent_starts_s=(state.now_s - 600.0, state.now_s - 1200.0),
    )
    check = may_start(spec, history, state.now_s, 300.0)
    assert not check.allowed and "starts limit" in check.why_not
