"""Rule-based staging with the measured load: the fallback policy and the baseline (pure).

As a good plant runs without an optimiser. The load is what the plant must make now: the
network's measured heat demand plus the heat that brings the tank to its target over the
recovery time (a tank above target gives heat, so the load is smaller). How many units run
follows that load:

- stage up when the load is above what the running units give at their maximum
  (`stage_up_load_fraction` of it), once every staged unit is confirmed running;
- stage down when the others could carry the load at or below an efficient share of their
  maximum (`stage_down_load_fraction`: the gap to the stage-up share is the hysteresis), or
  when the units would have to run below their minimum load and the others could carry it;
- the first unit follows the tank as a thermostat: it starts when the tank falls below
  `soc_start_next`, or when the load would keep one unit at an efficient load; the last one
  stops when the tank is full (`soc_stop_one`), as does any unit then;
- which unit: one with an active alarm or a recent trip starts last and stops first; otherwise
  the fewest run hours lead and the most run hours stop; among those, a unit its minimum off
  time or starts limit (to start) or minimum run time (to stop) lets switch now goes first;
- the backup boiler only when every unit already runs and the tank is nearly empty.

At most one unit changes per cycle so that starts never come in bursts. The compressor
protections themselves are kept by `controller.core.stage`, whatever the rules ask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from controller.config import StagingConfig
from controller.core.commands import Targets
from controller.core.estimate import PlantState, UnitState
from controller.core.history import UnitHistory
from controller.core.situation import Situation
from controller.core.stage import may_start, may_stop
from drivers.site import UnitSpec


def unit_available(unit: UnitState, history: UnitHistory | None) -> bool:
    """A unit may be planned or staged: fresh data, not tripped, not held after a trip."""
    if not unit.data_good or unit.tripped:
        return False
    return history is None or history.tripped_since_s is None


def staging_load_kw(state: PlantState, staging: StagingConfig, soc_target: float) -> float | None:
    """Network demand now plus the heat that closes the gap to `soc_target` over the recovery
    time; negative when the tank holds more than the demand needs. None with a blind tank."""
    soc = state.soc
    if soc is None:
        return None
    demand_kw = state.network_heat_kw or 0.0
    return demand_kw + (soc_target - soc) * state.capacity_kwh / staging.soc_recovery_h


def desired_heat_kw(state: PlantState, staging: StagingConfig) -> float | None:
    """The rules' load toward `soc_target`, never negative: what the running units are asked."""
    load_kw = staging_load_kw(state, staging, staging.soc_target)
    return None if load_kw is None else max(0.0, load_kw)


def split_heat(heat_kw: float, specs: list[UnitSpec]) -> dict[str, float]:
    """Share heat over running units in proportion to size, each within its load range."""
    total_max = sum(spec.heat_max_kw for spec in specs)
    return {
        spec.name: min(
            spec.heat_max_kw, max(spec.heat_min_kw, heat_kw * spec.heat_max_kw / total_max)
        )
        for spec in specs
    }


@dataclass(frozen=True, slots=True)
class TankBand:
    """What the stager asks of the tank.

    `target`: the state of charge the load is trimmed toward; `start_below`: the first unit
    starts below this even at a small load; `stop_above`: above this (a full tank) a unit
    stops, the last one too; `stop_last_without_load`: the last unit also stops when no load
    is left for it (another source carries it).
    """

    target: float
    start_below: float
    stop_above: float
    stop_last_without_load: bool = False


def rules_band(staging: StagingConfig) -> TankBand:
    return TankBand(staging.soc_target, staging.soc_start_next, staging.soc_stop_one)


@dataclass(frozen=True, slots=True)
class Staged:
    """The units the stager keeps on (plant order) and why each is on or off."""

    units: tuple[str, ...]
    reasons: dict[str, str]


def caution(
    unit: UnitState, history: UnitHistory | None, staging: StagingConfig, now_s: float
) -> str:
    """Why a unit should start last and stop first ("" when there is none): an active alarm,
    or a trip less than `recent_trip_h` ago."""
    if unit.alarm_code:
        return f"alarm {unit.alarm_code} active"
    if history is not None and history.tripped_within(now_s, staging.recent_trip_h * 3600.0):
        last_s = history.last_trip_s if history.last_trip_s is not None else now_s
        return f"tripped {(now_s - last_s) / 3600.0:.1f} h ago"
    return ""


