"""Frozen inputs to the dispatch planner: what the plant can know at the moment it plans.

The controller builds these from the site config, the measured state and the forecasts; the
planner never looks anything up itself. Construction checks the shapes and ranges, so a
`PlanInputs` that exists can always be turned into a model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

import numpy as np
import numpy.typing as npt

from drivers.site import BoilerSpec


class BoilerTerms(TypedDict):
    """The boiler's share of `PlanInputs`, as keyword arguments."""

    boiler_heat_max_kw: float
    boiler_efficiency: float
    boiler_fuel_price_eur_per_mwh: float
    boiler_fuel_carbon_g_per_kwh: float


def boiler_terms(
    boiler: BoilerSpec | None, fuel_price_eur_per_mwh: float | None = None
) -> BoilerTerms:
    """What the planner knows of the plant's boiler; a plant without one has a 0 kW boiler.
    A quoted fuel price (market feed, scenario) replaces the plant file's constant."""
    if boiler is None:
        return BoilerTerms(
            boiler_heat_max_kw=0.0,
            boiler_efficiency=1.0,
            boiler_fuel_price_eur_per_mwh=0.0,
            boiler_fuel_carbon_g_per_kwh=0.0,
        )
    return BoilerTerms(
        boiler_heat_max_kw=boiler.heat_max_kw,
        boiler_efficiency=boiler.efficiency,
        boiler_fuel_price_eur_per_mwh=(
            boiler.fuel_price_eur_per_mwh
            if fuel_price_eur_per_mwh is None
            else fuel_price_eur_per_mwh
        ),
        boiler_fuel_carbon_g_per_kwh=boiler.fuel_carbon_g_per_kwh,
    )


def _check_series(name: str, values: tuple[float, ...], steps: int) -> None:
    if len(values) != steps:
        raise ValueError(f"{name} has {len(values)} values, expected {steps} (one per step)")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{name} contains a value that is not finite")


def _check_non_negative(**values: float) -> None:
    for name, value in values.items():
        if not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f"{name} must be finite and >= 0, got {value}")


