"""The demo's summary says plainly what a policy changed: cash and CO2 adjusted for stored heat,
with signs, and a saving bought with more CO2 called what it is."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from controller.app.demo import DemoSummary, UnitTotals, render_comparison


def _summary(
    policy: str,
    electricity_eur: float,
    co2_kg: float,
    stored_end_kwh: float,
    boiler_heat_kwh: float = 0.0,
    starts: int = 1,
) -> DemoSummary:
    return DemoSummary(
        plant="test",
        start_utc=datetime(2024, 1, 8, tzinfo=UTC),
        simulated_s=86400.0,
        wall_s=10.0,
        cycles=17280,
        heat_demand_kwh=100_000.0,
        heat_delivered_kwh=100_000.0,
        unmet_heat_kwh=0.0,
        hours_below_supply_min_h=0.0,
        electricity_kwh=40_000.0,
        boiler_heat_kwh=boiler_heat_kwh,
        boiler_fuel_kwh=boiler_heat_kwh / 0.9,
        electricity_cost_eur=electricity_eur,
        boiler_fuel_cost_eur=0.0,
        co2_kg=co2_kg,
        units={"hp1": UnitTotals(starts, 24.0, 100_000.0 - boiler_heat_kwh, 40_000.0)},
        tank_min_temp_c=60.0,
        tank_max_temp_c=80.0,
        cycle_p50_ms=1.0,
        cycle_p99_ms=2.0,
        interlocks={},
        tank_energy_start_kwh=50_000.0,
        tank_energy_end_kwh=stored_end_kwh,
        policy=policy,
        carbon_price_eur_per_t=67.0,
    )


def test_stored_heat_taken_from_the_tank_is_charged_back_at_the_runs_average_heat() -> None:
    run = _summary("planner", electricity_eur=5_000.0, co2_kg=10_000.0, stored_end_kwh=40_000.0)
    eur_per_kwh, kg_per_kwh = run.heat_value()
    assert eur_per_kwh == pytest.approx(0.05) and kg_per_kwh == pytest.approx(0.1)
    cash, co2 = run.adjusted()
    assert cash == pytest.approx(5_000.0 + 10_000.0 * 0.05)  # 10 MWh taken from the tank
    assert co2 == pytest.approx(10_000.0 + 10_000.0 * 0.1)
    assert run.carbon_shadow_eur == pytest.approx(67.0 * 10.0)
    assert "adjusted" in run.render() and "carbon shadow" in run.render()


def test_a_saving_bought_with_more_co2_is_said_with_its_sign() -> None:
    rules = _summary("rules", electricity_eur=6_000.0, co2_kg=10_000.0, stored_end_kwh=50_000.0)
    dirty = _summary(
        "planner",
        electricity_eur=4_000.0,
        co2_kg=14_000.0,
        stored_end_kwh=50_000.0,
        boiler_heat_kwh=20_000.0,
        starts=3,
    )
    text = render_comparison(dirty, rules)
    assert "-2,000" in text and "(-33.3 %)" in text  # cash: a saving, negative
    assert "+4.00" in text and "(+40.0 %)" in text  # CO2: an increase, positive
    assert "emits 4.00 t CO2 more" in text
    assert "not a saving this product claims" in text
    clean = _summary("planner", electricity_eur=5_000.0, co2_kg=9_000.0, stored_end_kwh=50_000.0)
    text = render_comparison(clean, rules)
    assert "saves 1,000 EUR and avoids 1.00 t CO2" in text
    assert "not a saving" not in text
