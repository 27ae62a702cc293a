"""A realistic day: the 20 MW river plant on a January day of real DK2 prices and carbon."""

from __future__ import annotations

import math

from controller.core.plan import PlanInputs, UnitPlanData, solve_plan
from tests.core.plan.checker import assert_plan_valid
from tests.core.plan.factories import T0, dk2_day, per_quarter_hour

STEPS = 96
TANK_KWH = 2500 * 975.0 * 4.19 * (85 - 45) / 3600.0  # deploy/plants/river_20mw.toml


def river_inputs() -> PlanInputs:
    prices, carbon = dk2_day("2022-01-10T00:00Z")
    hours = [t / 4.0 for t in range(STEPS)]
    # Colder in the early morning, warmer in the afternoon; a morning draw-off peak.
    outdoor_c = [-1.0 + 3.0 * math.cos(2 * math.pi * (h - 15.0) / 24.0) for h in hours]
    demand_kw = [
        24_000.0 * (0.15 + 0.85 * (17.0 - t_out) / 29.0) * (1.1 if 6 <= h < 9 else 1.0)
        for t_out, h in zip(outdoor_c, hours, strict=True)
    ]
    supply_c = [70.0 + 10.0 * (17.0 - t_out) / 29.0 for t_out in outdoor_c]
    river_c = 3.0
    cop = tuple(0.52 * (s + 273.15) / (s - river_c) for s in supply_c)
    units = tuple(
        UnitPlanData(
            name=name,
            heat_min_kw=3_500.0,
            heat_max_kw=10_000.0,
            cop=cop,
            start_cost_eur=40.0,
            min_run_steps=2,
            min_off_steps=1,
            max_starts_per_window=2,
            start_window_steps=4,
            initially_on=name == "hp1",
            steps_in_state=1 if name == "hp1" else 20,
            starts_in_window_before=1 if name == "hp1" else 0,
            part_load_cop_factor=0.9,
        )
        for name in ("hp1", "hp2")
    )
    return PlanInputs(
        start_utc=T0,
        step_s=900.0,
        steps=STEPS,
        price_eur_per_mwh=per_quarter_hour(prices),
        carbon_g_per_kwh=per_quarter_hour(carbon),
        heat_demand_kw=tuple(demand_kw),
        units=units,
        storage_capacity_kwh=TANK_KWH,
        storage_initial_kwh=0.4 * TANK_KWH,
        storage_loss_per_step=0.0002,
        storage_max_charge_kw=20_000.0,
        storage_max_discharge_kw=20_000.0,
        storage_terminal_kwh=None,
        storage_terminal_value_eur_per_kwh=None,
        boiler_heat_max_kw=12_000.0,
        boiler_efficiency=0.93,
        boiler_fuel_price_eur_per_mwh=45.0,
        boiler_fuel_carbon_g_per_kwh=202.0,
        carbon_price_eur_per_t=80.0,
        time_limit_s=10.0,
        mip_rel_gap=0.01,
    )


def test_river_plant_day_is_valid_and_buys_power_in_the_cheaper_hours() -> None:
    inputs = river_inputs()
    plan = solve_plan(inputs)
    assert plan.status == "optimal"
    assert plan.mip_gap <= 0.01
    assert_plan_valid(plan)
    assert sum(plan.unmet_heat_kw) == 0.0
    assert plan.storage_kwh[-1] >= inputs.storage_initial_kwh - 1e-3
    # The energy-weighted price paid is well below the day's average price.
    energy = plan.grid_power_kw
    paid = sum(p * e for p, e in zip(inputs.price_eur_per_mwh, energy, strict=True)) / sum(energy)
    day_mean = sum(inputs.price_eur_per_mwh) / STEPS
    assert paid < day_mean - 5.0
    # hp1 started one step before t0 with a two-step minimum run: it runs at step 0.
    assert plan.unit_on[0][0]
