"""The API's answers built from what the controller holds: the last cycle report, the plan, the
desk's requests in force. Pure functions of their arguments: the server hands them the objects."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from controller.api.models import (
    BoilerView,
    DispatchView,
    InterlockView,
    OverrideView,
    PlanUnitView,
    PlanView,
    StateView,
    TankView,
    UnitView,
)
from controller.config import Plant
from controller.core.overrides import OverrideRequest
from controller.core.plan import Plan
from controller.core.report import CycleReport
from drivers.kinds import StateCode


def iso_utc(when: datetime) -> str:
    """RFC 3339 in UTC with `Z`: one format for every time the API gives."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _num(value: float | None, digits: int = 2) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


def state_name(code: int | None) -> str:
    if code is None:
        return "no_data"
    try:
        return StateCode(code).name.lower()
    except ValueError:
        return f"unknown_{code}"


def override_view(request: OverrideRequest) -> OverrideView:
    return OverrideView(
        id=request.request_id,
        kind=request.kind,
        priority=request.priority,
        operator=request.operator,
        received_utc=iso_utc(request.received_utc),
        expires_utc=iso_utc(request.expires_utc),
        unit=request.unit,
        on=request.on,
        heat_kw=request.heat_kw,
        max_power_kw=request.max_power_kw,
        min_heat_kw=request.min_heat_kw,
        describe=request.describe(),
    )


def rung_reason(
    report: CycleReport, plant: Plant, current: Plan | None, last_attempt: Plan | None
) -> str:
    """Why the dispatch is on the rung it is, from what the policy itself looks at (the plan
    follower's ladder in controller/runtime/plan_policy.py)."""
    source = report.targets.source
    failure = report.policy_failure
    if failure is not None:
        return f"{failure.policy} raised {failure.error}: the rules decided this cycle"
    policy = plant.control.policy
    if source == "plan" and current is not None:
        return (
            f"following the newest plan, solved for {iso_utc(current.inputs.start_utc)} "
            f"({current.status}), valid until {iso_utc(current.valid_until_utc)}"
        )
    if source == "last_plan" and current is not None:
        if last_attempt is not None and last_attempt is not current:
            return (
                f"the newest planning run gave no usable plan ({last_attempt.status}"
                f"{': ' + last_attempt.message if last_attempt.message else ''}); following the "
                f"previous plan from {iso_utc(current.inputs.start_utc)}"
            )
        interval_s = plant.control.planner.interval_s
        return (
            f"the plan from {iso_utc(current.inputs.start_utc)} is older than twice the "
            f"planning interval ({interval_s:.0f} s) but younger than max_plan_age_s"
        )
    if source != "rules":
        return f"the {policy} policy decided ({source})"
    if policy != "planner":
        return f"the plant file sets policy = '{policy}'"
    return _why_rules(report, plant, current, last_attempt)


def _why_rules(
    report: CycleReport, plant: Plant, current: Plan | None, last_attempt: Plan | None
) -> str:
    now_utc = report.state.now_utc
    if current is None:
        if last_attempt is None:
            return "no plan yet: the planner has not solved one (it waits for prices)"
        detail = f": {last_attempt.message}" if last_attempt.message else ""
        return f"no usable plan: the last planning run ended {last_attempt.status}{detail}"
    if current.step_at(now_utc) is None:
        return f"the last plan ended at {iso_utc(current.valid_until_utc)} and no newer one exists"
    max_age = timedelta(seconds=plant.control.planner.max_plan_age_s)
    if now_utc - current.inputs.start_utc >= max_age:
        return (
            f"the last plan (from {iso_utc(current.inputs.start_utc)}) is older than "
            f"max_plan_age_s = {max_age.total_seconds():.0f} s"
        )
    if report.state.soc is None:
        return "the tank's state of charge is unknown: a plan cannot be followed blind"
    return "a plan was made after this cycle: the next cycle follows it"


