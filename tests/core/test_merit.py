"""Merit order: the cheaper source now (carbon included), the tank charged in cheap hours."""

from __future__ import annotations

from dataclasses import replace

import pytest

from controller.config import Plant
from controller.core.commands import Targets
from controller.core.cop import planned_cop
from controller.core.estimate import estimate
from controller.core.merit import MeritPrices, merit_choice, merit_targets, plant_cop
from controller.core.situation import Situation
from controller.core.stage import stage
from drivers.heat_pump_cop import unit_cop
from tests.core.fakes import city, plant_snapshot, settled_histories, situation

EVERYONE = {"hp1", "hp2", "hp3", "hp4"}


def _situation(
    plant: Plant, running: set[str], demand_kw: float, tank_c: float = 80.0
) -> Situation:
    snap = plant_snapshot(plant.site, tank_c, dict.fromkeys(running, True), demand_kw=demand_kw)
    state = estimate(snap, plant.site)
    return situation(plant, state, settled_histories(state))


def _prices(price: float, day_mean: float, carbon: float = 100.0) -> MeritPrices:
    return MeritPrices(
        price_eur_per_mwh=price,
        carbon_g_per_kwh=carbon,
        day_mean_price_eur_per_mwh=day_mean,
        day_mean_carbon_g_per_kwh=carbon,
    )


def _on(targets: Targets) -> set[str]:
    return {name for name, on in targets.unit_on.items() if on}


def test_the_cop_is_the_one_model_at_the_supply_setpoint_and_the_source() -> None:
    plant = city()
    now = _situation(plant, set(), 60_000.0)
    # outdoor -2 °C: 80.5 °C supply by weather compensation; no source reading: the site's 1.5 °C;
    # the condenser takes the tank's bottom water (80 °C here), so it must heat to 85 °C
    spec = plant.site.units[0]
    assert plant_cop(now) == pytest.approx(planned_cop(spec, 80.0, 80.5, 1.5), 1e-9)
    assert planned_cop(spec, 80.0, 80.5, 1.5) == pytest.approx(
        unit_cop(spec, 80.0, 85.0, 1.5, 1.5 - spec.source_cooling_k), 1e-9
    )
    # a tank with a cold bottom makes the same supply cheaper
    assert plant_cop(_situation(plant, set(), 60_000.0, tank_c=66.0)) > 1.05 * plant_cop(now)


def test_a_cheap_hour_charges_the_tank() -> None:
    plant = city()
    now = _situation(plant, {"hp1", "hp2"}, 60_000.0)
    choice = merit_choice(now, _prices(20.0, 60.0), 0.0)
    assert choice.source == "heat_pump" and choice.charge
    targets = merit_targets(now, None, _prices(20.0, 60.0), 0.0)
    assert len(_on(targets)) == 3  # 60 MW and a tank to fill: a third unit
    assert sum(targets.unit_heat_kw.values()) > 60_000.0 + 50_000.0
    assert targets.boiler_heat_kw == 0.0
    assert targets.source == "merit" and "charging" in targets.reasons["hp1"]


def test_a_dear_hour_draws_the_tank_down_on_fewer_units() -> None:
    plant = city()
    now = _situation(plant, {"hp1", "hp2"}, 60_000.0)
    targets = merit_targets(now, None, _prices(70.0, 60.0), 0.0)
    assert merit_choice(now, _prices(70.0, 60.0), 0.0).source == "heat_pump"
    assert len(_on(targets)) == 1  # the tank above 40 % gives heat: one unit carries the rest
    assert sum(targets.unit_heat_kw.values()) < 60_000.0
    assert "drawing" in targets.reasons["hp1"] or "drawing" in targets.reasons["hp2"]


