"""Savings today against the price-blind counterfactual: its signs, the tank's valuation and
the day boundary, on the river plant's own specs and COP model."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from controller.app.demo import DEFAULT_PLANT
from controller.config import Plant, load_plant
from controller.core.cop import planned_cop
from controller.core.estimate import PlantState, TankState, UnitState
from controller.core.stage import supply_setpoint_c
from controller.telemetry.daybook import DayBook
from controller.telemetry.savings import PriceBlindDay
from drivers.heat_pump_cop import capacity_fraction

START = datetime(2024, 1, 8, 0, 0, tzinfo=UTC)  # 01:00 in Copenhagen: one local day
STEP_S = 60.0
OUTDOOR_C = 0.0
SOURCE_C = 4.0
LOAD_KW = 8000.0
CARBON_G_PER_KWH = 150.0
TANK_BOTTOM_C = 60.0  # the units' condenser inlet: they draw from the tank's bottom


@pytest.fixture(scope="module")
def plant() -> Plant:
    return load_plant(DEFAULT_PLANT)


def _supply_c(plant: Plant) -> float:
    control = plant.control
    return supply_setpoint_c(plant.site.network, OUTDOOR_C, control.supply_temp_setpoint_c)


def _state(
    plant: Plant, step: int, heat_kw: float, stored_kwh: float, load_kw: float = LOAD_KW
) -> PlantState:
    """The units make `heat_kw` (the first one first) at the COP model, at the rules'
    setpoint; the network takes `load_kw`; the tank holds `stored_kwh`."""
    first, second = plant.site.units
    supply_c = _supply_c(plant)
    cop = planned_cop(first, TANK_BOTTOM_C, supply_c, SOURCE_C)

    def unit(name: str, heat: float) -> UnitState:
        return UnitState(
            name=name,
            data_good=True,
            state_code=2 if heat > 0 else 0,
            remote_active=True,
            alarm_code=0,
            heat_kw=heat,
            power_kw=heat / cop,
            supply_temp_c=supply_c,
            source_temp_c=SOURCE_C,
            run_hours_h=1.0,
            starts_total=1,
            valve_position_pct=100.0,
        )

    capacity_kwh = sum(t.capacity_kwh for t in plant.site.tanks)
    tank = TankState("tank", (TANK_BOTTOM_C,), capacity_kwh, stored_kwh / capacity_kwh, stored_kwh)
    return PlantState(
        now_utc=START + timedelta(seconds=STEP_S * step),
        now_s=STEP_S * step,
        units=(
            unit(first.name, min(heat_kw, first.heat_max_kw)),
            unit(second.name, max(0.0, heat_kw - first.heat_max_kw)),
        ),
        tanks=(tank,),
        boiler=None,
        network_heat_kw=load_kw,
        network_supply_temp_c=supply_c,
        outdoor_temp_c=OUTDOOR_C,
        source_temp_c=SOURCE_C,
        cooling_demand_kw=None,
    )


def _run(
    plant: Plant, hours: list[tuple[float, float]], loads_kw: list[float] | None = None
) -> tuple[DayBook, PriceBlindDay]:
    """Each hour: (heat the plant makes, price), and the network's load (LOAD_KW unless
    given): the tank takes or gives the difference."""
    book = DayBook(plant.site, plant.control)
    blind = PriceBlindDay(plant.site, plant.control)
    stored_kwh = 20000.0
    step = 0
    for hour, (heat_kw, price) in enumerate(hours):
        load_kw = LOAD_KW if loads_kw is None else loads_kw[hour]
        for _ in range(int(3600 / STEP_S)):
            interval_s = 0.0 if step == 0 else STEP_S
            stored_kwh += (heat_kw - load_kw) * interval_s / 3600.0
            state = _state(plant, step, heat_kw, stored_kwh, load_kw)
            book.add(state, interval_s, price, CARBON_G_PER_KWH)
            assert book.today is not None
            blind.add(book.today.day, state, interval_s, price, CARBON_G_PER_KWH)
            step += 1
    return book, blind


def test_running_price_blind_saves_nothing(plant: Plant) -> None:
    book, blind = _run(plant, [(LOAD_KW, 80.0), (LOAD_KW, 200.0)])
    assert book.today is not None
    savings = blind.savings(book.today)
    assert savings is not None
    assert savings.price_blind_cost_eur > 0
    assert savings.savings_eur == pytest.approx(0.0, abs=1e-6)
    assert savings.co2_savings_g == pytest.approx(0.0, abs=1e-3)


def test_heat_shifted_to_the_cheap_hour_is_a_positive_saving(plant: Plant) -> None:
    # the plant makes both hours' heat in the cheap hour; the tank ends where it started
    # (one interval less in the first hour: the first cycle has none behind it)
    book, blind = _run(plant, [(2 * LOAD_KW, 20.0), (0.0, 200.0)])
    assert book.today is not None
    savings = blind.savings(book.today)
    assert savings is not None
    cop = planned_cop(plant.site.units[0], TANK_BOTTOM_C, _supply_c(plant), SOURCE_C)
    hour_mwh = LOAD_KW / cop / 1000.0
    # price-blind buys an hour at 20 and an hour at 200; the plant two hours at 20, less the
    # minute the first cycle did not count, which the tank's valuation gives back
    assert savings.savings_eur == pytest.approx(hour_mwh * (200.0 - 20.0), rel=0.03)
    assert savings.savings_eur > 0
    # the same heat at the same COP emits the same: nothing saved in CO2
    assert savings.co2_savings_g == pytest.approx(0.0, abs=1e-6 * savings.plant_co2_g + 1.0)


def test_heat_left_in_the_tank_is_credited_at_the_counterfactual_cost(plant: Plant) -> None:
    # one price all day: charging the tank costs the plant more, and it is credited for it
    book, blind = _run(plant, [(LOAD_KW * 1.5, 90.0), (LOAD_KW, 90.0)])
    assert book.today is not None
    savings = blind.savings(book.today)
    assert savings is not None
    assert book.today.electricity_cost_eur > savings.price_blind_cost_eur * 0.9  # paid more
    assert savings.savings_eur == pytest.approx(0.0, abs=1e-6 * savings.plant_cost_eur)


def test_a_peak_above_the_heat_pumps_is_bridged_by_the_tank_not_the_boiler(plant: Plant) -> None:
    """The rules run the units flat out through a peak above their rating, drawing the tank,
    and refill it after: price-blind does the same, so nothing is saved, and no gas burnt."""
    capacity_kw = sum(spec.heat_max_kw for spec in plant.site.units)
    assert plant.site.boiler is not None
    loads_kw = [capacity_kw + 4000.0, capacity_kw - 4000.0]
    book, blind = _run(plant, [(capacity_kw, 200.0), (capacity_kw, 50.0)], loads_kw)
    assert book.today is not None
    savings = blind.savings(book.today)
    assert savings is not None
    assert book.today.boiler_fuel_kwh == 0.0
    # the plant's tank ends a minute's refill above midnight (its first cycle has no interval
    # behind it): that is credited, a thousandth of the day
    assert savings.savings_eur == pytest.approx(0.0, abs=2e-3 * savings.plant_cost_eur)
    assert savings.co2_savings_g == pytest.approx(0.0, abs=2e-3 * savings.plant_co2_g)


def test_a_new_day_starts_from_zero(plant: Plant) -> None:
    blind = PriceBlindDay(plant.site, plant.control)
    book = DayBook(plant.site, plant.control)
    state = _state(plant, 0, LOAD_KW, 20000.0)
    book.add(state, 0.0, 100.0, CARBON_G_PER_KWH)
    blind.add(date(2024, 1, 7), state, 3600.0, 100.0, CARBON_G_PER_KWH)
    assert book.today is not None
    assert blind.savings(book.today) is None  # counted for another day
    blind.add(book.today.day, state, 0.0, 100.0, CARBON_G_PER_KWH)
    savings = blind.savings(book.today)
    assert savings is not None and savings.price_blind_cost_eur == 0.0


def test_a_unit_missing_from_the_state_is_not_available(plant: Plant) -> None:
    """A state that does not name every unit of the site (a partial test rig) is counted with
    the units it has; the heat then comes from the boiler beyond their capacity."""
    state = _state(plant, 1, LOAD_KW, 20000.0)
    state = dataclasses.replace(state, units=state.units[:1])
    book = DayBook(plant.site, plant.control)
    blind = PriceBlindDay(plant.site, plant.control)
    book.add(state, 60.0, 100.0, CARBON_G_PER_KWH)
    assert book.today is not None
    blind.add(book.today.day, state, 60.0, 100.0, CARBON_G_PER_KWH)
    savings = blind.savings(book.today)
    assert savings is not None and savings.price_blind_cost_eur > 0


def test_the_price_blind_plant_makes_no_more_than_the_units_can_at_this_source() -> None:
    """The counterfactual counts capacity as the planner does: an air-source unit's rating
    falls in the cold, and a data centre's units take no more than the servers reject. On
    nameplate it read negative savings on every cold day of a plant that used its boiler."""
    plants = Path(__file__).resolve().parents[2] / "deploy" / "plants"
    air = load_plant(plants / "air_subzero_2x8mw.toml")
    state = dataclasses.replace(_state(air, 0, 0.0, 0.0), outdoor_temp_c=-15.0)
    blind = PriceBlindDay(air.site, air.control)
    rated_kw = sum(spec.heat_max_kw for spec in air.site.units)
    cold_kw = blind.heat_pump_capacity_kw(state, list(air.site.units))
    expected_kw = sum(spec.heat_max_kw * capacity_fraction(spec, -15.0) for spec in air.site.units)
    assert cold_kw == pytest.approx(expected_kw)
    assert cold_kw < 0.75 * rated_kw

    centre = load_plant(plants / "datacentre_12mw.toml")
    blind = PriceBlindDay(centre.site, centre.control)
    specs = list(centre.site.units)
    loop = centre.site.source.recoverable(START, centre.site.plant.timezone)
    assert loop is not None
    # the capacity reads only the clock, the source and the tank off the state
    idle = dataclasses.replace(_state(air, 0, 0.0, 0.0), source_temp_c=loop.temp_c)
    capacity_kw = blind.heat_pump_capacity_kw(idle, specs)
    assert capacity_kw < sum(spec.heat_max_kw for spec in specs)
    assert capacity_kw < loop.heat_kw * 2.0  # heat = recoverable x COP/(COP-1), COP > 2
