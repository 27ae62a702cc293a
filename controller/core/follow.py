"""Plan following: the plan's step for now + the measured state -> targets (pure).

The plan's unit commitment is kept; each running unit's load is trimmed by the measured demand's
error against the plan's forecast and by the tank's deviation from the energy the plan expected
now (closed over the recovery time), shared in proportion to size. A low tank calls the boiler
for what the units confirmed running cannot deliver. A tank whose top is in the upper half of
the soft band below its high-limit interlock takes no more heat than the network draws: units
whose minimum load it cannot take are switched off (the least wanted heat first) and the boiler
with them, before the interlock would stop them (`controller/core/tank_limit.py`).

Between interchangeable units (the same ratings: the plan cannot tell them apart) the follower
spares one with an active alarm or a recent trip, as the rules do: a start the plan gives it
goes to a healthy twin (one already running first), and a stop the plan gives a healthy
running twin goes to it instead, when its minimum run time allows. The number of units and the
heat stay the plan's.
"""

from __future__ import annotations

from controller.core.commands import Targets
from controller.core.plan import Plan
from controller.core.rules import caution, unit_available
from controller.core.situation import Situation
from controller.core.stage import may_start, may_stop
from controller.core.tank_limit import near_high_limit
from drivers.kinds import StateCode
from drivers.site import UnitSpec


def follow_plan(
    plan: Plan, source: str, situation: Situation, planned_energy_kwh: float | None
) -> Targets:
    """Targets from the plan's step at the situation's time.

    `source` names the ladder rung ("plan" or "last_plan") in the targets and their reasons;
    `planned_energy_kwh` is the stored energy the plan expects now (None: take the measured).
    The plan must cover the situation's time.
    """
    state = situation.state
    step = plan.step_at(state.now_utc)
    if step is None:
        raise ValueError(f"the plan does not cover {state.now_utc.isoformat()}")
    site = situation.site
    staging = situation.control.staging
    forecast_demand_kw = plan.inputs.heat_demand_kw[step]
    demand_error_kw = (state.network_heat_kw or forecast_demand_kw) - forecast_demand_kw
    soc = state.soc or 0.0
    energy_kwh = state.energy_kwh or 0.0
    planned_kwh = planned_energy_kwh if planned_energy_kwh is not None else energy_kwh
    soc_error_kw = (planned_kwh - energy_kwh) / staging.soc_recovery_h
    correction_kw = demand_error_kw + soc_error_kw
    specs = {spec.name: spec for spec in site.units}
    unit_on: dict[str, bool] = {}
    unit_heat: dict[str, float] = {}
    reasons: dict[str, str] = {}
    running = [name for index, name in enumerate(plan.unit_names) if plan.unit_on[index][step]]
    capacity_kw = sum(specs[name].heat_max_kw for name in running)
    for index, name in enumerate(plan.unit_names):
        on = plan.unit_on[index][step]
        unit_on[name] = on
        planned_kw = plan.unit_heat_kw[index][step]
        share = specs[name].heat_max_kw / capacity_kw if on and capacity_kw > 0 else 0.0
        unit_heat[name] = planned_kw + correction_kw * share if on else 0.0
        price = plan.inputs.price_eur_per_mwh[step]
        reasons[name] = (
            f"{source}: run at {planned_kw:.0f} kW, price {price:.1f} EUR/MWh"
            if on
            else f"{source}: off"
        )
    running = _spare_cautioned(situation, source, unit_on, unit_heat, reasons, running)
    boiler_kw = plan.boiler_heat_kw[step] if plan.boiler_heat_kw else 0.0
    if site.boiler is not None and soc < staging.soc_boiler_on:
        # a low tank: the boiler covers what the units confirmed running cannot (a unit
        # that is still starting delivers nothing yet)
        wanted_kw = max(
            sum(unit_heat.values()),
            (state.network_heat_kw or forecast_demand_kw) + max(0.0, soc_error_kw),
        )
        deliverable_kw = sum(
            min(unit_heat[name], specs[name].heat_max_kw)
            for name in running
            if state.unit(name).state_code == StateCode.RUNNING
        )
        boiler_kw = max(boiler_kw, min(site.boiler.heat_max_kw, wanted_kw - deliverable_kw))
    if near_high_limit(state, site, situation.control):
        demand_kw = state.network_heat_kw or forecast_demand_kw
        for name in _not_taken(running, unit_heat, specs, demand_kw):
            unit_on[name] = False
            unit_heat[name] = 0.0
            reasons[name] = f"{source}: off, tank at its high limit takes no more than demand"
        boiler_kw = 0.0
    return Targets(
        unit_on=unit_on,
        unit_heat_kw=unit_heat,
        boiler_heat_kw=max(0.0, boiler_kw),
        source=source,
        reasons=reasons,
    )


