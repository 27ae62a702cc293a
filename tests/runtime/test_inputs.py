"""Honest plan inputs: one learned forecaster, owned by the planner; a source temperature that is
measured, read from a scenario column or taken from the plant file's declared curve, never an
invented constant; and every input saying where it came from (`hpctl plan` prints it)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.app.cli import main
from controller.app.plan_report import first_plan_inputs, plan_once
from controller.config import load_plant
from controller.core.estimate import estimate
from controller.core.forecaster import Forecaster
from controller.scenarios import default_scenario_path
from drivers.kinds import Role
from drivers.scenario import load_scenario, parse_scenario
from tests.core.fakes import plant_snapshot, river
from tests.runtime.planner_rig import T0, cycle_report, planner_service, plant_state

ROOT = Path(__file__).resolve().parents[2]
DATACENTRE = ROOT / "deploy" / "plants" / "datacentre_12mw.toml"
START = datetime(2024, 1, 9, 13, tzinfo=UTC)
INPUTS = ("price", "carbon", "outdoor", "demand", "source", "fuel")


def _with_columns(extra: dict[str, float]) -> list[str]:
    """The demo scenario with constant extra columns (name: value) on every row."""
    lines = default_scenario_path().read_text().splitlines()
    header = lines[0] + "".join(f",{name}" for name in extra)
    values = "".join(f",{value}" for value in extra.values())
    return [header, *(line + values for line in lines[1:] if line)]


def test_the_planner_owns_the_learned_forecaster_and_feeds_it_every_cycle() -> None:
    service, _ = planner_service()
    assert type(service.forecaster) is Forecaster
    for minute in range(0, 61, 5):
        state = plant_state(T0 + timedelta(minutes=minute), minute * 60.0)
        service.observe(cycle_report(state))
    # the first reading (06:00) closes the hour before it, the last (07:00) the hour 06:00
    assert service.forecaster.history_hours == 2
    forecast = service.build_forecast(plant_state(T0 + timedelta(hours=1), 3600.0))
    assert forecast.provenance["outdoor"].startswith("learned forecaster")
    assert "design curve" in forecast.provenance["demand"]  # fewer than 3 days: says so
    assert set(INPUTS) <= set(forecast.provenance)


def test_measured_unit_source_temperatures_are_the_source_forecast() -> None:
    plant = river()
    service, _ = planner_service()
    snap = plant_snapshot(plant.site, 70.0, {"hp1": True}, now_s=100.0)
    snap.now_utc = T0
    snap.values[("hp1", Role.SOURCE_IN_TEMP_C, None)] = 6.5  # running: its inlet counts
    snap.values[("hp2", Role.SOURCE_IN_TEMP_C, None)] = 14.0  # idle, in still water
    state = estimate(snap, plant.site)
    assert state.source_temp_c is None  # no plant-wide source sensor in this snapshot
    forecast = service.build_forecast(state)
    assert forecast.source_temp_c[0] == pytest.approx(6.5)
    assert forecast.provenance["source"].startswith("measured (mean of 1 running units'")
    # the declared curve gives the shape beyond, shifted to the measured level
    declared = [plant.site.source.temp_c(when, "Europe/Copenhagen") for when in forecast.steps_utc]
    shift = 6.5 - plant.site.source.temp_c(T0, "Europe/Copenhagen")
    assert forecast.source_temp_c == pytest.approx([value + shift for value in declared])
    # a plant-wide sensor wins over the units
    forecast = service.build_forecast(replace(state, source_temp_c=4.0))
    assert forecast.source_temp_c[0] == pytest.approx(4.0)
    assert forecast.provenance["source"].startswith("measured (plant)")


def test_without_any_measurement_the_source_is_the_plant_files_curve_never_zero() -> None:
    plant = load_plant(DATACENTRE)
    scenario = load_scenario(default_scenario_path())
    inputs, forecast = first_plan_inputs(plant.with_planner(horizon_h=24), scenario, START)
    source = plant.site.source
    assert forecast.source_temp_c == pytest.approx(
        [source.temp_c(when, plant.site.plant.timezone) for when in forecast.steps_utc]
    )
    assert all(source.min_temp_c <= value <= source.max_temp_c for value in forecast.source_temp_c)
    mean_c = sum(forecast.source_temp_c) / len(forecast.source_temp_c)
    assert mean_c == pytest.approx(source.mean_temp_c, abs=2.0)  # 35 °C declared, January
    assert forecast.provenance["source"].startswith("design curve (plant file)")
    # with a 35 °C source and 72 °C supply the units' COP is well above 3, not the 2.2 of 0 °C
    assert min(min(unit.cop) for unit in inputs.units) > 3.0


def test_a_scenario_source_column_is_the_source_and_a_demand_column_teaches_the_forecaster() -> (
    None
):
    plant = load_plant(DATACENTRE).with_planner(horizon_h=24)
    scenario = parse_scenario(
        _with_columns({"source_temp_c": 31.5, "heat_demand_kw": 7000.0}), "with_columns.csv"
    )
    _, forecast = first_plan_inputs(plant, scenario, START)
    assert forecast.source_temp_c == pytest.approx([31.5] * len(forecast.steps_utc))
    assert "scenario column source_temp_c" in forecast.provenance["source"]
    assert "with_columns.csv" in forecast.provenance["source"]
    # 3.5 days of metered demand before the start: the regression, not the design curve
    assert forecast.provenance["demand"].startswith("learned forecaster")
    assert forecast.heat_demand_kw == pytest.approx([7000.0] * len(forecast.steps_utc), rel=0.01)


def test_nothing_of_the_scenario_at_or_after_the_start_is_learned() -> None:
    plant = load_plant(DATACENTRE).with_planner(horizon_h=24)
    lines = _with_columns({"source_temp_c": 31.5})
    # from the start on the file says 39 °C: a planner reading the future would see it
    future = [
        line.rsplit(",", 1)[0] + ",39.0" if line[:16] >= "2024-01-09T13:00" else line
        for line in lines[1:]
    ]
    _, forecast = first_plan_inputs(plant, parse_scenario([lines[0], *future], "s.csv"), START)
    assert forecast.source_temp_c == pytest.approx([31.5] * len(forecast.steps_utc))


def test_hpctl_plan_prints_where_each_input_came_from(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "plan",
        "--plant",
        str(DATACENTRE),
        "--scenario",
        str(default_scenario_path()),
        "--start",
        "2024-01-09T13:00Z",
        "--horizon",
        "24h",
    ]
    assert main(args) == 0
    table = capsys.readouterr().out
    head = table.split("start UTC")[0]
    assert "inputs:" in head
    for name in INPUTS:
        assert f"\n  {name} " in head
    assert "design curve (plant file)" in head and "learned forecaster" in head
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(INPUTS) <= set(data["inputs"])
    assert data["inputs"]["fuel"].startswith("plant file constant")
    assert data["planned_cop"] > 3.0
    assert all(30.0 <= step["source_temp_c"] <= 40.0 for step in data["steps"])


def test_the_planned_cop_of_the_datacentre_follows_its_warm_source() -> None:
    plant = load_plant(DATACENTRE).with_planner(horizon_h=24)
    run = plan_once(plant, load_scenario(default_scenario_path()), START)
    assert run.plan.usable
    heat = sum(sum(series) for series in run.plan.unit_heat_kw)
    power = sum(
        heat_kw / cop
        for unit, series in zip(run.plan.inputs.units, run.plan.unit_heat_kw, strict=True)
        for heat_kw, cop in zip(series, unit.cop, strict=True)
    )
    assert heat / power > 3.2  # 2.2 when the source was taken as 0 °C


def test_the_datacentre_plan_takes_no_more_source_heat_than_its_servers_reject() -> None:
    plant = load_plant(DATACENTRE).with_planner(horizon_h=24)
    run = plan_once(plant, load_scenario(default_scenario_path()), START)
    inputs = run.plan.inputs
    assert run.plan.usable and inputs.source_heat_max_kw is not None
    zone = plant.site.plant.timezone
    for k in range(inputs.steps):
        when = inputs.start_utc + timedelta(seconds=k * inputs.step_s)
        loop = plant.site.source.recoverable(when, zone)
        assert loop is not None
        # the forecast is the default IT-load profile's recoverable heat (7.1-8.1 MW)
        assert inputs.source_heat_max_kw[k] == pytest.approx(loop.heat_kw)
        taken_kw = sum(
            run.plan.unit_heat_kw[u][k] - run.plan.unit_power_kw[u][k]
            for u in range(len(inputs.units))
        )
        assert taken_kw <= inputs.source_heat_max_kw[k] + 1e-6
    # a river has no such limit
    river_run = plan_once(
        river().with_planner(horizon_h=24), load_scenario(default_scenario_path()), START
    )
    assert river_run.plan.inputs.source_heat_max_kw is None
