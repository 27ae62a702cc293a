"""The controller's side of the one heat-pump model (drivers/heat_pump_cop.py): which four
temperatures it plans a unit at, from what the plant knows now.

The simulator's unit controller keeps its supply at least MIN_CONDENSER_DT_K over the condenser
inlet (the tanks' bottom water); the planner applies the same rule, so both run the model on the
same sink temperatures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from controller.core.estimate import PlantState
from drivers.heat_pump_cop import (
    COP_MAX,
    COP_MIN,
    MIN_CONDENSER_DT_K,
    defrost_factor,
    lorenz_cop,
    unit_cop,
)
from drivers.site import SiteConfig, UnitSpec

COP_CAP = COP_MAX


def planned_cop(
    spec: UnitSpec, condenser_inlet_c: float, supply_temp_c: float, source_temp_c: float
) -> float:
    """The unit's full-load COP heating its condenser inlet to `supply_temp_c` (held within its
    envelope) from a source at `source_temp_c` cooled by the unit's source_cooling_k."""
    sink_out_c = max(
        min(supply_temp_c, spec.max_supply_temp_c), condenser_inlet_c + MIN_CONDENSER_DT_K
    )
    return unit_cop(
        spec, condenser_inlet_c, sink_out_c, source_temp_c, source_temp_c - spec.source_cooling_k
    )


def planned_cops(
    spec: UnitSpec,
    condenser_inlet_c: Sequence[float],
    supply_temp_c: Sequence[float],
    source_temp_c: Sequence[float],
) -> tuple[float, ...]:
    """`planned_cop` over a horizon in one array call: the planner asks for every step of every
    unit at each re-plan, and one model call per step cost a year's replay about a minute."""
    inlet = np.asarray(condenser_inlet_c, dtype=np.float64)
    source = np.asarray(source_temp_c, dtype=np.float64)
    sink_out = np.maximum(
        np.minimum(np.asarray(supply_temp_c, dtype=np.float64), spec.max_supply_temp_c),
        inlet + MIN_CONDENSER_DT_K,
    )
    cop = lorenz_cop(
        inlet,
        sink_out,
        source,
        source - spec.source_cooling_k,
        spec.compressor_efficiency,
        refrigerant=spec.refrigerant,
        heat_loss_fraction=spec.heat_loss_fraction,
    )
    below_c = spec.defrost_below_source_temp_c
    factor = defrost_factor(
        source, -math.inf if below_c is None else below_c, spec.defrost_cop_factor
    )
    return tuple(np.maximum(COP_MIN, np.asarray(cop) * factor).tolist())


def condenser_inlet_now_c(state: PlantState, fallback_c: float | None) -> float | None:
    """What the units' condensers take in now: the tanks' bottom water (the heat pumps draw
    from the bottom), else the units' measured return, else `fallback_c`."""
    bottoms = [
        tank.layer_temps_c[0]
        for tank in state.tanks
        if tank.layer_temps_c and tank.layer_temps_c[0] is not None
    ]
    measured = [t for t in bottoms if t is not None]
    if not measured:
        measured = [unit.return_temp_c for unit in state.units if unit.return_temp_c is not None]
    if measured:
        return sum(measured) / len(measured)
    return fallback_c


def condenser_inlet_forecast_c(
    now_c: float, site: SiteConfig, step_s: float, steps: int
) -> tuple[float, ...]:
    """The condenser inlet over the horizon: the tank bottom now, relaxing towards the
    network's return temperature in the time the network at design load takes to turn the
    tanks over (the water the network sends back fills the bottom from below)."""
    return_c = site.network.return_temp_c
    capacity_kwh = sum(tank.capacity_kwh for tank in site.tanks)
    turnover_s = 3600.0 * capacity_kwh / site.network.design_heat_kw if capacity_kwh else 0.0
    if turnover_s <= 0.0:
        return (return_c,) * steps
    return tuple(
        return_c + (now_c - return_c) * math.exp(-(t + 0.5) * step_s / turnover_s)
        for t in range(steps)
    )


def mean_cop(
    specs: Sequence[UnitSpec], condenser_inlet_c: float, supply_temp_c: float, source_c: float
) -> float:
    """The capacity-weighted full-load COP of these units."""
    total_kw = sum(spec.heat_max_kw for spec in specs)
    return (
        sum(
            spec.heat_max_kw * planned_cop(spec, condenser_inlet_c, supply_temp_c, source_c)
            for spec in specs
        )
        / total_kw
    )
