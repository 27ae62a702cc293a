"""Heat-pump units: COP, start-up and ramp, counters, trips, supervisory vs local control."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.core.cop import planned_cop
from drivers.heat_pump_cop import unit_cop
from drivers.kinds import StateCode
from drivers.site import SiteConfig, load_site
from sim_plant.physics import Boundary, PlantModel
from sim_plant.physics.heat_pumps import (
    ALARM_HIGH_SUPPLY,
    ALARM_LOW_FLOW,
    ALARM_NONE,
)

RIVER = Path(__file__).resolve().parents[2] / "deploy" / "plants" / "river_20mw.toml"
START = datetime(2025, 1, 15, 6, tzinfo=UTC)
DT_S = 5.0


@pytest.fixture(scope="module")
def river() -> SiteConfig:
    """The river plant with its units' local thermostat at 70 °C (on below 65, off above 73)
    and a 2,500 m3 tank counted from 45 °C, the sizes these scenarios were written for."""
    site = load_site(RIVER)
    units = [u.model_copy(update={"local_setpoint_tank_temp_c": 70.0}) for u in site.units]
    tanks = [t.model_copy(update={"volume_m3": 2500.0, "min_temp_c": 45.0}) for t in site.tanks]
    return site.model_copy(update={"units": units, "tanks": tanks})


class Rig:
    """A plant under a scripted supervisor that toggles the heartbeat of the units it holds."""

    def __init__(
        self, site: SiteConfig, soc: float = 0.5, demand_kw: float | None = 8000.0
    ) -> None:
        self.model = PlantModel(site, START, soc)
        self.now = START
        self.beat = 0
        self.demand_kw = demand_kw
        self.supervised: set[str] = set()
        self.heartbeat = True

    def supervise(self, unit: str, enable: bool, setpoint_kw: float = 10000.0) -> None:
        self.supervised.add(unit)
        self.model.command(unit, "remote_request", 1)
        self.model.command(unit, "enable_cmd", 1 if enable else 0)
        self.model.command(unit, "heat_setpoint_kw", setpoint_kw)

    def step(self) -> None:
        if self.heartbeat:
            self.beat += 1
            for unit in sorted(self.supervised):
                self.model.command(unit, "heartbeat", self.beat % 65536)
        boundary = Boundary(
            now_utc=self.now, outdoor_temp_c=0.0, heat_demand_kw=self.demand_kw, source_temp_c=5.0
        )
        self.model.step(DT_S, boundary)
        self.now += timedelta(seconds=DT_S)

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds / DT_S)):
            self.step()

    def trace(self, seconds: float, device: str, role: str) -> list[float]:
        values = []
        for _ in range(round(seconds / DT_S)):
            self.step()
            values.append(self.model.value(device, role))
        return values


def test_simulator_and_planner_give_the_same_cop_at_the_same_temperatures(
    river: SiteConfig,
) -> None:
    """Full load, so the source cools by the unit's full source_cooling_k in both."""
    rig = Rig(river)
    rig.supervise("hp1", enable=True, setpoint_kw=10000.0)
    rig.run(900)
    value = rig.model.value
    assert value("hp1", "heat_kw") == pytest.approx(10000.0)
    inlet_c = value("hp1", "return_temp_c")
    supply_c = value("hp1", "supply_temp_c")
    spec = river.units[0]
    planned = planned_cop(spec, inlet_c, supply_c, 5.0)
    assert value("hp1", "cop") == pytest.approx(planned, rel=1e-6)
    assert value("hp1", "source_out_temp_c") == pytest.approx(5.0 - spec.source_cooling_k)


