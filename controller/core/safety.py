"""Safety interlocks: last, one-way, pure. They can only make commands safer.

Safer means: a compressor that is not allowed to start stays off; a limit that is about to be
crossed stops heat input even inside a minimum run time (the equipment's temperature limit
outranks the compressor's comfort); a valve never closes under a running unit; and when the
controller cannot see the tank it hands the plant back to the units' own local control rather
than steering blind. Every intervention is reported as an Interlock with a stable reason key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from controller.core.commands import Commands, Interlock
from controller.core.situation import Situation
from controller.core.stage import may_start


@dataclass(frozen=True, slots=True)
class SafetyResult:
    commands: Commands
    interlocks: tuple[Interlock, ...]
    handed_back: bool  # the plant was handed to local control this cycle


def apply_safety(commands: Commands, situation: Situation, tank_blind_for_s: float) -> SafetyResult:
    state, histories, site = situation.state, situation.histories, situation.site
    limits = situation.control.safety
    interlocks: list[Interlock] = []
    result = commands
    if tank_blind_for_s >= limits.stale_handback_s:
        detail = f"tank data not good for {tank_blind_for_s:.0f} s"
        for spec in site.units:
            # the supply setpoint is still written on a hand-back: never above the unit's limit
            supply_c = min(spec.max_supply_temp_c, result.units[spec.name].supply_temp_setpoint_c)
            result = result.with_unit(
                spec.name,
                remote=False,
                enable=False,
                heat_setpoint_kw=0.0,
                supply_temp_setpoint_c=supply_c,
                reason="handed back: tank blind",
            )
            interlocks.append(Interlock(spec.name, "tank_data_stale_handback", detail))
        if result.boiler is not None:
            result = replace(
                result,
                boiler=replace(result.boiler, remote=False, enable=False, heat_setpoint_kw=0.0),
            )
        return SafetyResult(result, tuple(interlocks), handed_back=True)

    tank_limit_hit = [
        (tank.name, tank.top_temp_c, spec.max_temp_c)
        for tank, spec in zip(state.tanks, site.tanks, strict=True)
        if tank.top_temp_c is not None
        and tank.top_temp_c >= spec.max_temp_c - limits.tank_high_margin_k
    ]
    for spec in site.units:
        unit = state.unit(spec.name)
        command = result.units[spec.name]
        history = histories[spec.name]

        def block(reason: str, detail: str, name: str = spec.name) -> None:
            nonlocal result
            result = result.with_unit(
                name, enable=False, heat_setpoint_kw=0.0, reason=f"interlock: {detail}"
            )
            interlocks.append(Interlock(name, reason, detail))

        hold_s = history.trip_hold_left_s(state.now_s, limits.trip_reset_s)
        if command.enable and unit.tripped:
            block("unit_tripped", f"unit tripped (alarm {unit.alarm_code})")
        elif command.enable and history.tripped_since_s is not None:
            block("trip_reset_hold", "held off after a trip until reset")
        elif command.enable and not unit.compressor_on and hold_s > 0:
            # a unit already running again (started at its own panel) is not stopped by the hold
            block(
                "trip_reset_hold",
                f"held off {hold_s:.0f} s more after its trip cleared "
                f"(trip_reset_s {limits.trip_reset_s:.0f} s)",
            )
        elif command.enable and not unit.data_good:
            block("unit_data_stale", "unit data not good")
        elif command.enable and tank_limit_hit:
            name, top_c, max_c = tank_limit_hit[0]
            block("tank_high_temp", f"tank {name} top {top_c:.1f} °C at its limit {max_c:.1f} °C")
        elif (
            command.enable
            and unit.supply_temp_c is not None
            and unit.supply_temp_c >= spec.max_supply_temp_c - limits.supply_high_margin_k
        ):
            block(
                "supply_high_temp",
                f"supply {unit.supply_temp_c:.1f} °C near limit {spec.max_supply_temp_c:.1f} °C",
            )
        elif (
            command.enable
            and unit.supply_temp_c is not None
            and unit.source_temp_c is not None
            and unit.supply_temp_c - unit.source_temp_c
            >= spec.max_lift_k - limits.supply_high_margin_k
        ):
            lift_k = unit.supply_temp_c - unit.source_temp_c
            block("lift_high", f"lift {lift_k:.1f} K near the unit's limit {spec.max_lift_k:.1f} K")
        elif command.enable and not unit.compressor_on:
            check = may_start(spec, history, state.now_s, limits.trip_reset_s)
            if not check.allowed:
                block("start_protection", check.why_not)
            elif spec.isolation_valve is not None and (
                unit.valve_position_pct is None
                or unit.valve_position_pct < limits.valve_open_confirm_pct
            ):
                block(
                    "valve_not_confirmed",
                    f"isolation valve {spec.isolation_valve} not confirmed open",
                )
        command = result.units[spec.name]
        clamped_kw = min(spec.heat_max_kw, max(0.0, command.heat_setpoint_kw))
        clamped_supply_c = min(spec.max_supply_temp_c, command.supply_temp_setpoint_c)
        if (
            clamped_kw != command.heat_setpoint_kw
            or clamped_supply_c != command.supply_temp_setpoint_c
        ):
            result = result.with_unit(
                spec.name, heat_setpoint_kw=clamped_kw, supply_temp_setpoint_c=clamped_supply_c
            )
        if spec.isolation_valve is not None and (unit.compressor_on or command.enable):
            valve = result.valves[spec.isolation_valve]
            if valve.position_pct < 100.0:
                result = result.with_valve(
                    spec.isolation_valve, position_pct=100.0, reason="interlock: unit running"
                )
                interlocks.append(
                    Interlock(
                        spec.isolation_valve,
                        "valve_close_while_running",
                        f"unit {spec.name} is running",
                    )
                )
    if result.boiler is not None and site.boiler is not None:
        boiler = result.boiler
        if boiler.enable and tank_limit_hit:
            name, top_c, max_c = tank_limit_hit[0]
            boiler = replace(
                boiler, enable=False, heat_setpoint_kw=0.0, reason="interlock: tank at its limit"
            )
            interlocks.append(
                Interlock(
                    site.boiler.name,
                    "tank_high_temp",
                    f"tank {name} top {top_c:.1f} °C at its limit {max_c:.1f} °C",
                )
            )
            result = replace(result, boiler=boiler)
        clamped = min(site.boiler.heat_max_kw, max(0.0, boiler.heat_setpoint_kw))
        if clamped != boiler.heat_setpoint_kw:
            result = replace(result, boiler=replace(boiler, heat_setpoint_kw=clamped))
    return SafetyResult(result, tuple(interlocks), handed_back=False)


InterlockKey = tuple[str, str]  # (equipment, reason): the same intervention from cycle to cycle


def interlock_keys(interlocks: Iterable[Interlock]) -> frozenset[InterlockKey]:
    return frozenset((i.equipment, i.reason) for i in interlocks)


def newly_active(
    interlocks: Iterable[Interlock], active_before: frozenset[InterlockKey]
) -> tuple[Interlock, ...]:
    """The interventions that were not active in the cycle before: the events to report once."""
    return tuple(i for i in interlocks if (i.equipment, i.reason) not in active_before)
