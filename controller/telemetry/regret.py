"""Hindsight regret of a finished day: the same MILP the planner uses, fed with the day's true
hourly prices, carbon intensity and heat delivered instead of forecasts, from the tank's
measured energy at the start of the day to its energy at the end. What the plant really paid
minus that optimum is the regret of the day's decisions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from controller.config import ControlConfig
from controller.core.cop import planned_cop
from controller.core.plan import PlanInputs, UnitPlanData, boiler_terms, solve_plan
from controller.core.source_limit import recoverable_forecast_kw
from controller.core.stage import supply_setpoint_c
from controller.telemetry.daybook import DayBook, DayRecord
from drivers.site import SiteConfig

HINDSIGHT_TIME_LIMIT_S = 30.0
HINDSIGHT_GAP = 0.001


@dataclass(frozen=True)
class Regret:
    day: date
    actual_cost_eur: float
    hindsight_cost_eur: float
    status: str  # the hindsight solve's status

    @property
    def regret_eur(self) -> float:
        return self.actual_cost_eur - self.hindsight_cost_eur


def hindsight_inputs(day: DayRecord, site: SiteConfig, control: ControlConfig) -> PlanInputs:
    """The day as a planning problem with perfect foresight, in the planner's steps (each
    hour's values held over its steps)."""
    if not day.complete:
        raise ValueError(f"day {day.day} was not observed completely: no hindsight plan")
    config = control.planner
    per_hour = max(1, round(3600.0 / config.step_s))
    step_s = 3600.0 / per_hour
    hours = [day.hours[key] for key in sorted(day.hours) for _ in range(per_hour)]
    supply_c = [
        supply_setpoint_c(site.network, h.mean_outdoor_c(), control.supply_temp_setpoint_c)
        for h in hours
    ]
    source_c = [_mean_or(h.mean_source_c(), site.source.mean_temp_c) for h in hours]
    units = tuple(
        UnitPlanData(
            name=spec.name,
            heat_min_kw=spec.heat_min_kw,
            heat_max_kw=spec.heat_max_kw,
            cop=_hindsight_cop(
                [h.measured_cop(spec.name) for h in hours],
                [
                    planned_cop(spec, site.network.return_temp_c, s_c, src_c)
                    for s_c, src_c in zip(supply_c, source_c, strict=True)
                ],
            ),
            start_cost_eur=spec.start_cost_eur,
            min_run_steps=math.ceil(spec.min_run_s / step_s),
            min_off_steps=math.ceil(spec.min_off_s / step_s),
            max_starts_per_window=spec.max_starts_per_hour,
            start_window_steps=per_hour,
            initially_on=day.units_on_at_start.get(spec.name, False),
            steps_in_state=len(hours),  # no carry-over: the day starts unconstrained
            starts_in_window_before=0,
        )
        for spec in site.units
    )
    # The tank must end the day holding what the plant left in it, by the day's heat balance:
    # a stratified tank gives heat below its nominal band too, so its measured state of
    # charge alone would let the plant look better than the hindsight plan for draining it.
    assert day.storage_start_kwh is not None
    drawn_kwh = day.heat_delivered_kwh - day.heat_produced_kwh  # losses included
    below_band_kwh = max(0.0, drawn_kwh - day.storage_start_kwh)  # used below SoC 0
    initial_kwh = max(0.0, day.storage_start_kwh) + below_band_kwh
    terminal_kwh = max(0.0, initial_kwh - drawn_kwh)
    band_kwh = sum(t.capacity_kwh for t in site.tanks) * control.staging.soc_max_plan
    capacity_kwh = max(band_kwh + below_band_kwh, initial_kwh, terminal_kwh)
    boiler = site.boiler
    steps_utc = [hours[0].start_utc + timedelta(seconds=k * step_s) for k in range(len(hours))]
    return PlanInputs(
        start_utc=hours[0].start_utc,
        step_s=step_s,
        steps=len(hours),
        price_eur_per_mwh=tuple(h.price_eur_per_mwh or 0.0 for h in hours),
        carbon_g_per_kwh=tuple(h.carbon_g_per_kwh or 0.0 for h in hours),
        heat_demand_kw=tuple(
            max(0.0, h.heat_delivered_kwh * 3600.0 / max(h.seconds, 1.0)) for h in hours
        ),
        units=units,
        storage_capacity_kwh=capacity_kwh,
        storage_initial_kwh=initial_kwh,
        storage_loss_per_step=0.0,  # the measured balance already holds the day's losses
        storage_max_charge_kw=None,
        storage_max_discharge_kw=None,
        storage_terminal_kwh=terminal_kwh,
        storage_terminal_value_eur_per_kwh=None,
        **boiler_terms(boiler),
        carbon_price_eur_per_t=config.carbon_price_eur_per_t,
        grid_import_limit_kw=config.grid_import_limit_kw,
        unmet_penalty_eur_per_mwh=config.unmet_penalty_eur_per_mwh,
        time_limit_s=HINDSIGHT_TIME_LIMIT_S,
        mip_rel_gap=HINDSIGHT_GAP,
        # the daybook keeps no IT load: a data centre's default profile bounds the units
        source_heat_max_kw=recoverable_forecast_kw(site, steps_utc),
    )


def hindsight_regret(day: DayRecord, site: SiteConfig, control: ControlConfig) -> Regret:
    """Solve the day in hindsight (blocking: run it in a worker thread) and compare."""
    book = DayBook(site, control)
    actual = book.actual_cost_eur(day)
    plan = solve_plan(hindsight_inputs(day, site, control))
    if not plan.usable:
        return Regret(day.day, actual, math.nan, plan.status)
    optimum = plan.electricity_eur + plan.boiler_fuel_eur + plan.carbon_eur + plan.start_eur
    return Regret(day.day, actual, optimum, plan.status)


def _hindsight_cop(measured: list[float | None], modelled: list[float]) -> tuple[float, ...]:
    """What the unit really achieved where it ran; elsewhere the planner's COP model, scaled
    by how far the measurements sat from it that day. The regret then judges the decisions,
    not the planner's COP model."""
    ratios = [m / c for m, c in zip(measured, modelled, strict=True) if m is not None]
    scale = sum(ratios) / len(ratios) if ratios else 1.0
    return tuple(m if m is not None else c * scale for m, c in zip(measured, modelled, strict=True))


def _mean_or(value: float | None, default: float) -> float:
    return default if value is None else value