def stage_units(
    situation: Situation,
    previous_on: Mapping[str, bool] | None,
    load_kw: float,
    band: TankBand,
) -> Staged:
    """Which units run this cycle: those staged before (or running) and still available, with
    at most one started or stopped on the load and the tank (see the module doc)."""
    state, histories, site = situation.state, situation.histories, situation.site
    staging = situation.control.staging
    reset_s = situation.control.safety.trip_reset_s
    now_s = state.now_s
    soc = state.soc if state.soc is not None else band.target
    specs = {spec.name: spec for spec in site.units}
    available = [
        unit.name for unit in state.units if unit_available(unit, histories.get(unit.name))
    ]
    staged = [
        name
        for name in available
        if (previous_on is not None and previous_on.get(name, False))
        or state.unit(name).compressor_on
    ]
    cautions = {
        name: caution(state.unit(name), histories.get(name), staging, now_s) for name in available
    }

    def run_hours(name: str) -> float:
        return state.unit(name).run_hours_h or 0.0

    def can_start(name: str) -> bool:
        history = histories.get(name)
        return history is None or may_start(specs[name], history, now_s, reset_s).allowed

    def can_stop(name: str) -> bool:
        history = histories.get(name)
        if not state.unit(name).compressor_on or history is None:
            return True  # not turning yet: calling a start off costs nothing
        return may_stop(specs[name], history, now_s).allowed

    def max_kw(names: list[str]) -> float:
        return sum(specs[name].heat_max_kw for name in names)

    # plant order breaks ties in run hours (sorted is stable): iterating a set would follow
    # string hashing, which changes from process to process
    idle = sorted(
        (name for name in available if name not in staged),
        key=lambda name: (bool(cautions[name]), not can_start(name), run_hours(name)),
    )
    stop_order = sorted(
        staged, key=lambda name: (not cautions[name], not can_stop(name), -run_hours(name))
    )
    reasons: dict[str, str] = {}
    all_confirmed = all(state.unit(name).compressor_on for name in staged)
    up = staging.stage_up_load_fraction
    down = staging.stage_down_load_fraction

    def note(name: str, text: str) -> str:
        return f"{text} ({cautions[name]})" if cautions[name] else text

    if staged and soc > band.stop_above:
        lag = stop_order[0]
        staged.remove(lag)
        reasons[lag] = note(lag, f"stopped: tank full ({soc:.0%})")
    elif not staged and idle:
        lead = idle[0]
        if soc < band.start_below:
            staged.append(lead)
            reasons[lead] = note(lead, f"started: tank at {soc:.0%}")
        elif load_kw >= down * specs[lead].heat_max_kw:
            staged.append(lead)
            reasons[lead] = note(lead, f"started: load {load_kw:.0f} kW, tank at {soc:.0%}")
    elif idle and all_confirmed and load_kw > up * max_kw(staged):
        lead = idle[0]
        staged.append(lead)
        reasons[lead] = note(
            lead, f"started: load {load_kw:.0f} kW above the running {max_kw(staged[:-1]):.0f} kW"
        )
    elif len(staged) > 1:
        lag = stop_order[0]
        rest = [name for name in staged if name != lag]
        rest_max_kw = max_kw(rest)
        below_min = load_kw < sum(specs[name].heat_min_kw for name in staged)
        if load_kw <= down * rest_max_kw:
            staged.remove(lag)
            reasons[lag] = note(
                lag, f"stopped: the others carry {load_kw:.0f} kW at {down:.0%} or less"
            )
        elif below_min and load_kw <= rest_max_kw:
            staged.remove(lag)
            reasons[lag] = note(lag, f"stopped: {load_kw:.0f} kW is below the units' minimum")
    elif staged and band.stop_last_without_load and load_kw <= 0.0:
        lag = stop_order[0]
        staged.remove(lag)
        reasons[lag] = note(lag, "stopped: no load left for it")
    for name in staged:
        reasons.setdefault(name, f"running: tank at {soc:.0%}, load {load_kw:.0f} kW")
    for name in specs:
        if name not in staged:
            reasons.setdefault(name, "off: not needed" if name in available else "unavailable")
    order = {name: index for index, name in enumerate(specs)}
    return Staged(units=tuple(sorted(staged, key=order.__getitem__)), reasons=reasons)


def backup_boiler_kw(
    situation: Situation, staged: tuple[str, ...], heat_kw: float, boiler_was_on: bool
) -> float:
    """The boiler helps only when every available unit is staged and the tank is nearly empty;
    it covers what the units cannot, at least its minimum load."""
    state, site, staging = situation.state, situation.site, situation.control.staging
    soc = state.soc
    if site.boiler is None or soc is None:
        return 0.0
    available = [
        unit.name
        for unit in state.units
        if unit_available(unit, situation.histories.get(unit.name))
    ]
    every_unit_staged = len(staged) == len(available)
    low = soc < staging.soc_boiler_on or (boiler_was_on and soc < staging.soc_boiler_off)
    if not (every_unit_staged and low):
        return 0.0
    specs = {spec.name: spec for spec in site.units}
    shortfall_kw = heat_kw - sum(specs[name].heat_max_kw for name in staged)
    floor_kw = site.boiler.heat_max_kw * site.boiler.min_load_fraction
    return min(site.boiler.heat_max_kw, max(floor_kw, shortfall_kw))


def rule_targets(situation: Situation, previous: Targets | None) -> Targets:
    state, site = situation.state, situation.site
    staging = situation.control.staging
    band = rules_band(staging)
    load_kw = staging_load_kw(state, staging, band.target)
    if load_kw is None:
        # Blind tank: hold what was staged; safety decides whether to hand back to local control.
        if previous is not None:
            return Targets(
                unit_on=dict(previous.unit_on),
                unit_heat_kw=dict(previous.unit_heat_kw),
                boiler_heat_kw=previous.boiler_heat_kw,
                source="rules",
                reasons={name: "holding: tank state unknown" for name in previous.unit_on},
            )
        load_kw = 0.0
    staged = stage_units(situation, previous.unit_on if previous else None, load_kw, band)
    specs = {spec.name: spec for spec in site.units}
    heat_kw = max(0.0, load_kw)
    heat_by_unit = split_heat(heat_kw, [specs[name] for name in staged.units])
    boiler_was_on = previous is not None and previous.boiler_heat_kw > 0
    return Targets(
        unit_on={name: name in staged.units for name in specs},
        unit_heat_kw={name: heat_by_unit.get(name, 0.0) for name in specs},
        boiler_heat_kw=backup_boiler_kw(situation, staged.units, heat_kw, boiler_was_on),
        source="rules",
        reasons=staged.reasons,
    )