def state_view(
    report: CycleReport,
    plant: Plant,
    overrides: Iterable[OverrideRequest],
    current: Plan | None,
    last_attempt: Plan | None,
    writes_enabled: bool,
) -> StateView:
    state = report.state
    units = []
    for unit in state.units:
        command = report.commands.units.get(unit.name)
        units.append(
            UnitView(
                name=unit.name,
                state=state_name(unit.state_code),
                state_code=unit.state_code,
                data_good=unit.data_good,
                heat_kw=_num(unit.heat_kw, 1),
                power_kw=_num(unit.power_kw, 1),
                cop=_num(unit.cop),
                supply_temp_c=_num(unit.supply_temp_c),
                target_on=report.targets.unit_on.get(unit.name, False),
                target_heat_kw=round(report.targets.unit_heat_kw.get(unit.name, 0.0), 1),
                enable=command.enable if command else None,
                heat_setpoint_kw=_num(command.heat_setpoint_kw, 1) if command else None,
                remote=command.remote if command else None,
                reason=command.reason if command else report.targets.reasons.get(unit.name, ""),
            )
        )
    boiler = None
    if state.boiler is not None:
        boiler_command = report.commands.boiler
        boiler = BoilerView(
            name=state.boiler.name,
            state=state_name(state.boiler.state_code),
            state_code=state.boiler.state_code,
            heat_kw=_num(state.boiler.heat_kw, 1),
            enable=boiler_command.enable if boiler_command else None,
            heat_setpoint_kw=_num(boiler_command.heat_setpoint_kw, 1) if boiler_command else None,
        )
    failure = report.policy_failure
    return StateView(
        at_utc=iso_utc(state.now_utc),
        cycle=report.number,
        plant=plant.site.plant.name,
        read_only=report.read_only,
        handed_back=report.handed_back,
        writes_enabled=writes_enabled,
        dispatch=DispatchView(
            policy=plant.control.policy,
            rung=report.targets.source,
            reason=rung_reason(report, plant, current, last_attempt),
            policy_error=None if failure is None else f"{failure.policy}: {failure.error}",
        ),
        network_heat_kw=_num(state.network_heat_kw, 1),
        outdoor_temp_c=_num(state.outdoor_temp_c),
        source_temp_c=_num(state.source_temp_c),
        soc=_num(state.soc, 4),
        energy_kwh=_num(state.energy_kwh, 1),
        tanks=[
            TankView(
                name=tank.name,
                soc=_num(tank.soc, 4),
                energy_kwh=_num(tank.energy_kwh, 1),
                capacity_kwh=round(tank.capacity_kwh, 1),
                layer_temps_c=[_num(t) for t in tank.layer_temps_c],
            )
            for tank in state.tanks
        ],
        units=units,
        boiler=boiler,
        interlocks=[
            InterlockView(equipment=i.equipment, reason=i.reason, detail=i.detail)
            for i in report.interlocks
        ],
        overrides=[override_view(r) for r in overrides],
    )


def _series(values: Iterable[float], digits: int = 1) -> list[float]:
    return [round(v, digits) for v in values]


def plan_view(plan: Plan) -> PlanView:
    inputs = plan.inputs
    step = timedelta(seconds=inputs.step_s)
    return PlanView(
        status=plan.status,
        usable=plan.usable,
        start_utc=iso_utc(inputs.start_utc),
        step_s=inputs.step_s,
        steps=inputs.steps,
        valid_until_utc=iso_utc(plan.valid_until_utc),
        step_start_utc=[iso_utc(inputs.start_utc + k * step) for k in range(inputs.steps)],
        objective_eur=_num(plan.objective_eur),
        mip_gap=_num(plan.mip_gap, 5),
        electricity_eur=_num(plan.electricity_eur),
        boiler_fuel_eur=_num(plan.boiler_fuel_eur),
        carbon_t=_num(plan.carbon_t, 3),
        units={
            name: PlanUnitView(
                on=list(plan.unit_on[index]),
                heat_kw=_series(plan.unit_heat_kw[index]),
                power_kw=_series(plan.unit_power_kw[index]),
            )
            for index, name in enumerate(plan.unit_names)
        },
        boiler_heat_kw=_series(plan.boiler_heat_kw),
        storage_kwh=_series(plan.storage_kwh),
        grid_power_kw=_series(plan.grid_power_kw),
        heat_demand_kw=_series(inputs.heat_demand_kw),
        price_eur_per_mwh=_series(inputs.price_eur_per_mwh, 2),
        carbon_g_per_kwh=_series(inputs.carbon_g_per_kwh),
        boiler_fuel_price_eur_per_mwh=round(inputs.boiler_fuel_price_eur_per_mwh, 2),
    )