def test_running_unit_reports_cop_power_and_temperatures_consistently(river: SiteConfig) -> None:
    rig = Rig(river)
    rig.supervise("hp1", enable=True, setpoint_kw=6000.0)
    rig.run(900)
    model = rig.model
    value = model.value
    assert value("hp1", "state_code") == StateCode.RUNNING
    assert value("hp1", "heat_kw") == pytest.approx(6000.0)
    supply_c = value("hp1", "supply_temp_c")
    weather_setpoint_c = model.network.supply_setpoint_c(0.0)
    assert supply_c == pytest.approx(weather_setpoint_c)  # above the 75 °C register default
    cop = value("hp1", "cop")
    inlet_c = value("hp1", "return_temp_c")
    spec = model.units.specs[0]
    source_out_c = 5.0 - spec.source_cooling_k * 0.6  # cooled in proportion to the load
    assert cop == pytest.approx(unit_cop(spec, inlet_c, supply_c, 5.0, source_out_c))
    assert value("hp1", "power_kw") == pytest.approx(6000.0 / cop)
    assert value("hp1", "source_in_temp_c") == 5.0
    assert value("hp1", "source_out_temp_c") == pytest.approx(source_out_c)
    assert inlet_c == pytest.approx(model.tanks[0].bottom_temp_c, abs=1.0)


def test_start_delay_then_minimum_load_then_ramp(river: SiteConfig) -> None:
    rig = Rig(river)
    rig.supervise("hp1", enable=True, setpoint_kw=9000.0)
    states: list[float] = []
    heats: list[float] = []
    powers: list[float] = []
    for _ in range(120):
        rig.step()
        states.append(rig.model.value("hp1", "state_code"))
        heats.append(rig.model.value("hp1", "heat_kw"))
        powers.append(rig.model.value("hp1", "power_kw"))
    delay_steps = round(180.0 / DT_S)  # startup_delay_s of hp1
    assert states[:delay_steps] == [StateCode.STARTING] * delay_steps
    assert heats[:delay_steps] == [0.0] * delay_steps
    assert all(power > 0 for power in powers[:delay_steps])  # auxiliaries while starting
    assert rig.model.value("hp1", "starts_total") == 1
    assert states[delay_steps] == StateCode.RUNNING
    assert heats[delay_steps] == pytest.approx(3500.0)  # min_load_fraction 0.35 of 10 MW
    ramp_kw = 25.0 * DT_S
    for k in range(1, 20):
        assert heats[delay_steps + k] == pytest.approx(min(9000.0, 3500.0 + k * ramp_kw))
    assert heats[-1] == pytest.approx(9000.0)


def test_run_hours_and_starts_count_compressor_time_and_starts(river: SiteConfig) -> None:
    rig = Rig(river)
    rig.supervise("hp1", enable=True)
    rig.run(3600)
    rig.supervise("hp1", enable=False)
    stopping = rig.trace(60, "hp1", "state_code")
    assert stopping[0] == StateCode.STOPPING and stopping[-1] == StateCode.OFF
    rig.run(1200)
    rig.supervise("hp1", enable=True)
    rig.run(1980)
    totals = rig.model.totals
    running_s = (3600 - 180) + (1980 - 180)
    assert rig.model.value("hp1", "starts_total") == 2
    assert totals.unit_starts == {"hp1": 2, "hp2": 0}
    assert rig.model.value("hp1", "run_hours_h") == pytest.approx(running_s / 3600.0)
    assert totals.unit_run_hours_h["hp1"] == pytest.approx(running_s / 3600.0)
    assert totals.unit_electricity_kwh["hp1"] > 0
    assert totals.unit_heat_kwh["hp2"] == 0.0


def test_aborted_start_counts_no_start(river: SiteConfig) -> None:
    rig = Rig(river)
    rig.supervise("hp1", enable=True)
    rig.run(60)
    rig.supervise("hp1", enable=False)
    rig.run(10)
    assert rig.model.value("hp1", "state_code") == StateCode.OFF
    assert rig.model.value("hp1", "starts_total") == 0


