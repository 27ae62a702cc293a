"""Key performance indicators of a replay, in the spirit of BOPTEST, and the capture ratios.

Two costs, kept apart:
- cash: what the plant pays: electricity at the price in force, boiler fuel at the fuel price in
  force, and emission allowances for the boiler's CO2 where its installation is in the EU ETS;
- objective (`total_cost_eur`): cash plus the carbon price on every tonne not already paid for
  as an allowance, i.e. electricity + fuel + carbon price x all CO2: what the planner minimises.
Policies end the period with different amounts of heat in the tank; the difference is charged
(or credited) at the baseline's average cost and CO2 of heat, so that no policy gains by
emptying the tank at the end. Changes against the baseline are signed, policy minus baseline:
negative is a saving. A capture ratio (baseline - policy) / (baseline - perfect) is given only
where perfect really improves on the baseline (`capture_ratio`: NaN and a reason otherwise).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from controller.config import Plant
from controller.evaluate.data import FloatArray
from controller.evaluate.replay import ReplayResult

# Equivalent operating hours per start: the accounting the reference plants' start costs are
# built on (see deploy/plants/*.toml): an engineering estimate, not a maker's figure.
EOH_PER_START_H = 10.0


@dataclass(frozen=True)
class UnitKpis:
    starts: int
    run_hours_h: float
    heat_mwh: float
    electricity_mwh: float
    max_starts_in_any_hour: int
    equivalent_operating_hours_h: float  # run hours + EOH_PER_START_H per start
    start_cost_eur: float  # starts at the plant file's start_cost_eur (wear, not cash)


@dataclass(frozen=True)
class PolicyKpis:
    policy: str
    electricity_mwh: float
    electricity_cost_eur: float
    boiler_heat_mwh: float
    boiler_fuel_mwh: float
    boiler_fuel_cost_eur: float
    allowances_eur: float  # the boiler's CO2 at the carbon price, where it is in the ETS
    cash_cost_eur: float  # electricity + fuel + allowances
    carbon_shadow_eur: float  # the carbon price on the tonnes no allowance paid for
    carbon_cost_eur: float  # allowances + shadow: the carbon price on all CO2
    total_cost_eur: float  # the objective: cash + shadow
    co2_t: float
    boiler_co2_t: float
    heat_demand_mwh: float
    heat_delivered_mwh: float
    unmet_heat_kwh: float
    hours_below_supply_min_h: float
    average_cop: float
    tank_cycles: float  # equivalent full discharges over the period
    tank_loss_mwh: float
    stored_change_mwh: float  # heat content at the end minus at the start
    adjusted_cost_eur: float  # total cost with the stored-heat difference charged
    adjusted_cash_cost_eur: float
    adjusted_co2_t: float
    cost_eur_per_mwh_heat: float  # adjusted objective per MWh of heat delivered
    cash_eur_per_mwh_heat: float
    units: dict[str, UnitKpis]
    cycle_compute_ms_mean: float
    cycle_compute_ms_p99: float
    planning_s_total: float
    solves: int
    solve_ms_p50: float
    solve_ms_max: float
    plan_statuses: dict[str, int]
    dispatch_levels: dict[str, int]
    interlocks: dict[str, int]  # interventions by reason
    interlocks_by_equipment: dict[str, dict[str, int]]  # reason -> equipment -> interventions
    interlock_first_utc: dict[str, str]  # reason -> its first intervention (ISO UTC)
    compute_time_ratio: float  # (control + planning compute per step) / step length
    replay_wall_s: float
    forecast_errors: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def total_starts(self) -> int:
        return sum(unit.starts for unit in self.units.values())

    @property
    def total_run_hours_h(self) -> float:
        return sum(unit.run_hours_h for unit in self.units.values())


def _percentile_ms(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) * 1000.0 if values.size else math.nan


def policy_kpis(
    result: ReplayResult,
    plant: Plant,
    carbon_price_eur_per_t: float,
    fuel_price_eur_per_mwh: FloatArray,
    heat: HeatValue,
) -> PolicyKpis:
    """`fuel_price_eur_per_mwh`: hourly, aligned with the trace's hours."""
    trace = result.trace
    boiler = plant.site.boiler
    hourly_fuel_kwh = trace.boiler_fuel_kwh
    fuel_kwh = float(hourly_fuel_kwh.sum())
    prices = np.asarray(fuel_price_eur_per_mwh[: hourly_fuel_kwh.size], dtype=np.float64)
    if prices.size != hourly_fuel_kwh.size:
        raise ValueError(f"{prices.size} fuel prices for {hourly_fuel_kwh.size} replayed hours")
    fuel_cost = float(hourly_fuel_kwh @ prices) / 1000.0 if boiler else 0.0
    boiler_co2_t = fuel_kwh * boiler.fuel_carbon_g_per_kwh / 1e6 if boiler else 0.0
    co2_t = float(trace.electricity_co2_kg.sum()) / 1000.0 + boiler_co2_t
    electricity_cost = float(trace.electricity_cost_eur.sum())
    allowances = (
        carbon_price_eur_per_t * boiler_co2_t if boiler and boiler.in_emissions_trading else 0.0
    )
    carbon_cost = carbon_price_eur_per_t * co2_t
    cash = electricity_cost + fuel_cost + allowances
    total = electricity_cost + fuel_cost + carbon_cost
    delivered_mwh = float(trace.delivered_kwh.sum()) / 1000.0
    adjusted_total = total - result.stored_change_kwh * heat.cost_eur_per_kwh
    adjusted_cash = cash - result.stored_change_kwh * heat.cash_eur_per_kwh
    unit_heat = float(trace.unit_heat_kwh.sum())
    electricity = float(trace.unit_electricity_kwh.sum())
    capacity_kwh = sum(tank.capacity_kwh for tank in plant.site.tanks)
    stored = np.concatenate([[0.0], trace.stored_kwh])
    discharged_kwh = float(np.clip(-np.diff(stored), 0.0, None).sum())
    steps = max(1, result.cycle_durations_s.size)
    compute_s = float(result.cycle_durations_s.sum()) + result.planning_wall_s
    start_cost = {spec.name: spec.start_cost_eur for spec in plant.site.units}
    units = {
        name: UnitKpis(
            starts=result.unit_starts[name],
            run_hours_h=result.unit_run_hours_h[name],
            heat_mwh=float(trace.unit_heat_kwh[i].sum()) / 1000.0,
            electricity_mwh=float(trace.unit_electricity_kwh[i].sum()) / 1000.0,
            max_starts_in_any_hour=result.max_starts_in_any_hour.get(name, 0),
            equivalent_operating_hours_h=result.unit_run_hours_h[name]
            + EOH_PER_START_H * result.unit_starts[name],
            start_cost_eur=start_cost.get(name, 0.0) * result.unit_starts[name],
        )
        for i, name in enumerate(result.unit_names)
    }
    return PolicyKpis(
        policy=result.policy,
        electricity_mwh=electricity / 1000.0,
        electricity_cost_eur=electricity_cost,
        boiler_heat_mwh=float(trace.boiler_heat_kwh.sum()) / 1000.0,
        boiler_fuel_mwh=fuel_kwh / 1000.0,
        boiler_fuel_cost_eur=fuel_cost,
        allowances_eur=allowances,
        cash_cost_eur=cash,
        carbon_shadow_eur=carbon_cost - allowances,
        carbon_cost_eur=carbon_cost,
        total_cost_eur=total,
        co2_t=co2_t,
        boiler_co2_t=boiler_co2_t,
        heat_demand_mwh=float(trace.demand_kwh.sum()) / 1000.0,
        heat_delivered_mwh=float(trace.delivered_kwh.sum()) / 1000.0,
        unmet_heat_kwh=result.unmet_heat_kwh,
        hours_below_supply_min_h=result.hours_below_supply_min_h,
        average_cop=unit_heat / electricity if electricity > 0 else math.nan,
        tank_cycles=discharged_kwh / capacity_kwh if capacity_kwh > 0 else math.nan,
        tank_loss_mwh=result.tank_loss_kwh / 1000.0,
        stored_change_mwh=result.stored_change_kwh / 1000.0,
        adjusted_cost_eur=adjusted_total,
        adjusted_cash_cost_eur=adjusted_cash,
        adjusted_co2_t=co2_t - result.stored_change_kwh * heat.co2_kg_per_kwh / 1000.0,
        cost_eur_per_mwh_heat=adjusted_total / delivered_mwh if delivered_mwh > 0 else math.nan,
        cash_eur_per_mwh_heat=adjusted_cash / delivered_mwh if delivered_mwh > 0 else math.nan,
        units=units,
        cycle_compute_ms_mean=float(result.cycle_durations_s.mean()) * 1000.0
        if result.cycle_durations_s.size
        else math.nan,
        cycle_compute_ms_p99=_percentile_ms(result.cycle_durations_s, 99),
        planning_s_total=result.planning_wall_s,
        solves=int(result.solve_times_s.size),
        solve_ms_p50=_percentile_ms(result.solve_times_s, 50),
        solve_ms_max=float(result.solve_times_s.max()) * 1000.0
        if result.solve_times_s.size
        else math.nan,
        plan_statuses=result.plan_statuses,
        dispatch_levels=result.levels,
        interlocks=result.interlocks,
        interlocks_by_equipment=result.interlocks_by_equipment,
        interlock_first_utc=result.interlock_first_utc,
        compute_time_ratio=compute_s / steps / result.step_s,
        replay_wall_s=result.wall_s,
        forecast_errors=result.forecast_errors,
    )


