"""Rule-based staging on the tank's state of charge: the fallback policy and the baseline (pure).

As most plants run today: start the next unit when the tank runs low and the running ones are
at their limit, stop one when the tank is full or the rest can carry the load, lead/lag
rotation by run hours, and the backup boiler only when every unit already runs and the tank is
nearly empty. At most one unit changes per cycle so that starts never come in bursts.
"""

from __future__ import annotations

from controller.config import StagingConfig
from controller.core.commands import Targets
from controller.core.estimate import PlantState, UnitState
from controller.core.history import UnitHistory
from controller.core.situation import Situation
from drivers.site import UnitSpec


def unit_available(unit: UnitState, history: UnitHistory | None) -> bool:
    """A unit may be planned or staged: fresh data, not tripped, not held after a trip."""
    if not unit.data_good or unit.tripped:
        return False
    return history is None or history.tripped_since_s is None


def desired_heat_kw(state: PlantState, staging: StagingConfig) -> float | None:
    """Demand now plus the heat that closes the state-of-charge gap over the recovery time."""
    soc = state.soc
    if soc is None:
        return None
    demand_kw = state.network_heat_kw or 0.0
    return max(
        0.0, demand_kw + (staging.soc_target - soc) * state.capacity_kwh / staging.soc_recovery_h
    )


def _split(heat_kw: float, specs: list[UnitSpec]) -> dict[str, float]:
    """Share heat over running units in proportion to size, each within its load range."""
    total_max = sum(spec.heat_max_kw for spec in specs)
    return {
        spec.name: min(
            spec.heat_max_kw, max(spec.heat_min_kw, heat_kw * spec.heat_max_kw / total_max)
        )
        for spec in specs
    }


def rule_targets(situation: Situation, previous: Targets | None) -> Targets:
    state, histories, site = situation.state, situation.histories, situation.site
    staging = situation.control.staging
    heat_kw = desired_heat_kw(state, staging)
    soc = state.soc
    if heat_kw is None or soc is None:
        # Blind tank: hold what was staged; safety decides whether to hand back to local control.
        if previous is not None:
            return Targets(
                unit_on=dict(previous.unit_on),
                unit_heat_kw=dict(previous.unit_heat_kw),
                boiler_heat_kw=previous.boiler_heat_kw,
                source="rules",
                reasons={name: "holding: tank state unknown" for name in previous.unit_on},
            )
        heat_kw, soc = 0.0, staging.soc_target
    specs = {spec.name: spec for spec in site.units}
    available = {
        unit.name for unit in state.units if unit_available(unit, histories.get(unit.name))
    }

    def run_hours(name: str) -> float:
        return state.unit(name).run_hours_h or 0.0

    staged = [
        unit.name
        for unit in state.units
        if unit.name in available
        and (
            (previous is not None and previous.unit_on.get(unit.name, False)) or unit.compressor_on
        )
    ]
    reasons: dict[str, str] = {}
    all_confirmed = all(state.unit(name).compressor_on for name in staged)
    staged_max_kw = sum(specs[name].heat_max_kw for name in staged)
    # plant order breaks ties in run hours: iterating the set would follow string hashing, which
    # changes from process to process and made the lead unit differ between identical runs
    idle = sorted(
        (unit.name for unit in state.units if unit.name in available and unit.name not in staged),
        key=run_hours,
    )
    if idle and soc < staging.soc_start_next and all_confirmed and staged_max_kw < heat_kw:
        lead = idle[0]
        staged.append(lead)
        reasons[lead] = f"started: tank at {soc:.0%} and running units at their limit"
    elif staged and soc > staging.soc_stop_one:
        lag = max(staged, key=run_hours)
        staged.remove(lag)
        reasons[lag] = f"stopped: tank full ({soc:.0%})"
    elif len(staged) > 1 and soc > staging.soc_target:
        lag = max(staged, key=run_hours)
        rest_max_kw = sum(specs[name].heat_max_kw for name in staged if name != lag)
        if rest_max_kw >= heat_kw:
            staged.remove(lag)
            reasons[lag] = "stopped: the other units carry the load"
    heat_by_unit = _split(heat_kw, [specs[name] for name in staged]) if staged else {}
    for name in staged:
        reasons.setdefault(name, f"running: tank at {soc:.0%}, {heat_kw:.0f} kW wanted")
    for name in specs:
        if name not in staged:
            reasons.setdefault(name, "off: not needed" if name in available else "unavailable")
    boiler_heat_kw = 0.0
    if site.boiler is not None:
        every_unit_staged = len(staged) == len(available)
        boiler_was_on = previous is not None and previous.boiler_heat_kw > 0
        low = soc < staging.soc_boiler_on or (boiler_was_on and soc < staging.soc_boiler_off)
        if every_unit_staged and low:
            shortfall_kw = heat_kw - sum(specs[name].heat_max_kw for name in staged)
            floor_kw = site.boiler.heat_max_kw * site.boiler.min_load_fraction
            boiler_heat_kw = min(site.boiler.heat_max_kw, max(floor_kw, shortfall_kw))
    return Targets(
        unit_on={name: name in staged for name in specs},
        unit_heat_kw={name: heat_by_unit.get(name, 0.0) for name in specs},
        boiler_heat_kw=boiler_heat_kw,
        source="rules",
        reasons=reasons,
    )
