"""Small planner instances for the tests: defaults that are easy to read, overridable per test."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller.core.plan import PlanInputs, UnitPlanData

T0 = datetime(2022, 1, 10, tzinfo=UTC)
# One day of East Denmark (DK2): prices "Source: Energinet (Energi Data Service)", CC BY 4.0;
# carbon intensity "Electricity Maps", ODbL (this excerpt stays under the ODbL).
DK2_PRICES = Path(__file__).resolve().parent / "data" / "dk2_2022_01_10.csv"


def make_unit(name: str = "hp1", steps: int = 16, **overrides: Any) -> UnitPlanData:
    """A 1 MW-heat unit, 30 % minimum load, COP 3, one step minimum run and off."""
    fields: dict[str, Any] = {
        "name": name,
        "heat_min_kw": 300.0,
        "heat_max_kw": 1000.0,
        "cop": (3.0,) * steps,
        "start_cost_eur": 5.0,
        "min_run_steps": 1,
        "min_off_steps": 1,
        "max_starts_per_window": 4,
        "start_window_steps": 4,
        "initially_on": False,
        "steps_in_state": 100,
        "starts_in_window_before": 0,
    }
    fields.update(overrides)
    return UnitPlanData(**fields)


def make_inputs(steps: int = 16, unit_count: int = 1, **overrides: Any) -> PlanInputs:
    """A plant with `unit_count` default units, a 4 MWh tank half full and a 2 MW gas boiler."""
    fields: dict[str, Any] = {
        "start_utc": T0,
        "step_s": 900.0,
        "steps": steps,
        "price_eur_per_mwh": (100.0,) * steps,
        "carbon_g_per_kwh": (150.0,) * steps,
        "heat_demand_kw": (600.0,) * steps,
        "units": tuple(make_unit(f"hp{i + 1}", steps) for i in range(unit_count)),
        "storage_capacity_kwh": 4000.0,
        "storage_initial_kwh": 2000.0,
        "storage_loss_per_step": 0.001,
        "storage_max_charge_kw": None,
        "storage_max_discharge_kw": None,
        "storage_terminal_kwh": None,
        "storage_terminal_value_eur_per_kwh": None,
        "boiler_heat_max_kw": 2000.0,
        "boiler_efficiency": 0.9,
        "boiler_fuel_price_eur_per_mwh": 60.0,
        "boiler_fuel_carbon_g_per_kwh": 202.0,
        "time_limit_s": 10.0,
        "mip_rel_gap": 1e-6,
    }
    fields.update(overrides)
    return PlanInputs(**fields)


def with_units(inputs: PlanInputs, *units: UnitPlanData) -> PlanInputs:
    """The same plant with other units."""
    return replace(inputs, units=tuple(units))


def dk2_day(first_hour_utc: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """24 hourly (price EUR/MWh, carbon g/kWh) from the DK2 file, starting at that hour.

    Source: Energinet (Energi Data Service), CC BY 4.0; carbon intensity: Electricity Maps, ODbL.
    """
    prices: list[float] = []
    carbon: list[float] = []
    with DK2_PRICES.open(newline="") as handle:
        rows = csv.DictReader(handle)
        for row in rows:
            if row["timestamp_utc"] >= first_hour_utc and len(prices) < 24:
                prices.append(float(row["price_eur_per_mwh"]))
                carbon.append(float(row["carbon_g_per_kwh"]))
    if len(prices) != 24:
        raise ValueError(f"no full day at {first_hour_utc} in {DK2_PRICES}")
    return tuple(prices), tuple(carbon)


def per_quarter_hour(hourly: tuple[float, ...]) -> tuple[float, ...]:
    """Each hourly value repeated for its four quarter-hours."""
    return tuple(value for value in hourly for _ in range(4))
