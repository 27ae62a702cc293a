"""The one heat-pump model: a unit's COP as a fraction of the Carnot cycle at its temperatures."""

from __future__ import annotations

from drivers.site import UnitSpec

APPROACH_K = 3.0  # condenser/evaporator approach assumed by the planner's COP model
COP_CAP = 8.0


def unit_cop(spec: UnitSpec, supply_temp_c: float, source_temp_c: float) -> float:
    """The unit's rated COP: its fraction of the ideal (Carnot) cycle at these temperatures."""
    sink_k = supply_temp_c + APPROACH_K + 273.15
    source_k = source_temp_c - APPROACH_K + 273.15
    return min(COP_CAP, spec.carnot_efficiency * sink_k / max(sink_k - source_k, 1.0))
