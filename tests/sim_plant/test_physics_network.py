"""Network demand and delivery, cooling demand, and the source-temperature model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.site import SiteConfig, SourceSpec, load_site
from sim_plant.physics import Boundary, PlantModel
from sim_plant.physics.network import NetworkModel
from sim_plant.physics.source import SourceModel
from sim_plant.physics.water import WATER_CP_KJ_PER_KG_K

RIVER = Path(__file__).resolve().parents[2] / "deploy" / "plants" / "river_20mw.toml"
START = datetime(2025, 1, 15, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def river() -> SiteConfig:
    return load_site(RIVER)


@pytest.fixture(scope="module")
def network(river: SiteConfig) -> NetworkModel:
    return NetworkModel(river.network, WATER_CP_KJ_PER_KG_K)


def test_demand_is_linear_in_outdoor_temperature(network: NetworkModel) -> None:
    spec = network.spec  # 24 MW at -12 °C, 15 % base load from 17 °C
    assert network.heat_demand_kw(-12.0) == pytest.approx(24000.0)
    assert network.heat_demand_kw(17.0) == pytest.approx(3600.0)
    assert network.heat_demand_kw(25.0) == pytest.approx(3600.0)
    assert network.heat_demand_kw(2.5) == pytest.approx((24000.0 + 3600.0) / 2)
    assert network.heat_demand_kw(-20.0) > spec.design_heat_kw  # colder than design: more


def test_supply_setpoint_follows_the_weather_compensation_curve(network: NetworkModel) -> None:
    assert network.supply_setpoint_c(-12.0) == pytest.approx(80.0)
    assert network.supply_setpoint_c(-25.0) == pytest.approx(80.0)
    assert network.supply_setpoint_c(17.0) == pytest.approx(70.0)
    assert network.supply_setpoint_c(30.0) == pytest.approx(70.0)
    assert network.supply_setpoint_c(2.5) == pytest.approx(75.0)


def test_demand_is_met_from_a_hot_top_and_scaled_down_from_a_cold_one(
    network: NetworkModel,
) -> None:
    met = network.draw(10000.0, 80.0, 75.0)
    assert met.delivered_kw == 10000.0 and not met.under_supplied
    assert met.supply_temp_c == 75.0  # tempered by the mixing valve
    assert met.flow_kg_per_s == pytest.approx(10000.0 / (WATER_CP_KJ_PER_KG_K * (80.0 - 42.0)))
    cold = network.draw(10000.0, 55.0, 75.0)
    assert cold.under_supplied
    assert cold.delivered_kw == pytest.approx(10000.0 * (55.0 - 42.0) / (65.0 - 42.0))
    assert network.draw(10000.0, 40.0, 75.0).delivered_kw == 0.0


def test_cold_tank_and_no_running_unit_leave_heat_unmet(river: SiteConfig) -> None:
    # a tank counted from 45 °C: at SoC 0 its water is too cold for the network
    tanks = [t.model_copy(update={"min_temp_c": 45.0}) for t in river.tanks]
    cold = river.model_copy(update={"boiler": None, "tanks": tanks})
    model = PlantModel(cold, START, initial_soc=0.0)
    for unit in ("hp1", "hp2"):  # held off by a live supervisor
        model.command(unit, "remote_request", 1)
        model.command(unit, "enable_cmd", 0)
    now = START
    for beat in range(1, 721):  # one hour
        for unit in ("hp1", "hp2"):
            model.command(unit, "heartbeat", beat)
        model.step(5.0, Boundary(now_utc=now, outdoor_temp_c=-5.0, heat_demand_kw=12000.0))
        now += timedelta(seconds=5)
    totals = model.totals
    assert totals.heat_demand_kwh == pytest.approx(12000.0)
    assert totals.unmet_heat_kwh > 0.5 * totals.heat_demand_kwh
    assert totals.heat_delivered_kwh + totals.unmet_heat_kwh == pytest.approx(12000.0)
    assert totals.hours_below_supply_min_h == pytest.approx(1.0)
    assert totals.unit_heat_kwh == {"hp1": 0.0, "hp2": 0.0}
    assert model.value("plant", "network_heat_kw") < 12000.0 * (45.0 - 42.0) / (65.0 - 42.0)
    assert model.value("plant", "network_supply_temp_c") < 45.0


def test_hot_tank_meets_demand(river: SiteConfig) -> None:
    model = PlantModel(river, START, initial_soc=0.8)
    model.step(5.0, Boundary(now_utc=START, outdoor_temp_c=-5.0))
    demand_kw = model.network.heat_demand_kw(-5.0)
    assert model.value("plant", "network_heat_kw") == pytest.approx(demand_kw)
    assert model.value("plant", "network_supply_temp_c") == pytest.approx(
        model.network.supply_setpoint_c(-5.0)
    )
    assert model.value("plant", "network_return_temp_c") == 42.0
    assert model.value("plant", "outdoor_temp_c") == -5.0
    assert model.totals.unmet_heat_kwh == 0.0


def test_cooling_demand_and_simultaneous_cooling_from_running_units(river: SiteConfig) -> None:
    network_spec = river.network.model_copy(update={"cooling_design_kw": 5000.0})
    site = river.model_copy(update={"network": network_spec})
    cooling = NetworkModel(network_spec, WATER_CP_KJ_PER_KG_K)
    assert cooling.cooling_demand_kw(0.0) == pytest.approx(1000.0)  # 20 % base
    assert cooling.cooling_demand_kw(21.0) == pytest.approx(3000.0)
    assert cooling.cooling_demand_kw(35.0) == pytest.approx(5000.0)
    model = PlantModel(site, START, initial_soc=0.3)
    model.command("hp1", "remote_request", 1)
    model.command("hp1", "enable_cmd", 1)
    model.command("hp1", "heat_setpoint_kw", 3500.0)
    now = START
    for beat in range(1, 121):  # ten minutes: running at minimum load after the start delay
        model.command("hp1", "heartbeat", beat)
        model.step(5.0, Boundary(now_utc=now, outdoor_temp_c=30.0, heat_demand_kw=3000.0))
        now += timedelta(seconds=5)
    assert model.value("plant", "cooling_demand_kw") == pytest.approx(5000.0)
    before = model.totals.cooling_delivered_kwh
    model.command("hp1", "heartbeat", 0)
    model.step(3600.0, Boundary(now_utc=now, outdoor_temp_c=30.0, heat_demand_kw=3000.0))
    # the hour's evaporator heat: its COP moves with the tank bottom (the condenser inlet), so
    # it is read from the hour's own step
    evaporator_kw = model.value("hp1", "heat_kw") - model.value("hp1", "power_kw")
    assert model.totals.cooling_delivered_kwh - before == pytest.approx(evaporator_kw, rel=1e-6)
    assert model.totals.cooling_demand_kwh > model.totals.cooling_delivered_kwh


def test_plant_without_cooling_reports_none(river: SiteConfig) -> None:
    model = PlantModel(river, START)
    model.step(5.0, Boundary(now_utc=START, outdoor_temp_c=30.0))
    assert model.value("plant", "cooling_demand_kw") == 0.0
    assert model.totals.cooling_demand_kwh == 0.0


def test_source_follows_season_and_is_clipped(river: SiteConfig) -> None:
    source = SourceModel(river.source, "UTC")  # 9.5 ± 7 °C, coldest on day 45, 1..20 °C
    coldest = source.temp_c(datetime(2025, 2, 14, 0, tzinfo=UTC))  # day 45 at midnight
    warmest = source.temp_c(datetime(2025, 8, 16, 0, tzinfo=UTC))
    assert coldest == pytest.approx(2.5, abs=0.01)
    assert warmest == pytest.approx(16.5, abs=0.01)
    narrow = river.source.model_copy(update={"min_temp_c": 4.0, "max_temp_c": 15.0})
    clipped = SourceModel(narrow, "UTC")
    assert clipped.temp_c(datetime(2025, 2, 14, tzinfo=UTC)) == 4.0
    assert clipped.temp_c(datetime(2025, 8, 16, tzinfo=UTC)) == 15.0


def test_waste_heat_source_peaks_mid_afternoon_local_time() -> None:
    spec = SourceSpec(kind="waste_heat", mean_temp_c=35.0, daily_amplitude_k=4.0)
    source = SourceModel(spec, "Europe/Copenhagen")
    day = datetime(2025, 1, 20, tzinfo=UTC)
    temps = {hour: source.temp_c(day + timedelta(hours=hour)) for hour in range(24)}
    assert max(temps, key=temps.__getitem__) == 14  # 15:00 in Copenhagen (UTC+1)
    assert temps[14] == pytest.approx(39.0)
    assert min(temps, key=temps.__getitem__) == 2  # 03:00 local


def test_boundary_source_temperature_overrides_the_model(river: SiteConfig) -> None:
    model = PlantModel(river, START)
    model.step(5.0, Boundary(now_utc=START, outdoor_temp_c=0.0, source_temp_c=11.5))
    assert model.value("plant", "source_temp_c") == 11.5
    assert model.value("hp1", "source_in_temp_c") == 11.5
    model.step(5.0, Boundary(now_utc=START, outdoor_temp_c=0.0))
    assert model.value("plant", "source_temp_c") == pytest.approx(
        SourceModel(river.source, river.plant.timezone).temp_c(START)
    )
