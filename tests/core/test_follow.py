"""Plan following: the plan's step + the measured state -> targets."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from controller.config import Plant
from controller.core.estimate import estimate
from controller.core.follow import follow_plan
from controller.core.history import first_history
from controller.core.plan import Plan
from controller.core.situation import Situation
from controller.core.tank_limit import soc_below_high_limit
from tests.core.fakes import T0, plant_snapshot, river, situation
from tests.core.plan.factories import make_inputs

STEPS = 4


def _plan(demand_kw: float = 8000.0, hp1_kw: float = 6000.0, boiler_kw: float = 0.0) -> Plan:
    """hp1 planned on, hp2 off, for an hour of quarter-hour steps from T0."""
    inputs = make_inputs(
        steps=STEPS,
        start_utc=T0,
        heat_demand_kw=(demand_kw,) * STEPS,
        price_eur_per_mwh=(42.0,) * STEPS,
    )
    return Plan(
        inputs=inputs,
        status="optimal",
        usable=True,
        objective_eur=0.0,
        mip_gap=0.0,
        solve_time_s=0.0,
        unit_names=("hp1", "hp2"),
        unit_on=((True,) * STEPS, (False,) * STEPS),
        unit_start=((False,) * STEPS, (False,) * STEPS),
        unit_heat_kw=((hp1_kw,) * STEPS, (0.0,) * STEPS),
        boiler_heat_kw=(boiler_kw,) * STEPS,
        storage_kwh=(0.0,) * STEPS,
    )


def _now(plant: Plant, tank_c: float, running: dict[str, bool], demand_kw: float) -> Situation:
    snap = plant_snapshot(plant.site, tank_c, running, demand_kw=demand_kw)
    snap.now_utc = T0 + timedelta(minutes=20)
    state = estimate(snap, plant.site)
    return situation(plant, state, {u.name: first_history(u, -10_000.0) for u in state.units})


def test_the_plans_commitment_and_load_are_followed_when_all_goes_to_plan() -> None:
    plant = river()
    now = _now(plant, 75.0, {"hp1": True}, demand_kw=8000.0)
    targets = follow_plan(_plan(), "plan", now, now.state.energy_kwh)
    assert targets.source == "plan"
    assert targets.unit_on == {"hp1": True, "hp2": False}
    assert targets.unit_heat_kw == {"hp1": 6000.0, "hp2": 0.0}
    assert targets.boiler_heat_kw == 0.0
    assert targets.reasons == {
        "hp1": "plan: run at 6000 kW, price 42.0 EUR/MWh",
        "hp2": "plan: off",
    }


def test_demand_and_tank_deviations_trim_the_running_units() -> None:
    plant = river()
    now = _now(plant, 75.0, {"hp1": True}, demand_kw=8500.0)
    energy_kwh = now.state.energy_kwh
    assert energy_kwh is not None
    recovery_h = plant.control.staging.soc_recovery_h
    # 500 kW more demand than forecast, and 300 kWh less in the tank than the plan expects
    targets = follow_plan(_plan(), "last_plan", now, energy_kwh + 300.0)
    assert targets.unit_heat_kw["hp1"] == pytest.approx(6000.0 + 500.0 + 300.0 / recovery_h)
    assert targets.unit_heat_kw["hp2"] == 0.0
    assert targets.reasons["hp1"].startswith("last_plan: run at 6000 kW")
    # without a planned energy the tank counts as on plan
    assert follow_plan(_plan(), "plan", now, None).unit_heat_kw["hp1"] == pytest.approx(6500.0)


def test_a_low_tank_calls_the_boiler_for_what_the_confirmed_units_cannot_deliver() -> None:
    plant = river()
    # the tank nearly empty; hp1 is planned on but not yet confirmed running
    now = _now(plant, 66.0, {}, demand_kw=8000.0)
    soc = now.state.soc
    assert soc is not None and soc < plant.control.staging.soc_boiler_on
    targets = follow_plan(_plan(), "plan", now, now.state.energy_kwh)
    assert targets.boiler_heat_kw == pytest.approx(8000.0)  # all of the demand
    running = _now(plant, 66.0, {"hp1": True}, demand_kw=8000.0)
    targets = follow_plan(_plan(), "plan", running, running.state.energy_kwh)
    assert targets.boiler_heat_kw == pytest.approx(2000.0)  # the demand above hp1's 6000 kW
    # the plan's own boiler heat is the floor
    assert follow_plan(_plan(boiler_kw=3000.0), "plan", running, None).boiler_heat_kw == 3000.0


def test_a_plan_that_does_not_cover_now_is_refused() -> None:
    plant = river()
    now = _now(plant, 75.0, {"hp1": True}, demand_kw=8000.0)
    late = replace(now, state=replace(now.state, now_utc=T0 + timedelta(hours=2)))
    with pytest.raises(ValueError, match="does not cover"):
        follow_plan(_plan(), "plan", late, None)


def _alarmed(plant: Plant, running: dict[str, bool], since_s: float = -10_000.0) -> Situation:
    """hp1 with an active alarm; units in their state since `since_s`."""
    snap = plant_snapshot(plant.site, 75.0, running, demand_kw=8000.0)
    snap.now_utc = T0 + timedelta(minutes=20)
    snap.values[("hp1", "alarm_code", None)] = 4.0
    state = estimate(snap, plant.site)
    return situation(plant, state, {u.name: first_history(u, since_s) for u in state.units})


def test_a_start_the_plan_gives_an_alarmed_unit_goes_to_its_healthy_twin() -> None:
    plant = river()
    now = _alarmed(plant, {})
    targets = follow_plan(_plan(), "plan", now, now.state.energy_kwh)
    assert targets.unit_on == {"hp1": False, "hp2": True}
    assert targets.unit_heat_kw == {"hp1": 0.0, "hp2": 6000.0}
    assert targets.reasons["hp2"] == (
        "plan: run at 6000 kW, price 42.0 EUR/MWh, in place of hp1 (alarm 4 active)"
    )
    assert targets.reasons["hp1"] == "plan: off, hp2 runs in its place (alarm 4 active)"
    # once the twin runs, it keeps the place: no start for hp1, no stop for hp2
    running = _alarmed(plant, {"hp2": True})
    assert follow_plan(_plan(), "plan", running, None).unit_on == {"hp1": False, "hp2": True}


def test_a_stop_the_plan_gives_a_healthy_unit_goes_to_its_alarmed_twin() -> None:
    plant = river()
    plan = replace(_plan(), unit_on=((True,) * STEPS, (False,) * STEPS))
    both = {"hp1": True, "hp2": True}
    targets = follow_plan(plan, "plan", _alarmed(plant, both), None)
    assert targets.unit_on == {"hp1": False, "hp2": True}
    # inside its minimum run time the alarmed unit runs on, and the plan's stop stands
    young = follow_plan(plan, "plan", _alarmed(plant, both, since_s=10_000.0 - 600.0), None)
    assert young.unit_on == {"hp1": True, "hp2": False}


@pytest.mark.parametrize(
    "difference",
    [
        {"isentropic_efficiency": 0.7},
        {"capacity_by_source_temp": ((-15.0, 0.7), (7.0, 1.0))},
        {"part_load_cop_factor": 0.9},
    ],
)
def test_a_unit_with_another_cop_model_is_no_twin(difference: dict[str, object]) -> None:
    # the plan chose hp1 for its COP and capacity: a unit that differs in them is not its
    # stand-in (the old twin test compared only the retired carnot_efficiency)
    plant = river()
    units = [plant.site.units[0], plant.site.units[1].model_copy(update=difference)]
    plant = replace(plant, site=plant.site.model_copy(update={"units": units}))
    targets = follow_plan(_plan(), "plan", _alarmed(plant, {}), None)
    assert targets.unit_on == {"hp1": True, "hp2": False}


def test_without_a_healthy_twin_the_alarmed_unit_starts_as_planned() -> None:
    plant = river()
    both_planned = replace(
        _plan(), unit_on=((True,) * STEPS, (True,) * STEPS), unit_heat_kw=((5000.0,) * STEPS,) * 2
    )
    targets = follow_plan(both_planned, "plan", _alarmed(plant, {}), None)
    assert targets.unit_on == {"hp1": True, "hp2": True}


def _both_on(boiler_kw: float = 0.0) -> Plan:
    both = _plan(boiler_kw=boiler_kw)
    return replace(
        both,
        unit_on=((True,) * STEPS, (True,) * STEPS),
        unit_heat_kw=((6000.0,) * STEPS, (4000.0,) * STEPS),
    )


def test_a_tank_at_its_high_limit_takes_only_what_the_network_draws() -> None:
    plant = river()  # tank 65-85 °C, interlock at 83 °C, stager's soft band from 80 °C
    running = {"hp1": True, "hp2": True}
    # top at 82 °C, demand 5 MW: two minimum loads (7 MW) would charge on into the interlock;
    # the unit with the least wanted heat goes, the other can run at its 3.5 MW
    now = _now(plant, 82.0, running, demand_kw=5000.0)
    targets = follow_plan(_both_on(boiler_kw=3000.0), "plan", now, None)
    assert targets.unit_on == {"hp1": True, "hp2": False}
    assert targets.unit_heat_kw["hp2"] == 0.0
    assert targets.reasons["hp2"] == "plan: off, tank at its high limit takes no more than demand"
    assert targets.boiler_heat_kw == 0.0
    # below one minimum load, nothing runs
    low = follow_plan(_both_on(), "plan", _now(plant, 82.0, running, demand_kw=2000.0), None)
    assert low.unit_on == {"hp1": False, "hp2": False}
    # a demand the minimum loads do not exceed keeps the plan's units
    high = follow_plan(_both_on(), "plan", _now(plant, 82.0, running, demand_kw=9000.0), None)
    assert high.unit_on == {"hp1": True, "hp2": True}
    # in the lower half of the soft band the stager's minimum load is enough
    lower = follow_plan(_both_on(), "plan", _now(plant, 81.0, running, demand_kw=2000.0), None)
    assert lower.unit_on == {"hp1": True, "hp2": True}


def test_the_plans_band_ends_below_the_high_limit_for_every_reference_tank() -> None:
    plant = river()
    control = plant.control
    assert soc_below_high_limit(plant.site, control) == pytest.approx((80.0 - 65.0) / 20.0)
    # a wider soft band or margin lowers it; a tank without room below its margins holds 0
    wider = control.model_copy(
        update={"staging": control.staging.model_copy(update={"high_limit_soft_band_k": 8.0})}
    )
    assert soc_below_high_limit(plant.site, wider) == pytest.approx((75.0 - 65.0) / 20.0)
    none = control.model_copy(
        update={"safety": control.safety.model_copy(update={"tank_high_margin_k": 25.0})}
    )
    assert soc_below_high_limit(plant.site, none) == 0.0