def test_lost_heartbeat_hands_over_to_local_control_and_back(river: SiteConfig) -> None:
    site = river.model_copy(update={"boiler": None})
    rig = Rig(site, soc=0.0, demand_kw=8000.0)  # cold tank: the local thermostat wants heat
    for unit in ("hp1", "hp2"):
        rig.supervise(unit, enable=False)
    rig.run(120)
    assert rig.model.value("hp1", "remote_active") == 1
    assert rig.model.value("hp1", "state_code") == StateCode.OFF  # the supervisor holds it off

    rig.heartbeat = False
    rig.run(55)
    assert rig.model.value("hp1", "remote_active") == 1  # within heartbeat_timeout_s = 60
    rig.run(10)
    assert rig.model.value("hp1", "remote_active") == 0
    assert rig.model.value("hp1", "state_code") == StateCode.STARTING
    rig.run(600)
    for unit in ("hp1", "hp2"):
        assert rig.model.value(unit, "state_code") == StateCode.RUNNING
        assert rig.model.value(unit, "heat_kw") == pytest.approx(10000.0)  # full load

    rig.run(2 * 3600)  # the cold tank charges
    charged = rig.model.totals
    tops: list[float] = []
    for _ in range(8 * 60):  # eight more hours, a sample a minute
        rig.run(60)
        tops.append(rig.model.value("tank1", "layer_temp_c", 8))
    local_setpoint_c = site.units[0].local_setpoint_tank_temp_c
    assert max(tops) > local_setpoint_c  # it keeps the tank charged by itself ...
    assert min(tops) > local_setpoint_c - 5.0 - 1.0  # ... and never lets it go cold
    # the thermostat fires at 65 °C, the river network's supply minimum: brief dips, little unmet
    totals = rig.model.totals
    unmet_kwh = totals.unmet_heat_kwh - charged.unmet_heat_kwh
    assert unmet_kwh < 0.01 * (totals.heat_demand_kwh - charged.heat_demand_kwh)
    assert max(rig.model.totals.unit_starts.values()) >= 2  # on/off cycling, not one long run

    rig.heartbeat = True
    rig.run(10)
    assert rig.model.value("hp1", "remote_active") == 1
    rig.run(60)
    assert rig.model.value("hp1", "state_code") == StateCode.OFF  # enable_cmd is still 0


def test_local_thermostat_respects_min_run(river: SiteConfig) -> None:
    units = [unit.model_copy(update={"min_run_s": 3 * 3600.0}) for unit in river.units]
    site = river.model_copy(update={"boiler": None, "units": units})
    rig = Rig(site, soc=0.0, demand_kw=0.0)
    rig.run(400)  # no supervisor at all: local control from the start
    assert rig.model.value("hp1", "state_code") == StateCode.RUNNING
    rig.run(2 * 3600)  # with no demand both units push the top past the 73 °C off-point ...
    assert rig.model.value("tank1", "layer_temp_c", 8) > 73.0
    assert rig.model.value("hp1", "state_code") == StateCode.RUNNING  # ... but min_run_s holds
    rig.run(3600)
    assert rig.model.value("hp1", "state_code") == StateCode.OFF
    assert rig.model.value("hp1", "starts_total") == 1


def test_low_flow_trips_the_unit_and_reset_needs_enable_low_for_300_s(river: SiteConfig) -> None:
    rig = Rig(river)
    rig.supervise("hp1", enable=True)
    rig.run(300)
    assert rig.model.value("hp1", "state_code") == StateCode.RUNNING
    rig.model.command("v_hp1", "position_cmd_pct", 0.0)
    rig.run(25)  # 40 s travel: below 50 % after 20-25 s, not yet 10 s of low flow
    assert rig.model.value("hp1", "state_code") == StateCode.RUNNING
    rig.run(15)
    assert rig.model.value("hp1", "state_code") == StateCode.TRIPPED
    assert rig.model.value("hp1", "alarm_code") == ALARM_LOW_FLOW
    assert rig.model.value("hp1", "heat_kw") == 0.0
    assert rig.model.value("hp1", "power_kw") == 0.0

    rig.model.command("v_hp1", "position_cmd_pct", 100.0)
    rig.run(600)  # enable still 1: the trip stays latched
    assert rig.model.value("hp1", "state_code") == StateCode.TRIPPED
    rig.supervise("hp1", enable=False)
    rig.run(295)
    assert rig.model.value("hp1", "state_code") == StateCode.TRIPPED
    rig.run(10)
    assert rig.model.value("hp1", "state_code") == StateCode.OFF
    assert rig.model.value("hp1", "alarm_code") == ALARM_NONE
    rig.supervise("hp1", enable=True)
    rig.run(200)
    assert rig.model.value("hp1", "state_code") == StateCode.RUNNING


