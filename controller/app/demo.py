"""`hpctl demo`: the controller against the simulated plant over real sockets, in lockstep.

The composition on `controller.app.lockstep`, over sockets: each tick the plant steps its
physics, the servers publish the new values, the simulated clock moves, the drivers poll over
Modbus TCP and OPC UA, the planner replans if due, and the control cycle runs with its real
socket writes. Runs are deterministic and as fast as the I/O allows.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from controller.app.lockstep import Lockstep, RunRecorder, scenario_conditions, socket_io
from controller.config import Plant, load_plant
from controller.runtime.cycle import ControlCycle
from controller.runtime.dispatch import build_dispatch
from controller.runtime.market import ScenarioMarket
from controller.runtime.past import scenario_past
from controller.scenarios import default_scenario_path
from controller.telemetry.metrics import ControllerMetrics
from controller.telemetry.progress import ProgressBars
from drivers.clock import SimClock
from drivers.scenario import Scenario, load_scenario
from sim_plant.physics import PlantModel

DEFAULT_PLANT = Path(__file__).resolve().parents[2] / "deploy" / "plants" / "river_20mw.toml"
DEFAULT_START_OFFSET = timedelta(days=2)  # leaves two days of history before the demo day
_BAR_LABEL = "demo"


@dataclass
class UnitTotals:
    starts: int
    run_hours_h: float
    heat_kwh: float
    electricity_kwh: float


@dataclass
class DemoSummary:
    plant: str
    start_utc: datetime
    simulated_s: float
    wall_s: float
    cycles: int
    heat_demand_kwh: float
    heat_delivered_kwh: float
    unmet_heat_kwh: float
    hours_below_supply_min_h: float
    electricity_kwh: float
    boiler_heat_kwh: float
    boiler_fuel_kwh: float
    electricity_cost_eur: float
    boiler_fuel_cost_eur: float
    co2_kg: float
    units: dict[str, UnitTotals]
    tank_min_temp_c: float
    tank_max_temp_c: float
    cycle_p50_ms: float
    cycle_p99_ms: float
    interlocks: dict[str, int]
    max_starts_in_any_hour: dict[str, int] = field(default_factory=dict)
    shortest_run_s: dict[str, float] = field(default_factory=dict)
    shortest_standstill_s: dict[str, float] = field(default_factory=dict)
    max_unit_supply_temp_c: dict[str, float] = field(default_factory=dict)
    policy_cycles: dict[str, int] = field(default_factory=dict)
    tank_energy_start_kwh: float = 0.0
    tank_energy_end_kwh: float = 0.0
    policy: str = ""
    carbon_price_eur_per_t: float = 0.0
    allowances_eur: float = 0.0  # the boiler's CO2, where it is in the ETS
    fuel_price_note: str = ""

    @property
    def total_cost_eur(self) -> float:
        """Cash: electricity, fuel and the allowances actually paid."""
        return self.electricity_cost_eur + self.boiler_fuel_cost_eur + self.allowances_eur

    @property
    def carbon_shadow_eur(self) -> float:
        """The carbon price on the tonnes no allowance paid for."""
        return self.carbon_price_eur_per_t * self.co2_kg / 1000.0 - self.allowances_eur

    @property
    def stored_change_kwh(self) -> float:
        return self.tank_energy_end_kwh - self.tank_energy_start_kwh

    @property
    def heat_produced_kwh(self) -> float:
        return sum(unit.heat_kwh for unit in self.units.values()) + self.boiler_heat_kwh

    def heat_value(self) -> tuple[float, float]:
        """This run's own average cash cost (EUR/kWh) and CO2 (kg/kWh) of the heat it made."""
        produced = self.heat_produced_kwh
        if produced <= 0:
            return 0.0, 0.0
        return self.total_cost_eur / produced, self.co2_kg / produced

    def adjusted(self, value: tuple[float, float] | None = None) -> tuple[float, float]:
        """Cash cost and CO2 (kg) with the tank's change of stored heat charged (or credited)
        at `value` (EUR/kWh, kg/kWh; default this run's own average heat)."""
        eur_per_kwh, kg_per_kwh = value or self.heat_value()
        change = self.stored_change_kwh
        return self.total_cost_eur - change * eur_per_kwh, self.co2_kg - change * kg_per_kwh

    @property
    def speedup(self) -> float:
        return self.simulated_s / self.wall_s if self.wall_s > 0 else float("inf")

    def render(self) -> str:
        unit_heat_kwh = sum(unit.heat_kwh for unit in self.units.values())
        cop = unit_heat_kwh / self.electricity_kwh if self.electricity_kwh > 0 else float("nan")
        lines = [
            f"plant {self.plant}: {self.simulated_s / 3600:.0f} h from {self.start_utc:%Y-%m-%d %H:%M} UTC "
            f"in {self.wall_s:.1f} s wall ({self.speedup:.0f}x real time, {self.cycles} cycles)",
            f"  heat demand      {self.heat_demand_kwh / 1000:10.1f} MWh",
            f"  heat delivered   {self.heat_delivered_kwh / 1000:10.1f} MWh   unmet {self.unmet_heat_kwh / 1000:.2f} MWh, "
            f"{self.hours_below_supply_min_h:.2f} h below minimum supply temperature",
            f"  electricity      {self.electricity_kwh / 1000:10.1f} MWh   heat-pump COP {cop:.2f}",
            f"  boiler           {self.boiler_heat_kwh / 1000:10.1f} MWh heat from {self.boiler_fuel_kwh / 1000:.1f} MWh fuel",
            f"  cash cost        {self.total_cost_eur:10.0f} EUR   (electricity {self.electricity_cost_eur:.0f}, fuel {self.boiler_fuel_cost_eur:.0f}"
            + (f", allowances {self.allowances_eur:.0f}" if self.allowances_eur else "")
            + ")",
            f"  CO2              {self.co2_kg / 1000:10.2f} t     carbon shadow {self.carbon_shadow_eur:.0f} EUR at "
            f"{self.carbon_price_eur_per_t:g} EUR/t",
            f"  tank             {self.tank_min_temp_c:.1f} .. {self.tank_max_temp_c:.1f} °C, stored heat "
            f"{self.tank_energy_start_kwh / 1000:.1f} -> {self.tank_energy_end_kwh / 1000:.1f} MWh",
            f"  adjusted         {self.adjusted()[0]:10.0f} EUR   {self.adjusted()[1] / 1000:.2f} t CO2 with the "
            f"{self.stored_change_kwh / 1000:+.1f} MWh of stored heat valued at this run's average heat "
            f"({self.heat_value()[0] * 1000:.1f} EUR/MWh, {self.heat_value()[1] * 1000:.0f} kg/MWh)",
            f"  cycle time       p50 {self.cycle_p50_ms:.2f} ms, p99 {self.cycle_p99_ms:.2f} ms",
            "  unit     starts  max/h  run h   heat MWh  elec MWh",
        ]
        for name, unit in self.units.items():
            lines.append(
                f"  {name:<8} {unit.starts:6d} {self.max_starts_in_any_hour.get(name, 0):6d} {unit.run_hours_h:6.1f} "
                f"{unit.heat_kwh / 1000:10.1f} {unit.electricity_kwh / 1000:9.1f}"
            )
        if self.interlocks:
            lines.append(
                "  interlocks: "
                + ", ".join(f"{k} x{v}" for k, v in sorted(self.interlocks.items()))
            )
        if self.fuel_price_note:
            lines.append(f"  fuel price       {self.fuel_price_note}")
        return "\n".join(lines)