def steps_in_state(in_state_s: float, min_in_state_s: float, step_s: float) -> int:
    """Whole steps a unit counts as in its state when a plan starts, for `UnitPlanData`.

    The whole steps it has been in state, floor(in_state_s / step_s), undercount when the
    minimum time is not a whole number of steps: with hourly steps a unit that has run its
    30 minutes has 0 whole steps, and the model would hold it on for another hour. The count
    is raised so that the model holds the unit for exactly the steps that still hold some of
    its minimum time, ceil(remaining / step_s): never fewer, so no protection is shortened,
    and none at all once the minimum time is served.
    """
    whole = int(in_state_s // step_s)
    min_steps = math.ceil(min_in_state_s / step_s)
    remaining_steps = math.ceil(max(0.0, min_in_state_s - in_state_s) / step_s)
    return max(whole, min_steps - remaining_steps)


@dataclass(frozen=True)
class UnitPlanData:
    """One heat-pump unit as the planner sees it: ratings, per-step COP and measured history.

    Electric power is the line through (heat_min_kw, heat_min_kw / (cop * part_load_cop_factor))
    and (heat_max_kw, heat_max_kw / cop): a factor below 1 makes part load less efficient.
    """

    name: str
    heat_min_kw: float
    heat_max_kw: float
    cop: tuple[float, ...]  # per step, from forecast source and supply temperatures
    start_cost_eur: float
    min_run_steps: int
    min_off_steps: int
    max_starts_per_window: int
    start_window_steps: int  # e.g. 2 starts per 4 steps (1 h of quarter-hours)
    initially_on: bool
    steps_in_state: int  # how long it has been on (or off) before the first step
    starts_in_window_before: int  # starts within the last (window - 1) steps before t0
    available: bool = True  # tripped or out-of-service units are planned off
    # per step, whether the unit may run at all (its forecast lift below the soft limit, see
    # controller/core/lift_limit.py); empty: every step
    runnable: tuple[bool, ...] = ()
    part_load_cop_factor: float = 1.0  # COP at minimum load / COP at full load
    # per step, the share of heat_max_kw the unit can give (its capacity falls with the
    # source temperature); empty: all of it every step
    heat_max_fraction: tuple[float, ...] = ()
    # Plan stability: the previous plan's commitment for the first steps (may be shorter than
    # the horizon; empty: no hold) and what each step committed otherwise costs.
    hold_on: tuple[bool, ...] = ()
    hold_eur_per_step: float = 0.0

    def runnable_mask(self, steps: int) -> npt.NDArray[np.bool_]:
        """`runnable` as an array of `steps` (all true when not given)."""
        if not self.runnable:
            return np.ones(steps, dtype=bool)
        return np.asarray(self.runnable[:steps], dtype=bool)

    def heat_max_by_step(self, steps: int) -> npt.NDArray[np.float64]:
        """The unit's heat ceiling per step (kW)."""
        if not self.heat_max_fraction:
            return np.full(steps, self.heat_max_kw)
        return self.heat_max_kw * np.asarray(self.heat_max_fraction[:steps], dtype=np.float64)

    def __post_init__(self) -> None:
        if not all(math.isfinite(f) and 0.0 < f <= 1.0 for f in self.heat_max_fraction):
            raise ValueError(f"unit {self.name}: every heat_max_fraction must be in (0, 1]")
        _check_non_negative(
            heat_min_kw=self.heat_min_kw,
            start_cost_eur=self.start_cost_eur,
        )
        if not (math.isfinite(self.heat_max_kw) and self.heat_max_kw > 0.0):
            raise ValueError(f"unit {self.name}: heat_max_kw must be > 0")
        if self.heat_min_kw > self.heat_max_kw:
            raise ValueError(f"unit {self.name}: heat_min_kw exceeds heat_max_kw")
        if not all(math.isfinite(c) and c > 0.0 for c in self.cop):
            raise ValueError(f"unit {self.name}: every COP must be finite and > 0")
        if not 0.0 < self.part_load_cop_factor <= 1.0:
            raise ValueError(f"unit {self.name}: part_load_cop_factor must be in (0, 1]")
        for field in ("min_run_steps", "min_off_steps", "steps_in_state"):
            if getattr(self, field) < 0:
                raise ValueError(f"unit {self.name}: {field} must be >= 0")
        if self.max_starts_per_window < 1 or self.start_window_steps < 1:
            raise ValueError(f"unit {self.name}: the starts limit needs >= 1 start per window")
        if self.starts_in_window_before < 0:
            raise ValueError(f"unit {self.name}: starts_in_window_before must be >= 0")
        _check_non_negative(hold_eur_per_step=self.hold_eur_per_step)


@dataclass(frozen=True)
class PlanInputs:
    """Everything one planning run needs, with one value per step for every time series.

    The end-of-horizon rule keeps the plan from emptying the tank for free: the tank ends at
    least at `storage_terminal_kwh` (the initial energy when neither it nor a terminal value is
    given), and/or leftover energy is credited at `storage_terminal_value_eur_per_kwh`.
    A measured initial energy outside [0, capacity] is clamped into it.
    """

    start_utc: datetime
    step_s: float
    steps: int
    price_eur_per_mwh: tuple[float, ...]
    carbon_g_per_kwh: tuple[float, ...]
    heat_demand_kw: tuple[float, ...]
    units: tuple[UnitPlanData, ...]
    storage_capacity_kwh: float
    storage_initial_kwh: float
    storage_loss_per_step: float  # fraction of the stored energy lost each step
    storage_max_charge_kw: float | None
    storage_max_discharge_kw: float | None
    storage_terminal_kwh: float | None
    storage_terminal_value_eur_per_kwh: float | None
    boiler_heat_max_kw: float
    boiler_efficiency: float
    boiler_fuel_price_eur_per_mwh: float  # per MWh of fuel, the price quoted when planning
    boiler_fuel_carbon_g_per_kwh: float  # per kWh of fuel
    carbon_price_eur_per_t: float = 0.0
    grid_import_limit_kw: float | None = None  # raised where units are held on at min load
    emissions_cap_kg: float | None = None
    # soft: CO2 over the horizon above this costs `emissions_guard_penalty_eur_per_t`
    emissions_guard_kg: float | None = None
    emissions_guard_penalty_eur_per_t: float = 1000.0
    unmet_penalty_eur_per_mwh: float = 10_000.0
    time_limit_s: float = 2.0
    mip_rel_gap: float = 0.01
    # a fuel price per step (hindsight: `perfect`, the lower bound); None: the quote holds
    boiler_fuel_price_by_step: tuple[float, ...] | None = None
    # per step, the most heat all units' evaporators may take together: a data centre's
    # recoverable heat (drivers/datacentre.py); None: the source has no limit (a river)
    source_heat_max_kw: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.start_utc.tzinfo is None:
            raise ValueError("start_utc must be timezone-aware UTC")
        if self.steps < 1 or not (math.isfinite(self.step_s) and self.step_s > 0.0):
            raise ValueError("a plan needs at least one step of positive duration")
        _check_series("price_eur_per_mwh", self.price_eur_per_mwh, self.steps)
        _check_series("carbon_g_per_kwh", self.carbon_g_per_kwh, self.steps)
        _check_series("heat_demand_kw", self.heat_demand_kw, self.steps)
        for unit in self.units:
            if unit.runnable and len(unit.runnable) != self.steps:
                raise ValueError(
                    f"unit {unit.name}: runnable has {len(unit.runnable)} steps, the plan {self.steps}"
                )
        if self.source_heat_max_kw is not None:
            _check_series("source_heat_max_kw", self.source_heat_max_kw, self.steps)
            _check_non_negative(
                **{f"source_heat_max_kw[{i}]": v for i, v in enumerate(self.source_heat_max_kw)}
            )
        if self.boiler_fuel_price_by_step is not None:
            _check_series("boiler_fuel_price_by_step", self.boiler_fuel_price_by_step, self.steps)
            _check_non_negative(
                **{
                    f"boiler_fuel_price_by_step[{i}]": v
                    for i, v in enumerate(self.boiler_fuel_price_by_step)
                }
            )
        _check_non_negative(
            **{f"carbon_g_per_kwh[{i}]": v for i, v in enumerate(self.carbon_g_per_kwh)},
            **{f"heat_demand_kw[{i}]": v for i, v in enumerate(self.heat_demand_kw)},
        )
        names = [unit.name for unit in self.units]
        if len(set(names)) != len(names):
            raise ValueError("unit names must be unique")
        for unit in self.units:
            if len(unit.cop) != self.steps:
                raise ValueError(
                    f"unit {unit.name}: {len(unit.cop)} COP values, {self.steps} steps"
                )
            if unit.heat_max_fraction and len(unit.heat_max_fraction) != self.steps:
                raise ValueError(
                    f"unit {unit.name}: {len(unit.heat_max_fraction)} heat_max_fraction values, "
                    f"{self.steps} steps"
                )
            if len(unit.hold_on) > self.steps:
                raise ValueError(f"unit {unit.name}: hold_on is longer than the horizon")
        _check_non_negative(
            storage_capacity_kwh=self.storage_capacity_kwh,
            storage_initial_kwh=self.storage_initial_kwh,
            boiler_heat_max_kw=self.boiler_heat_max_kw,
            boiler_fuel_price_eur_per_mwh=self.boiler_fuel_price_eur_per_mwh,
            boiler_fuel_carbon_g_per_kwh=self.boiler_fuel_carbon_g_per_kwh,
            carbon_price_eur_per_t=self.carbon_price_eur_per_t,
            emissions_guard_penalty_eur_per_t=self.emissions_guard_penalty_eur_per_t,
            unmet_penalty_eur_per_mwh=self.unmet_penalty_eur_per_mwh,
            mip_rel_gap=self.mip_rel_gap,
        )
        optional = {
            "storage_max_charge_kw": self.storage_max_charge_kw,
            "storage_max_discharge_kw": self.storage_max_discharge_kw,
            "storage_terminal_kwh": self.storage_terminal_kwh,
            "grid_import_limit_kw": self.grid_import_limit_kw,
            "emissions_cap_kg": self.emissions_cap_kg,
            "emissions_guard_kg": self.emissions_guard_kg,
        }
        _check_non_negative(**{k: v for k, v in optional.items() if v is not None})
        if self.storage_terminal_value_eur_per_kwh is not None and not math.isfinite(
            self.storage_terminal_value_eur_per_kwh
        ):
            raise ValueError("storage_terminal_value_eur_per_kwh must be finite")
        if not 0.0 <= self.storage_loss_per_step < 1.0:
            raise ValueError("storage_loss_per_step must be in [0, 1)")
        if not 0.0 < self.boiler_efficiency <= 1.2:
            raise ValueError("boiler_efficiency must be in (0, 1.2]")
        if not (math.isfinite(self.time_limit_s) and self.time_limit_s > 0.0):
            raise ValueError("time_limit_s must be > 0")

    @property
    def fuel_price_per_step(self) -> tuple[float, ...]:
        """EUR per MWh of fuel at each step."""
        if self.boiler_fuel_price_by_step is not None:
            return self.boiler_fuel_price_by_step
        return (self.boiler_fuel_price_eur_per_mwh,) * self.steps

    @property
    def step_h(self) -> float:
        """Step length in hours (kW x step_h = kWh)."""
        return self.step_s / 3600.0

    @property
    def terminal_floor_kwh(self) -> float | None:
        """The hard end-of-horizon floor, or None when only a terminal value applies."""
        if self.storage_terminal_kwh is not None:
            return min(self.storage_terminal_kwh, self.storage_capacity_kwh)
        if self.storage_terminal_value_eur_per_kwh is not None:
            return None
        return min(self.storage_initial_kwh, self.storage_capacity_kwh)
