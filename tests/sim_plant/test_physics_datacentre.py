"""The data-centre plant's source follows its IT load; the heat pumps never take more heat than
the servers reject, and the dry coolers take the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.kinds import Role
from drivers.site import SiteConfig, load_site
from sim_plant.physics import Boundary, PlantModel
from sim_plant.physics.heat_recovery import evaporator_kw

DATACENTRE = Path(__file__).resolve().parents[2] / "deploy" / "plants" / "datacentre_12mw.toml"
START = datetime(2025, 1, 15, 0, tzinfo=UTC)
STEP_S = 5.0
STEPS = 2 * 720  # two hours
UNITS = ("hp1", "hp2", "hp3")


@pytest.fixture(scope="module")
def site() -> SiteConfig:
    return load_site(DATACENTRE)


def stored_kwh(model: PlantModel) -> float:
    return sum(tank.stored_kj() for tank in model.tanks) / 3600.0


def run_all_units_flat_out(model: PlantModel, it_load_kw: float) -> list[tuple[float, float]]:
    """Every unit asked for full output for two hours at a constant IT load; per step the heat
    the evaporators took and the heat the servers put into the loop."""
    taken: list[tuple[float, float]] = []
    now = START
    for step in range(STEPS):
        for unit in UNITS:
            model.command(unit, "heartbeat", step % 2)
            model.command(unit, "remote_request", 1)
            model.command(unit, "enable_cmd", 1)
            model.command(unit, "heat_setpoint_kw", 4000.0)
        model.step(STEP_S, Boundary(now_utc=now, outdoor_temp_c=-5.0, it_load_kw=it_load_kw))
        recoverable_kw = model.source.conditions(now, it_load_kw).recoverable_kw
        assert recoverable_kw is not None
        taken.append((evaporator_kw(model.units), recoverable_kw))
        now += timedelta(seconds=STEP_S)
    return taken


def test_doubling_the_it_load_raises_the_recoverable_heat_and_the_source_temperature(
    site: SiteConfig,
) -> None:
    half = PlantModel(site, START)
    full = PlantModel(site, START)
    half_taken = run_all_units_flat_out(half, 4000.0)
    full_taken = run_all_units_flat_out(full, 8000.0)
    # the servers' heat into the loop: 95 % of the IT power
    assert half_taken[-1][1] == pytest.approx(3800.0)
    assert full_taken[-1][1] == pytest.approx(7600.0)
    # the loop's warm side, the units' source: 30 °C + 10 K x load / 10 MW design
    assert half.value("plant", Role.SOURCE_TEMP_C) == pytest.approx(34.0)
    assert full.value("plant", Role.SOURCE_TEMP_C) == pytest.approx(38.0)
    assert full.value("hp1", Role.SOURCE_IN_TEMP_C) == pytest.approx(38.0)
    # the plant's heat follows: three units asking for 12 MW get what each load's heat allows
    half_heat_kwh = sum(half.totals.unit_heat_kwh.values())
    full_heat_kwh = sum(full.totals.unit_heat_kwh.values())
    assert full_heat_kwh > 1.9 * half_heat_kwh


@pytest.mark.parametrize("it_load_kw", [2000.0, 4000.0, 8000.0, 12000.0])
def test_the_heat_pumps_never_take_more_than_the_servers_reject(
    site: SiteConfig, it_load_kw: float
) -> None:
    model = PlantModel(site, START)
    start_kwh = stored_kwh(model)
    taken = run_all_units_flat_out(model, it_load_kw)
    for evaporator, recoverable in taken:
        assert evaporator <= recoverable * (1 + 1e-12)
    totals = model.totals
    recoverable_kwh = 0.95 * it_load_kw * STEPS * STEP_S / 3600.0
    assert totals.source_recoverable_kwh == pytest.approx(recoverable_kwh)
    assert totals.source_taken_kwh <= totals.source_recoverable_kwh * (1 + 1e-12)
    # what the heat pumps leave goes to the dry coolers: nothing is lost or made
    assert totals.source_taken_kwh + totals.dry_cooler_heat_kwh == pytest.approx(recoverable_kwh)
    # the units' counters were cut with their output: heat = evaporator + electricity
    heat_kwh = sum(totals.unit_heat_kwh.values())
    assert heat_kwh - totals.electricity_kwh == pytest.approx(totals.source_taken_kwh, rel=1e-3)
    # and the plant's energy balance still closes
    balance_kwh = heat_kwh - totals.heat_delivered_kwh - totals.tank_loss_kwh
    assert balance_kwh == pytest.approx(stored_kwh(model) - start_kwh, abs=1e-9 * heat_kwh)
    # the plant's SCADA shows both sides of the data centre's loop
    assert model.value("plant", Role.IT_LOAD_KW) == it_load_kw
    assert model.value("plant", Role.DRY_COOLER_HEAT_KW) == model.dry_cooler_heat_kw
    if it_load_kw >= 12000.0:
        # 11.4 MW of heat in the loop is more than 12 MW of output needs: the dry coolers
        # reject the surplus while the units run at full output
        assert totals.dry_cooler_heat_kwh > 0
        assert model.units.heat_kw == pytest.approx([4000.0] * 3)
    else:
        # the units asked for more than the loop holds: they take all of it, none is wasted
        assert taken[-1][0] == pytest.approx(taken[-1][1])
        assert model.dry_cooler_heat_kw == pytest.approx(0.0, abs=1e-6)


def test_without_an_it_load_the_default_profile_holds(site: SiteConfig) -> None:
    model = PlantModel(site, START)
    afternoon = datetime(2025, 1, 15, 14, tzinfo=UTC)  # 15:00 in Copenhagen, a Wednesday
    night = datetime(2025, 1, 15, 2, tzinfo=UTC)  # 03:00
    sunday = datetime(2025, 1, 19, 14, tzinfo=UTC)
    peak = model.source.conditions(afternoon)
    trough = model.source.conditions(night)
    weekend = model.source.conditions(sunday)
    # 80 % of 10 MW, +-5 % through the day, 3 % less at weekends
    assert peak.it_load_kw == pytest.approx(8500.0)
    assert trough.it_load_kw == pytest.approx(7500.0)
    assert weekend.it_load_kw == pytest.approx(8200.0)
    assert peak.temp_c > weekend.temp_c > trough.temp_c
    # the simulator and the planner's fallback read the one curve
    assert site.source.temp_c(afternoon, "Europe/Copenhagen") == pytest.approx(peak.temp_c)


def test_a_river_source_has_no_limit() -> None:
    river = load_site(DATACENTRE.parent / "river_20mw.toml")
    model = PlantModel(river, START)
    conditions = model.source.conditions(START)
    assert conditions.recoverable_kw is None and conditions.it_load_kw is None
    assert conditions.temp_c == pytest.approx(river.source.temp_c(START, "Europe/Copenhagen"))