def _ratings(spec: UnitSpec) -> tuple[object, ...]:
    """What the plan knows of a unit: units alike in all of it are interchangeable to it."""
    return (
        spec.heat_max_kw,
        spec.min_load_fraction,
        spec.compressor_efficiency,
        spec.refrigerant,
        spec.heat_loss_fraction,
        spec.source_cooling_k,
        spec.part_load_cop_factor,
        spec.capacity_by_source_temp,
        spec.defrost_below_source_temp_c,
        spec.defrost_cop_factor,
        spec.max_supply_temp_c,
        spec.max_lift_k,
    )


def _spare_cautioned(
    situation: Situation,
    source: str,
    unit_on: dict[str, bool],
    unit_heat: dict[str, float],
    reasons: dict[str, str],
    running: list[str],
) -> list[str]:
    """Swap the plan's start of a cautioned unit, or its stop of a healthy twin, between
    interchangeable units (see the module doc); returns the units now meant to run."""
    state, histories = situation.state, situation.histories
    staging, now_s = situation.control.staging, state.now_s
    reset_s = situation.control.safety.trip_reset_s
    specs = {spec.name: spec for spec in situation.site.units}
    cautions = {
        name: caution(state.unit(name), histories.get(name), staging, now_s) for name in specs
    }
    if not any(cautions.values()):
        return running

    def swap(off: str, on: str, why: str) -> None:
        unit_on[off], unit_on[on] = False, True
        unit_heat[on], unit_heat[off] = unit_heat[off], 0.0
        reasons[on] = f"{reasons[off]}, in place of {off} ({why})"
        reasons[off] = f"{source}: off, {on} runs in its place ({why})"

    for name, why in cautions.items():
        unit = state.unit(name)
        twins = [
            other
            for other, spec in specs.items()
            if other != name and _ratings(spec) == _ratings(specs[name]) and not cautions[other]
        ]
        if unit_on[name] and not unit.compressor_on and why:
            # a start for a cautioned unit: a healthy twin the plan keeps off takes it
            spare = [
                other
                for other in twins
                if not unit_on[other] and unit_available(state.unit(other), histories.get(other))
            ]

            def start_rank(other: str) -> tuple[bool, bool, float]:
                history = histories.get(other)
                startable = (
                    history is None or may_start(specs[other], history, now_s, reset_s).allowed
                )
                hours = state.unit(other).run_hours_h or 0.0
                return (not state.unit(other).compressor_on, not startable, hours)

            if spare:
                swap(name, min(spare, key=start_rank), why)
        elif unit_on[name] and unit.compressor_on and why:
            # a stop for a healthy running twin: the cautioned unit stops instead
            history = histories.get(name)
            if history is not None and not may_stop(specs[name], history, now_s).allowed:
                continue
            stopping = [
                other for other in twins if not unit_on[other] and state.unit(other).compressor_on
            ]
            if stopping:
                swap(name, stopping[0], why)
    return [name for name in specs if unit_on[name]]


def _not_taken(
    running: list[str], unit_heat: dict[str, float], specs: dict[str, UnitSpec], demand_kw: float
) -> list[str]:
    """The running units a full tank cannot take: while the minimum loads of those kept exceed
    the demand, the one with the least wanted heat goes (the stager would hold it at minimum
    load, and the tank would charge on into the interlock)."""
    kept = sorted(running, key=lambda name: (unit_heat[name], name))
    dropped: list[str] = []
    while kept and sum(specs[name].heat_min_kw for name in kept) > demand_kw:
        dropped.append(kept.pop(0))
    return dropped