def _signed(value: float, digits: int = 0) -> str:
    return f"{value:+,.{digits}f}"


def render_comparison(chosen: DemoSummary, reference: DemoSummary) -> str:
    """The same day under two policies, side by side, both adjusted for stored heat at the
    reference run's average heat so that neither gains by emptying the tank."""
    value = reference.heat_value()
    mine_eur, mine_kg = chosen.adjusted(value)
    ref_eur, ref_kg = reference.adjusted(value)
    mine_starts = sum(unit.starts for unit in chosen.units.values())
    ref_starts = sum(unit.starts for unit in reference.units.values())
    price = chosen.carbon_price_eur_per_t
    mine_total = mine_eur + chosen.carbon_shadow_eur
    ref_total = ref_eur + reference.carbon_shadow_eur

    def pct(change: float, base: float) -> str:
        return f"{100.0 * change / abs(base):+.1f} %" if base else "n/a"

    rows = [
        ("cash cost, adjusted EUR", mine_eur, ref_eur, 0),
        ("CO2, adjusted t", mine_kg / 1000.0, ref_kg / 1000.0, 2),
        (f"cost with carbon at {price:g} EUR/t", mine_total, ref_total, 0),
        ("compressor starts", float(mine_starts), float(ref_starts), 0),
        ("boiler heat MWh", chosen.boiler_heat_kwh / 1000, reference.boiler_heat_kwh / 1000, 1),
        ("unmet heat MWh", chosen.unmet_heat_kwh / 1000, reference.unmet_heat_kwh / 1000, 2),
    ]
    a, b = chosen.policy, reference.policy
    lines = [
        f"same day, {a} against {b} (stored heat valued at the {b} run's average: "
        f"{value[0] * 1000:.1f} EUR/MWh, {value[1] * 1000:.0f} kg/MWh):",
        f"  {'':<34} {a:>12} {b:>12} {'change':>12}",
    ]
    for label, mine, ref, digits in rows:
        lines.append(
            f"  {label:<34} {mine:12,.{digits}f} {ref:12,.{digits}f} {_signed(mine - ref, digits):>12}"
            + (f"  ({pct(mine - ref, ref)})" if "EUR" in label or "CO2" in label else "")
        )
    saves = mine_eur < ref_eur
    cleaner = mine_kg < ref_kg
    verdict = (
        f"{a} {'saves' if saves else 'costs'} {abs(ref_eur - mine_eur):,.0f} EUR and "
        f"{'emits' if not cleaner else 'avoids'} {abs(mine_kg - ref_kg) / 1000:,.2f} t CO2 "
        f"{'more' if not cleaner else ''}".rstrip()
        + f" against {b}."
    )
    if saves and not cleaner:
        verdict += " It saves money by emitting more: not a saving this product claims."
    lines.append("  " + verdict)
    return "\n".join(lines)


