"""Stage: targets + measured state -> equipment commands, with the compressor protections (pure).

Start sequence as plants run it: open the unit's isolation valve, wait for the position
feedback to confirm, then enable the compressor. Stop sequence: the compressor stops first,
the valve closes after a run-on delay counted from the confirmed stop. Minimum run and off
times and the starts limit come from the measured history; setpoints move at the unit's ramp.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.core.commands import BoilerCommand, Commands, Targets, UnitCommand, ValveCommand
from controller.core.history import UnitHistory
from controller.core.lift_limit import lift_soft_limit_k, unit_lift_k
from controller.core.situation import Situation
from drivers.site import NetworkSpec, UnitSpec


@dataclass(frozen=True, slots=True)
class StartCheck:
    allowed: bool
    why_not: str = ""


def may_start(
    spec: UnitSpec, history: UnitHistory, now_s: float, trip_reset_s: float
) -> StartCheck:
    """The hold after a trip (`trip_reset_s` from the moment the measured trip cleared), then
    the minimum off time and the starts limit, from confirmed stops and starts."""
    hold_s = history.trip_hold_left_s(now_s, trip_reset_s)
    if hold_s > 0:
        if history.tripped_since_s is not None:
            return StartCheck(False, "tripped, not reset")
        return StartCheck(
            False, f"trip reset hold: {hold_s:.0f} of {trip_reset_s:.0f} s after its trip cleared"
        )
    off_s = history.off_for_s(now_s)
    if off_s < spec.min_off_s:
        return StartCheck(False, f"min off time: off {off_s:.0f} of {spec.min_off_s:.0f} s")
    starts = history.starts_last_hour(now_s)
    if starts >= spec.max_starts_per_hour:
        return StartCheck(
            False, f"starts limit: {starts} of {spec.max_starts_per_hour} in the last hour"
        )
    return StartCheck(True)


def may_stop(spec: UnitSpec, history: UnitHistory, now_s: float) -> StartCheck:
    on_s = history.on_for_s(now_s)
    if on_s < spec.min_run_s:
        return StartCheck(False, f"min run time: on {on_s:.0f} of {spec.min_run_s:.0f} s")
    return StartCheck(True)


def supply_setpoint_c(
    network: NetworkSpec, outdoor_temp_c: float | None, fixed_c: float | None
) -> float:
    """Weather compensation between the design and the heating-limit outdoor temperature."""
    if fixed_c is not None:
        return fixed_c
    if outdoor_temp_c is None:
        return network.supply_temp_c  # blind: the design (highest) temperature is safe for supply
    span = network.heating_limit_temp_c - network.design_outdoor_temp_c
    fraction = min(1.0, max(0.0, (outdoor_temp_c - network.design_outdoor_temp_c) / span))
    return network.supply_temp_c + fraction * (network.supply_temp_warm_c - network.supply_temp_c)


def _ramped(previous_kw: float, target_kw: float, step_kw: float) -> float:
    return min(previous_kw + step_kw, max(previous_kw - step_kw, target_kw))


def stage(targets: Targets, situation: Situation, previous: Commands | None) -> Commands:
    state, histories = situation.state, situation.histories
    site, control = situation.site, situation.control
    now_s = state.now_s
    confirm_pct = control.safety.valve_open_confirm_pct
    supply_c = supply_setpoint_c(site.network, state.outdoor_temp_c, control.supply_temp_setpoint_c)
    near_high_limit = any(
        tank.top_temp_c is not None
        and tank.top_temp_c
        >= spec.max_temp_c
        - control.safety.tank_high_margin_k
        - control.staging.high_limit_soft_band_k
        for tank, spec in zip(state.tanks, site.tanks, strict=True)
    )
    units: dict[str, UnitCommand] = {}
    valves: dict[str, ValveCommand] = {
        valve.name: ValveCommand(position_pct=0.0, reason="no unit needs flow")
        for valve in site.valves
    }
    for spec in site.units:
        unit = state.unit(spec.name)
        history = histories[spec.name]
        wanted = targets.unit_on.get(spec.name, False)
        reason = targets.reasons.get(spec.name, "")
        lift_k = unit_lift_k(spec, unit, supply_c)
        soft_lift_k = lift_soft_limit_k(spec, control)
        if wanted and lift_k is not None and lift_k >= soft_lift_k:
            # close to the lift interlock: leave it off (or stop it once its minimum run allows)
            # rather than have the interlock stop it
            high_lift = f"lift {lift_k:.1f} K at the unit's soft limit {soft_lift_k:.1f} K"
            if not unit.compressor_on:
                wanted, reason = False, f"start deferred: {high_lift}"
            elif (stop_check := may_stop(spec, history, now_s)).allowed:
                wanted, reason = False, f"stopped: {high_lift}"
            else:
                reason = f"held on: {stop_check.why_not}; {high_lift}"
        if unit.compressor_on and not wanted:
            check = may_stop(spec, history, now_s)
            if not check.allowed:
                wanted, reason = True, f"held on: {check.why_not}"
        elif wanted and not unit.compressor_on:
            check = may_start(spec, history, now_s, control.safety.trip_reset_s)
            if not check.allowed:
                wanted, reason = False, f"start deferred: {check.why_not}"
        enable = wanted
        if spec.isolation_valve is not None:
            valve_name = spec.isolation_valve
            valve_open = (
                unit.valve_position_pct is not None and unit.valve_position_pct >= confirm_pct
            )
            stopped_at = history.stopped_at_s
            in_run_on = (
                stopped_at is not None and now_s - stopped_at < control.safety.valve_run_on_s
            )
            if wanted or unit.compressor_on or in_run_on:
                why = (
                    "unit running"
                    if unit.compressor_on
                    else ("run-on after stop" if in_run_on else "opening before start")
                )
                valves[valve_name] = ValveCommand(position_pct=100.0, reason=why)
            if wanted and not unit.compressor_on and not valve_open:
                enable, reason = False, "waiting for isolation valve to confirm open"
        previous_kw = 0.0
        if previous is not None and spec.name in previous.units:
            previous_kw = previous.units[spec.name].heat_setpoint_kw
        target_kw = targets.unit_heat_kw.get(spec.name, 0.0) if wanted else 0.0
        if wanted:
            # close to the tank's high limit: minimum load, so the interlock is not reached
            if near_high_limit:
                target_kw = spec.heat_min_kw
                reason = f"{reason}; minimum load: tank near its high limit"
            target_kw = min(spec.heat_max_kw, max(spec.heat_min_kw, target_kw))
            if not unit.compressor_on:
                previous_kw = spec.heat_min_kw  # a unit starts at minimum load and ramps up
        setpoint_kw = (
            _ramped(previous_kw, target_kw, spec.ramp_kw_per_s * control.cycle_s) if wanted else 0.0
        )
        units[spec.name] = UnitCommand(
            remote=True,
            enable=enable,
            heat_setpoint_kw=setpoint_kw,
            supply_temp_setpoint_c=min(supply_c, spec.max_supply_temp_c),
            reason=reason,
        )
    boiler = None
    if site.boiler is not None:
        boiler_kw = targets.boiler_heat_kw
        boiler_on = boiler_kw > 0
        floor_kw = site.boiler.heat_max_kw * site.boiler.min_load_fraction
        boiler = BoilerCommand(
            remote=True,
            enable=boiler_on,
            heat_setpoint_kw=min(site.boiler.heat_max_kw, max(floor_kw, boiler_kw))
            if boiler_on
            else 0.0,
            reason=(targets.boiler_reason or "helping: units at their limit and tank low")
            if boiler_on
            else "not needed",
        )
    return Commands(units=units, valves=valves, boiler=boiler)