@dataclass(frozen=True)
class HeatValue:
    """What a kWh of heat left in (or taken from) the tank is worth: the baseline's average."""

    cost_eur_per_kwh: float = 0.0  # objective (cash + carbon shadow)
    cash_eur_per_kwh: float = 0.0
    co2_kg_per_kwh: float = 0.0


def heat_value(
    baseline: ReplayResult,
    plant: Plant,
    carbon_price_eur_per_t: float,
    fuel_price_eur_per_mwh: FloatArray,
) -> HeatValue:
    """The baseline's average cost, cash cost and CO2 of the heat it produced."""
    zero = policy_kpis(baseline, plant, carbon_price_eur_per_t, fuel_price_eur_per_mwh, HeatValue())
    produced_kwh = float(baseline.trace.unit_heat_kwh.sum() + baseline.trace.boiler_heat_kwh.sum())
    if produced_kwh <= 0:
        return HeatValue()
    return HeatValue(
        cost_eur_per_kwh=zero.total_cost_eur / produced_kwh,
        cash_eur_per_kwh=zero.cash_cost_eur / produced_kwh,
        co2_kg_per_kwh=zero.co2_t * 1000.0 / produced_kwh,
    )


# perfect must improve on the baseline by at least this share for a capture ratio to mean
# something: below it the ratio divides noise by noise (or by a change of the wrong sign)
MEANINGFUL_IMPROVEMENT = 0.005