async def run_demo(
    plant: Plant,
    scenario: Scenario,
    start_utc: datetime,
    days: float,
    progress: TextIO | None = sys.stderr,
    metrics: ControllerMetrics | None = None,
) -> DemoSummary:
    step_s = plant.control.cycle_s
    steps = round(days * 86400 / step_s)
    clock = SimClock(start_utc)
    model = PlantModel(plant.site, start_utc)
    recorder = RunRecorder(
        model, plant.site.network.return_temp_c, steps_per_hour=max(1, round(3600.0 / step_s))
    )
    market = ScenarioMarket(
        scenario, plant.control.planner.publication_time, plant.site.plant.timezone
    )
    dispatch = build_dispatch(plant, market, clock)
    if dispatch.planner is not None:
        # the hours before the start are the past: a plant's history database has them
        dispatch.planner.learn_past(scenario_past(scenario, start_utc), start_utc)
    conditions = scenario_conditions(
        scenario,
        outdoor_default_c=float(plant.site.sim.get("outdoor_temp_c", 0.0)),
        carbon_default_g_per_kwh=float(plant.site.sim.get("carbon_g_per_kwh", 0.0)),
    )
    wall_start = time.perf_counter()
    async with socket_io(plant, model, clock) as io:
        pool = io.pool
        cycle = ControlCycle(io.plant, pool, clock, dispatch.policy)
        lockstep = Lockstep(model, clock, cycle, io, conditions, step_s, dispatch.planner, recorder)
        if dispatch.planner is not None:
            cycle.add_observer(dispatch.planner)
        if metrics is not None:
            # what the caller gave (a bridge, in tests) stays; the run adds its own parts
            metrics.attach(
                replace(
                    metrics.sources,
                    health=pool.health,
                    clock=clock,
                    planner=dispatch.planner,
                    forecaster=dispatch.planner.forecaster if dispatch.planner else None,
                    policy=dispatch.policy,
                    market=market,
                    cycle=cycle,
                )
            )
            cycle.add_observer(metrics)
        if progress is None:
            await lockstep.run(steps)
        else:
            bars = ProgressBars({_BAR_LABEL: steps}, progress, unit="cycles")
            try:
                await lockstep.run(steps, lambda done: bars.update(_BAR_LABEL, done))
            finally:
                bars.close()
        await cycle.hand_back()
    wall_s = time.perf_counter() - wall_start
    recorder.finish()
    totals = model.totals
    co2_kg = recorder.electricity_co2_kg
    boiler_fuel_cost = 0.0
    allowances_eur = 0.0
    carbon_price = plant.control.planner.carbon_price_eur_per_t
    boiler = plant.site.boiler
    fuel_note = ""
    if boiler is not None:
        boiler_fuel_cost, fuel_note = _fuel_cost_eur(
            boiler.fuel_price_eur_per_mwh,
            scenario,
            start_utc,
            recorder.trace().boiler_fuel_kwh.tolist(),
        )
        boiler_co2_kg = totals.boiler_fuel_kwh * boiler.fuel_carbon_g_per_kwh / 1000.0
        co2_kg += boiler_co2_kg
        if boiler.in_emissions_trading:
            allowances_eur = carbon_price * boiler_co2_kg / 1000.0
    durations_ms = sorted(d * 1000.0 for d in recorder.durations_s) or [0.0]
    return DemoSummary(
        plant=plant.site.plant.name,
        start_utc=start_utc,
        simulated_s=steps * step_s,
        wall_s=wall_s,
        cycles=len(recorder.durations_s),
        heat_demand_kwh=totals.heat_demand_kwh,
        heat_delivered_kwh=totals.heat_delivered_kwh,
        unmet_heat_kwh=totals.unmet_heat_kwh,
        hours_below_supply_min_h=totals.hours_below_supply_min_h,
        electricity_kwh=totals.electricity_kwh,
        boiler_heat_kwh=totals.boiler_heat_kwh,
        boiler_fuel_kwh=totals.boiler_fuel_kwh,
        electricity_cost_eur=recorder.electricity_cost_eur,
        boiler_fuel_cost_eur=boiler_fuel_cost,
        co2_kg=co2_kg,
        units={
            spec.name: UnitTotals(
                starts=int(totals.unit_starts[spec.name]),
                run_hours_h=totals.unit_run_hours_h[spec.name],
                heat_kwh=totals.unit_heat_kwh[spec.name],
                electricity_kwh=totals.unit_electricity_kwh[spec.name],
            )
            for spec in plant.site.units
        },
        tank_min_temp_c=min(totals.tank_min_temp_c.values()),
        tank_max_temp_c=max(totals.tank_max_temp_c.values()),
        cycle_p50_ms=statistics.median(durations_ms),
        cycle_p99_ms=durations_ms[min(len(durations_ms) - 1, int(0.99 * len(durations_ms)))],
        interlocks=recorder.interlocks,
        max_starts_in_any_hour=recorder.max_starts_per_hour(),
        shortest_run_s=recorder.shortest_completed(True),
        shortest_standstill_s=recorder.shortest_completed(False),
        max_unit_supply_temp_c=recorder.max_supply_temp_c,
        policy_cycles=recorder.policy_cycles,
        tank_energy_start_kwh=recorder.stored_start_kwh,
        tank_energy_end_kwh=recorder.stored_kwh(),
        policy=plant.control.policy,
        carbon_price_eur_per_t=carbon_price,
        allowances_eur=allowances_eur,
        fuel_price_note=fuel_note,
    )


def _fuel_cost_eur(
    constant_eur_per_mwh: float,
    scenario: Scenario,
    start_utc: datetime,
    hourly_fuel_kwh: Sequence[float],
) -> tuple[float, str]:
    """Fuel at the scenario's price in force each hour, or the plant file's constant."""
    if not scenario.has("fuel_price_eur_per_mwh"):
        return sum(hourly_fuel_kwh) * constant_eur_per_mwh / 1000.0, ""
    total = 0.0
    for hour, fuel_kwh in enumerate(hourly_fuel_kwh):
        row = scenario.at(start_utc + timedelta(hours=hour))
        price = row.fuel_price_eur_per_mwh
        total += fuel_kwh * (constant_eur_per_mwh if price is None else price) / 1000.0
    return total, "the scenario's fuel_price_eur_per_mwh, hour by hour"


def load_demo_inputs(plant_path: Path | None, scenario_path: Path | None) -> tuple[Plant, Scenario]:
    plant = load_plant(plant_path or DEFAULT_PLANT)
    scenario = load_scenario(scenario_path or default_scenario_path())
    return plant, scenario


def default_start(scenario: Scenario) -> datetime:
    return scenario.start_utc + DEFAULT_START_OFFSET