def test_closed_valve_does_not_trip_a_unit_that_is_off(river: SiteConfig) -> None:
    rig = Rig(river)
    rig.supervise("hp1", enable=False)
    rig.model.command("v_hp1", "position_cmd_pct", 0.0)
    rig.run(300)
    assert rig.model.value("hp1", "state_code") == StateCode.OFF
    assert rig.model.value("hp1", "alarm_code") == ALARM_NONE


def test_overcharged_tank_trips_on_high_supply_temperature(river: SiteConfig) -> None:
    units = [unit.model_copy(update={"max_supply_temp_c": 80.0}) for unit in river.units]
    rig = Rig(river.model_copy(update={"units": units}), soc=1.0)  # bottom at 85 °C
    rig.supervise("hp1", enable=True)
    rig.run(190)
    assert rig.model.value("hp1", "state_code") == StateCode.TRIPPED
    assert rig.model.value("hp1", "alarm_code") == ALARM_HIGH_SUPPLY
    assert rig.model.value("hp1", "starts_total") == 1


AIR = RIVER.parent / "air_subzero_2x8mw.toml"


def test_air_source_unit_follows_the_outdoor_air_with_derated_capacity_and_defrost() -> None:
    site = load_site(AIR)
    model = PlantModel(site, START, 0.5)
    now = START
    model.command("hp1", "remote_request", 1)
    model.command("hp1", "enable_cmd", 1)
    model.command("hp1", "heat_setpoint_kw", 8000.0)
    for beat in range(1, round(1800 / DT_S) + 1):
        model.command("hp1", "heartbeat", beat)
        # no source column: an air-source plant's source is the outdoor air
        model.step(DT_S, Boundary(now_utc=now, outdoor_temp_c=-15.0, heat_demand_kw=12000.0))
        now += timedelta(seconds=DT_S)
    spec = site.units[0]
    assert model.value("hp1", "source_in_temp_c") == -15.0
    assert model.value("hp1", "heat_kw") == pytest.approx(0.68 * 8000.0)  # the declared curve
    inlet_c = model.value("hp1", "return_temp_c")
    supply_c = model.value("hp1", "supply_temp_c")
    source_out_c = model.value("hp1", "source_out_temp_c")
    no_defrost = spec.model_copy(
        update={"defrost_below_source_temp_c": None, "defrost_cop_factor": 1.0}
    )
    without = unit_cop(no_defrost, inlet_c, supply_c, -15.0, source_out_c)
    assert model.value("hp1", "cop") == pytest.approx(0.8 * without)


def test_part_load_power_is_the_line_the_planner_plans_with(river: SiteConfig) -> None:
    units = [u.model_copy(update={"part_load_cop_factor": 0.9}) for u in river.units]
    rig = Rig(river.model_copy(update={"units": units}))
    rig.supervise("hp1", enable=True, setpoint_kw=3500.0)  # minimum load, 0.35 of 10 MW
    rig.run(900)
    value = rig.model.value
    assert value("hp1", "heat_kw") == pytest.approx(3500.0)
    full_load_cop = unit_cop(
        units[0],
        value("hp1", "return_temp_c"),
        value("hp1", "supply_temp_c"),
        5.0,
        value("hp1", "source_out_temp_c"),
    )
    assert value("hp1", "cop") == pytest.approx(0.9 * full_load_cop, rel=1e-6)
    assert value("hp1", "power_kw") == pytest.approx(3500.0 / (0.9 * full_load_cop), rel=1e-6)