def test_a_dear_hour_with_cheap_gas_uses_the_boiler() -> None:
    plant = city()
    now = _situation(plant, set(), 100_000.0, tank_c=76.0)  # 40 %: the load is the demand
    prices = _prices(300.0, 120.0)
    choice = merit_choice(now, prices, 0.0)
    assert choice.source == "boiler"
    assert choice.boiler_eur_per_mwh == pytest.approx(45.0 / 0.94)
    assert choice.heat_pump_eur_per_mwh == pytest.approx(300.0 / plant_cop(now))
    targets = merit_targets(now, None, prices, 0.0)
    assert targets.boiler_heat_kw == pytest.approx(80_000.0)  # its maximum
    # the 20 MW it cannot give is below one unit's efficient load: the tank gives it
    assert _on(targets) == set()
    command = stage(targets, now, None).boiler
    assert command is not None and command.enable
    heat_pump_eur_per_mwh = 300.0 / plant_cop(now)
    assert command.reason.startswith(
        f"cheaper than the heat pumps: heat pumps {heat_pump_eur_per_mwh:.1f} EUR/MWh"
    )


def test_when_the_boiler_becomes_cheaper_the_units_stage_down_and_it_takes_over() -> None:
    plant = city()
    running, previous = set(EVERYONE), None
    boiler_kw = []
    for _ in range(3):
        now = _situation(plant, running, 100_000.0, tank_c=76.0)
        previous = merit_targets(now, previous, _prices(300.0, 120.0), 0.0)
        assert len(_on(previous)) == len(running) - 1  # one unit a cycle
        running = _on(previous)
        # the boiler gives what the units still running give at their minimum load does not
        assert previous.boiler_heat_kw == pytest.approx(
            min(80_000.0, 100_000.0 - 13_200.0 * len(running))
        )
        boiler_kw.append(previous.boiler_heat_kw)
        assert "boiler first" in " ".join(previous.reasons.values())
    assert boiler_kw == sorted(boiler_kw)
    # the last unit carries the 20 MW beyond the boiler's maximum: it stays
    assert len(running) == 1 and boiler_kw[-1] == pytest.approx(80_000.0)


def test_with_the_boiler_cheaper_and_the_load_beyond_it_units_cover_the_rest() -> None:
    plant = city()
    now = _situation(plant, set(), 160_000.0, tank_c=76.0)
    targets = merit_targets(now, None, _prices(300.0, 120.0), 0.0)
    assert targets.boiler_heat_kw == pytest.approx(80_000.0)
    assert len(_on(targets)) == 1  # 80 MW left for the units
    running = _on(targets)
    following = merit_targets(
        _situation(plant, running, 160_000.0, tank_c=76.0), targets, _prices(300.0, 120.0), 0.0
    )
    assert len(_on(following)) == 2
    assert following.boiler_heat_kw == pytest.approx(80_000.0)


def test_the_carbon_price_can_turn_the_choice_to_the_boiler() -> None:
    plant = city()
    now = _situation(plant, set(), 60_000.0)
    cop = plant_cop(now)
    boiler = 45.0 / 0.94
    price = 0.95 * boiler * cop  # heat pumps 5 % cheaper without a carbon price
    prices = _prices(price, price, carbon=600.0)
    assert merit_choice(now, prices, 0.0).source == "heat_pump"
    # at 100 EUR/t: heat pumps (price + 60) / COP, boiler (45 + 20.2) / 0.94
    choice = merit_choice(now, prices, 100.0)
    assert choice.heat_pump_eur_per_mwh == pytest.approx((price + 60.0) / cop)
    assert choice.boiler_eur_per_mwh == pytest.approx((45.0 + 20.2) / 0.94)
    assert choice.source == "boiler"


def test_a_nearly_empty_tank_starts_a_unit_even_when_the_boiler_is_cheaper() -> None:
    plant = city()
    now = _situation(plant, set(), 20_000.0, tank_c=70.0)  # 10 %
    targets = merit_targets(now, None, _prices(300.0, 120.0), 0.0)
    assert len(_on(targets)) == 1 and targets.boiler_heat_kw > 0.0


def test_a_quoted_fuel_price_replaces_the_plant_files_constant() -> None:
    now = _situation(city(), set(), 100_000.0, tank_c=76.0)
    dear_gas = replace(_prices(300.0, 120.0), fuel_price_eur_per_mwh=330.0)  # 2022's peak
    choice = merit_choice(now, dear_gas, 0.0)
    assert choice.boiler_eur_per_mwh == pytest.approx(330.0 / 0.94)
    assert choice.source == "heat_pump"