def capture_ratio(baseline: float, achieved: float, best: float) -> float:
    """Share of the possible improvement that a policy achieved (NaN when none was possible)."""
    return capture_with_reason(baseline, achieved, best)[0]


def capture_with_reason(baseline: float, achieved: float, best: float) -> tuple[float, str]:
    """The capture ratio, or NaN and why it would not mean anything."""
    possible = baseline - best
    if not (math.isfinite(possible) and math.isfinite(achieved)):
        return math.nan, "a figure is missing"
    if possible <= MEANINGFUL_IMPROVEMENT * abs(baseline):
        if possible < 0:
            why = "perfect is worse than the baseline on this figure: nothing to capture"
        else:
            why = (
                f"perfect improves on the baseline by under {MEANINGFUL_IMPROVEMENT:.1%} "
                "on this figure"
            )
        return math.nan, why
    return (baseline - achieved) / possible, ""


@dataclass(frozen=True)
class Change:
    """A policy against the baseline, policy minus baseline: negative is a saving."""

    cash_eur: float
    cash_pct: float
    objective_eur: float
    objective_pct: float
    co2_t: float
    co2_pct: float
    starts: int
    run_hours_h: float
    interlock_interventions: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _pct(change: float, base: float) -> float:
    return 100.0 * change / abs(base) if base else math.nan


def change_against(policy: PolicyKpis, baseline: PolicyKpis) -> Change:
    """Adjusted (stored-heat) figures of `policy` minus those of `baseline`."""
    cash = policy.adjusted_cash_cost_eur - baseline.adjusted_cash_cost_eur
    objective = policy.adjusted_cost_eur - baseline.adjusted_cost_eur
    co2 = policy.adjusted_co2_t - baseline.adjusted_co2_t
    return Change(
        cash_eur=cash,
        cash_pct=_pct(cash, baseline.adjusted_cash_cost_eur),
        objective_eur=objective,
        objective_pct=_pct(objective, baseline.adjusted_cost_eur),
        co2_t=co2,
        co2_pct=_pct(co2, baseline.adjusted_co2_t),
        starts=policy.total_starts - baseline.total_starts,
        run_hours_h=policy.total_run_hours_h - baseline.total_run_hours_h,
        interlock_interventions=sum(policy.interlocks.values()) - sum(baseline.interlocks.values()),
    )


def energy_balance_kwh(result: ReplayResult) -> dict[str, float]:
    """Produced - delivered - tank losses - change in stored heat: zero when energy is conserved."""
    trace = result.trace
    produced = float(trace.unit_heat_kwh.sum() + trace.boiler_heat_kwh.sum())
    delivered = float(trace.delivered_kwh.sum())
    residual = produced - delivered - result.tank_loss_kwh - result.stored_change_kwh
    return {
        "produced_kwh": produced,
        "delivered_kwh": delivered,
        "tank_loss_kwh": result.tank_loss_kwh,
        "stored_change_kwh": result.stored_change_kwh,
        "residual_kwh": residual,
        "residual_fraction": residual / produced if produced > 0 else 0.0,
    }
