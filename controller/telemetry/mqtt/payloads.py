"""What the bridge publishes: the plant's state, the current plan and events, as JSON objects."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from controller.core.events import AuditEvent
from controller.core.overrides import OverrideRequest
from controller.core.plan import Plan
from controller.core.report import CycleReport
from drivers.kinds import StateCode

# The one timestamp format of every published payload: RFC 3339, UTC, whole seconds, `Z`.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_ISO_WITH_OFFSET = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$"
)


def iso_utc(when: datetime) -> str:
    """`when` as RFC 3339 UTC with `Z`, to the second (`2024-01-08T00:00:00Z`)."""
    return when.astimezone(UTC).strftime(TIME_FORMAT)


def state_name(code: int | None) -> str | None:
    """The name beside a state code (`off`, `starting`, `running`, `stopping`, `tripped`);
    `unknown` for a code outside drivers.kinds.StateCode, None when nothing was read."""
    if code is None:
        return None
    try:
        return StateCode(code).name.lower()
    except ValueError:
        return "unknown"


def _times_as_utc(value: object) -> object:
    """An event's detail with every timestamp in it (datetime or ISO text with an offset) in
    the one format: details come from many places, some with `+00:00` or microseconds."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, str) and _ISO_WITH_OFFSET.match(value):
        return iso_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    if isinstance(value, Mapping):
        return {key: _times_as_utc(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_times_as_utc(item) for item in value]
    return value


def _round(value: float | None, digits: int = 2) -> float | None:
    if value is None or value != value:  # None or NaN: unknown
        return None
    return round(value, digits)


def override_payload(request: OverrideRequest) -> dict[str, object]:
    out: dict[str, object] = {
        "id": request.request_id,
        "kind": request.kind,
        "priority": request.priority,
        "expires_utc": iso_utc(request.expires_utc),
        "received_utc": iso_utc(request.received_utc),
        "operator": request.operator,
    }
    for key in ("unit", "on", "heat_kw", "max_power_kw", "min_heat_kw"):
        value = getattr(request, key)
        if value is not None:
            out[key] = value
    return out


def state_payload(
    report: CycleReport, overrides: Iterable[OverrideRequest] = ()
) -> dict[str, object]:
    """One cycle's view: measurements, what was decided and why, interlocks, overrides."""
    state = report.state
    units: dict[str, object] = {}
    for unit in state.units:
        command = report.commands.units.get(unit.name)
        units[unit.name] = {
            "state_code": unit.state_code,
            "state": state_name(unit.state_code),
            "data_good": unit.data_good,
            "heat_kw": _round(unit.heat_kw, 1),
            "power_kw": _round(unit.power_kw, 1),
            "cop": _round(unit.cop),
            "supply_temp_c": _round(unit.supply_temp_c),
            "target_on": report.targets.unit_on.get(unit.name, False),
            "target_heat_kw": _round(report.targets.unit_heat_kw.get(unit.name, 0.0), 1),
            "enable": command.enable if command else None,
            "heat_setpoint_kw": _round(command.heat_setpoint_kw, 1) if command else None,
            "remote": command.remote if command else None,
            "reason": command.reason if command else "",
        }
    boiler = None
    if state.boiler is not None:
        boiler_command = report.commands.boiler
        boiler = {
            "state_code": state.boiler.state_code,
            "state": state_name(state.boiler.state_code),
            "heat_kw": _round(state.boiler.heat_kw, 1),
            "enable": boiler_command.enable if boiler_command else None,
            "heat_setpoint_kw": _round(boiler_command.heat_setpoint_kw, 1)
            if boiler_command
            else None,
        }
    return {
        "at_utc": iso_utc(state.now_utc),
        "cycle": report.number,
        "source": report.targets.source,
        "source_reason": report.targets.source_reason,
        "handed_back": report.handed_back,
        "read_only": report.read_only,  # commissioning: decided, nothing written
        "soc": _round(state.soc, 4),
        "energy_kwh": _round(state.energy_kwh, 1),
        "network_heat_kw": _round(state.network_heat_kw, 1),
        "outdoor_temp_c": _round(state.outdoor_temp_c),
        "source_temp_c": _round(state.source_temp_c),
        "units": units,
        "boiler": boiler,
        "interlocks": [
            {"equipment": i.equipment, "reason": i.reason, "detail": i.detail}
            for i in report.interlocks
        ],
        "overrides": [override_payload(r) for r in overrides],
    }


def plan_payload(plan: Plan, provenance: Mapping[str, str] | None = None) -> dict[str, object]:
    """The plan's schedule per step: unit commitment, heat and electric power (what a trader
    bids), boiler heat and fuel, storage, prices and carbon; with `provenance`, where each of
    its inputs came from (`inputs`)."""
    inputs = plan.inputs
    step_h = inputs.step_s / 3600.0
    fuel_price = inputs.boiler_fuel_price_eur_per_mwh  # the quote when planning
    efficiency = inputs.boiler_efficiency
    fuel_kw = [heat / efficiency if efficiency > 0 else 0.0 for heat in plan.boiler_heat_kw]
    power = plan.unit_power_kw or tuple((0.0,) * inputs.steps for _ in plan.unit_names)
    grid = plan.grid_power_kw or tuple(0.0 for _ in range(inputs.steps))
    body: dict[str, object] = {
        "status": plan.status,
        "usable": plan.usable,
        "start_utc": iso_utc(inputs.start_utc),
        "step_s": inputs.step_s,
        "steps": inputs.steps,
        "valid_until_utc": iso_utc(plan.valid_until_utc),
        "objective_eur": _round(plan.objective_eur),
        "mip_gap": _round(plan.mip_gap, 5),
        "solve_time_s": _round(plan.solve_time_s, 3),
        "solver_start": plan.start,
        "time_to_first_solution_s": _round(plan.time_to_first_solution_s, 3),
        "electricity_eur": _round(plan.electricity_eur),
        "boiler_fuel_eur": _round(plan.boiler_fuel_eur),
        "start_eur": _round(plan.start_eur),
        "carbon_t": _round(plan.carbon_t, 3),
        "fuel_price_eur_per_mwh": _round(fuel_price),
        "units": {
            name: {
                "on": list(plan.unit_on[index]),
                "heat_kw": [round(v, 1) for v in plan.unit_heat_kw[index]],
                "power_kw": [round(v, 1) for v in power[index]],
            }
            for index, name in enumerate(plan.unit_names)
        },
        "power_kw": [round(v, 1) for v in grid],
        "boiler_heat_kw": [round(v, 1) for v in plan.boiler_heat_kw],
        "boiler_fuel_kw": [round(v, 1) for v in fuel_kw],
        "boiler_fuel_eur_per_step": [
            round(kw * step_h * price / 1000.0, 2)
            for kw, price in zip(fuel_kw, inputs.fuel_price_per_step, strict=True)
        ],
        "storage_kwh": [round(v, 1) for v in plan.storage_kwh],
        "price_eur_per_mwh": [round(v, 2) for v in inputs.price_eur_per_mwh],
        "carbon_g_per_kwh": [round(v, 1) for v in inputs.carbon_g_per_kwh],
    }
    if provenance is not None:
        body["inputs"] = dict(provenance)
    return body


def event_payload(event: AuditEvent) -> dict[str, object]:
    return {
        "at_utc": iso_utc(event.at_utc),
        "kind": event.kind,
        "equipment": event.equipment,
        "detail": _times_as_utc(event.detail),
    }
