"""A unit's lift against its limit (pure).

The safety layer stops a unit whose supply stands within `supply_high_margin_k` of its source
plus `max_lift_k` (the `lift_high` interlock): a sea or river at 1-3 °C in February cannot be
lifted to an 85 °C supply by a unit rated for 85 K. The dispatch keeps a soft band below that
line, so that the interlock stays the last line and not the way the plan is followed: the
planner leaves a unit off in the steps whose forecast lift reaches the band, and the stager does
not start a unit whose lift is in it, and stops a running one as soon as its minimum run allows.
"""

from __future__ import annotations

from controller.config import ControlConfig
from controller.core.estimate import UnitState
from drivers.site import UnitSpec


def lift_interlock_k(spec: UnitSpec, control: ControlConfig) -> float:
    """The lift at which the safety layer stops the unit."""
    return spec.max_lift_k - control.safety.supply_high_margin_k


def lift_soft_limit_k(spec: UnitSpec, control: ControlConfig) -> float:
    """The lift from which the dispatch no longer runs the unit."""
    return lift_interlock_k(spec, control) - control.staging.lift_soft_band_k


def lift_allows(spec: UnitSpec, supply_c: float, source_c: float, control: ControlConfig) -> bool:
    """Whether the unit may run lifting from `source_c` to `supply_c` (the supply the unit would
    be asked for, capped at its own maximum)."""
    return min(supply_c, spec.max_supply_temp_c) - source_c < lift_soft_limit_k(spec, control)


def unit_lift_k(spec: UnitSpec, unit: UnitState, supply_setpoint_c: float) -> float | None:
    """The lift the unit has, or would have running: from its measured source to the higher of
    the supply it is asked for and the supply it measures (what the interlock looks at). None
    without a source measurement."""
    if unit.source_temp_c is None:
        return None
    supply_c = min(supply_setpoint_c, spec.max_supply_temp_c)
    if unit.supply_temp_c is not None:
        supply_c = max(supply_c, unit.supply_temp_c)
    return supply_c - unit.source_temp_c
