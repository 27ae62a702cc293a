"""The one run recorder: what a lockstep run measured, read off the cycle reports and the model.

From the reports (it is a `CycleObserver`): cycle compute time, interlock events (each
intervention once, from the cycle it began: by reason, by reason and equipment, and the first
time of each reason), cycles per dispatch source, each unit's measured switching and peak
supply temperature. From the model, once per step after the tick: the electricity metered in the step, charged at the tariff in
force at the step's start, and per hour the energies, the tank's state of charge and the change
in stored heat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from controller.app.lockstep.conditions import Instant
from controller.app.lockstep.stored_heat import stored_heat_kwh
from controller.core.report import CycleReport
from sim_plant.physics import PlantModel

FloatArray = npt.NDArray[np.float64]
HOUR_S = 3600.0


def max_starts_in_any_hour(starts_s: Sequence[float]) -> int:
    """Most starts in any one-hour window: a sliding window [t, t + 1 h) over time.

    The busiest window can always be slid forward until it begins at a start, so anchoring one
    window at each start finds the maximum. It is the count the cycle enforces, seen from the
    other side: starts within the hour before each start (`UnitHistory.starts_last_hour`).
    """
    times = np.sort(np.asarray(starts_s, dtype=np.float64))
    if times.size == 0:
        return 0
    ends = np.searchsorted(times, times + HOUR_S, side="left")
    return int((ends - np.arange(times.size)).max())


@dataclass
class HourlyTrace:
    """Per recorded hour: energies in kWh over the hour, state at its end."""

    unit_heat_kwh: FloatArray  # (units, hours)
    unit_electricity_kwh: FloatArray  # (units, hours)
    boiler_heat_kwh: FloatArray
    boiler_fuel_kwh: FloatArray
    demand_kwh: FloatArray
    delivered_kwh: FloatArray
    electricity_cost_eur: FloatArray
    electricity_co2_kg: FloatArray
    soc: FloatArray  # tank state of charge at the end of the hour (estimate, 0..1)
    stored_kwh: FloatArray  # change in stored heat since the start, at the hour's end


@dataclass
class _Hour:
    unit_heat_kwh: FloatArray
    unit_electricity_kwh: FloatArray
    boiler_heat_kwh: float
    boiler_fuel_kwh: float
    demand_kwh: float
    delivered_kwh: float
    electricity_cost_eur: float
    electricity_co2_kg: float
    soc: float
    stored_kwh: float


class RunRecorder:
    """Observes every cycle and, through `stepped`, every plant step of one lockstep run."""

    def __init__(self, model: PlantModel, return_temp_c: float, steps_per_hour: int) -> None:
        self._model = model
        self._return_temp_c = return_temp_c
        self._steps_per_hour = steps_per_hour
        self.durations_s: list[float] = []
        self.interlocks: dict[str, int] = {}  # interventions by reason
        # reason -> equipment -> interventions, and when each reason first intervened
        self.interlocks_by_equipment: dict[str, dict[str, int]] = {}
        self.interlock_first_utc: dict[str, datetime] = {}
        self.policy_cycles: dict[str, int] = {}  # cycles per dispatch source (plan, rules, ...)
        self.switches: dict[str, list[tuple[float, bool]]] = {}  # (now_s, compressor on)
        self.max_supply_temp_c: dict[str, float] = {}
        self.last: CycleReport | None = None
        self._was_on: dict[str, bool] = {}
        self.stored_start_kwh = stored_heat_kwh(model, return_temp_c)
        self._hours: list[_Hour] = []
        self._step_kwh: list[float] = []
        self._step_price: list[float] = []
        self._step_carbon: list[float] = []
        units = model.units
        self._electricity_kwh = float(units.electricity_kwh.sum())
        self._last_heat = units.heat_kwh.copy()
        self._last_elec = units.electricity_kwh.copy()
        self._last_boiler = (0.0, 0.0)
        self._last_totals = model.totals

    def observe(self, report: CycleReport) -> None:
        self.durations_s.append(report.duration_s)
        self.last = report
        source = report.targets.source
        self.policy_cycles[source] = self.policy_cycles.get(source, 0) + 1
        for interlock in report.new_interlocks:
            reason = interlock.reason
            self.interlocks[reason] = self.interlocks.get(reason, 0) + 1
            by_equipment = self.interlocks_by_equipment.setdefault(reason, {})
            by_equipment[interlock.equipment] = by_equipment.get(interlock.equipment, 0) + 1
            self.interlock_first_utc.setdefault(reason, report.state.now_utc)
        for unit in report.state.units:
            if unit.supply_temp_c is not None:
                peak = self.max_supply_temp_c.get(unit.name, unit.supply_temp_c)
                self.max_supply_temp_c[unit.name] = max(peak, unit.supply_temp_c)
            if unit.state_code is None:
                # an unreadable unit says nothing about its switching: reading it as "off"
                # would count a start when its data comes back
                continue
            was_on = self._was_on.get(unit.name)
            if was_on is not None and unit.compressor_on != was_on:
                self.switches.setdefault(unit.name, []).append(
                    (report.state.now_s, unit.compressor_on)
                )
            self._was_on[unit.name] = unit.compressor_on

    def stepped(self, instant: Instant) -> None:
        """Meter the step that began at `instant`; close the hour when it is complete."""
        total_kwh = float(self._model.units.electricity_kwh.sum())
        self._step_kwh.append(total_kwh - self._electricity_kwh)
        self._electricity_kwh = total_kwh
        self._step_price.append(instant.price_eur_per_mwh)
        self._step_carbon.append(instant.carbon_g_per_kwh)
        if len(self._step_kwh) == self._steps_per_hour:
            self._close_hour()

    def finish(self) -> None:
        """Close a last, partial hour: a run need not end on the hour."""
        if self._step_kwh:
            self._close_hour()

    def _close_hour(self) -> None:
        model = self._model
        units = model.units
        boiler = model.boiler
        step_kwh = np.asarray(self._step_kwh)
        boiler_heat_kwh = boiler_fuel_kwh = 0.0
        if boiler is not None:
            boiler_heat_kwh = boiler.heat_kwh - self._last_boiler[0]
            boiler_fuel_kwh = boiler.fuel_kwh - self._last_boiler[1]
            self._last_boiler = (boiler.heat_kwh, boiler.fuel_kwh)
        totals = model.totals
        state = self.last.state if self.last is not None else None
        self._hours.append(
            _Hour(
                unit_heat_kwh=units.heat_kwh - self._last_heat,
                unit_electricity_kwh=units.electricity_kwh - self._last_elec,
                boiler_heat_kwh=boiler_heat_kwh,
                boiler_fuel_kwh=boiler_fuel_kwh,
                demand_kwh=totals.heat_demand_kwh - self._last_totals.heat_demand_kwh,
                delivered_kwh=totals.heat_delivered_kwh - self._last_totals.heat_delivered_kwh,
                electricity_cost_eur=float(step_kwh @ np.asarray(self._step_price)) / 1000.0,
                electricity_co2_kg=float(step_kwh @ np.asarray(self._step_carbon)) / 1000.0,
                soc=state.soc if state is not None and state.soc is not None else np.nan,
                stored_kwh=self.stored_change_kwh(),
            )
        )
        self._last_heat = units.heat_kwh.copy()
        self._last_elec = units.electricity_kwh.copy()
        self._last_totals = totals
        self._step_kwh.clear()
        self._step_price.clear()
        self._step_carbon.clear()

    def stored_kwh(self) -> float:
        return stored_heat_kwh(self._model, self._return_temp_c)

    def stored_change_kwh(self) -> float:
        """Stored heat now minus at the start of the run."""
        return self.stored_kwh() - self.stored_start_kwh

    @property
    def electricity_cost_eur(self) -> float:
        """Over the closed hours: `finish` first to count a partial last hour."""
        return sum(hour.electricity_cost_eur for hour in self._hours)

    @property
    def electricity_co2_kg(self) -> float:
        return sum(hour.electricity_co2_kg for hour in self._hours)

    def trace(self) -> HourlyTrace:
        hours = self._hours
        units = self._model.units.heat_kwh.size

        def column(values: list[float]) -> FloatArray:
            return np.asarray(values, dtype=np.float64)

        def per_unit(values: list[FloatArray]) -> FloatArray:
            return np.stack(values, axis=1) if values else np.zeros((units, 0))

        return HourlyTrace(
            unit_heat_kwh=per_unit([hour.unit_heat_kwh for hour in hours]),
            unit_electricity_kwh=per_unit([hour.unit_electricity_kwh for hour in hours]),
            boiler_heat_kwh=column([hour.boiler_heat_kwh for hour in hours]),
            boiler_fuel_kwh=column([hour.boiler_fuel_kwh for hour in hours]),
            demand_kwh=column([hour.demand_kwh for hour in hours]),
            delivered_kwh=column([hour.delivered_kwh for hour in hours]),
            electricity_cost_eur=column([hour.electricity_cost_eur for hour in hours]),
            electricity_co2_kg=column([hour.electricity_co2_kg for hour in hours]),
            soc=column([hour.soc for hour in hours]),
            stored_kwh=column([hour.stored_kwh for hour in hours]),
        )

    def max_starts_per_hour(self) -> dict[str, int]:
        return {
            name: max_starts_in_any_hour([t for t, on in switches if on])
            for name, switches in self.switches.items()
        }

    def shortest_completed(self, on: bool) -> dict[str, float]:
        """Shortest run (on=True) or standstill (on=False) that began and ended in the run."""
        out: dict[str, float] = {}
        for name, switches in self.switches.items():
            spans = [
                later - earlier
                for (earlier, state), (later, _) in pairwise(switches)
                if state is on
            ]
            if spans:
                out[name] = min(spans)
        return out
